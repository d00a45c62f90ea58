/**
 * What a push notification says, worked out from the push payload alone (pure, so the unit tests
 * read the real thing). The desk's payload names the alert, the case key and its severity, and
 * never the subject or anything the reporter wrote: a lock screen is not a private place.
 */

export interface PushPayload {
  /** urgent-case, escalation, response-due, … or test (server/clocks/clocks.ts names them). */
  alert: string;
  key?: string;
  severity?: string;
  /** Where a tap goes: a path on the desk, such as /#/case/INC-2026-007. */
  url: string;
  id?: string;
}

/** The Notification options Chromium takes beyond TypeScript's lib (actions, renotify…). */
export interface AlertOptions {
  body: string;
  tag: string;
  data: PushPayload;
  icon?: string;
  badge?: string;
  renotify?: boolean;
  requireInteraction?: boolean;
  silent?: boolean;
  timestamp?: number;
  actions?: { action: string; title: string }[];
}

/** The action button that takes the page without opening the app. */
export const ACK_ACTION = 'ack';

const WHAT: Record<string, string> = {
  'urgent-case': 'urgent case',
  escalation: 'still not acknowledged',
  'response-due': 'response due soon',
  'response-breached': 'response overdue',
  'update-due': 'update due soon',
  'update-missed': 'update missed',
  'breach-deadline': 'breach notification deadline near',
  'breach-deadline-passed': 'breach notification deadline passed',
  'review-due': 'post-incident review due',
  'review-missed': 'post-incident review overdue',
};

/** An alert's kind in words ("urgent case"), for the notification and the case's timeline. */
export const alertName = (kind: string) => WHAT[kind] ?? (kind === 'test' ? 'test notification' : kind);

/** Alerts that ring again when they replace an earlier notification of the same case. */
const RING_AGAIN = new Set([
  'urgent-case',
  'escalation',
  'response-breached',
  'update-due',
  'update-missed',
  'breach-deadline',
  'breach-deadline-passed',
]);
/** Alerts that stay on screen until the member does something with them. */
const STAY = new Set(['urgent-case', 'escalation']);
/** Alerts of the response clock, which acknowledging stops. */
const ACKNOWLEDGEABLE = new Set(['urgent-case', 'escalation', 'response-due', 'response-breached']);

const KEY = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const SEVERITY = /^[A-Za-z0-9]{1,16}$/;

/** Only a path on the desk itself: a payload never sends a tap to another site. */
function samePath(url: unknown, key: string | undefined): string {
  if (typeof url === 'string' && url.startsWith('/') && !url.startsWith('//')) return url;
  return key ? `/#/case/${encodeURIComponent(key)}` : '/';
}

/** The payload, if it is one of ours; otherwise a bare "something needs you" alert. */
export function parsePayload(text: string | undefined | null): PushPayload {
  let raw: Record<string, unknown> = {};
  try {
    const parsed: unknown = text ? JSON.parse(text) : {};
    if (parsed && typeof parsed === 'object') raw = parsed as Record<string, unknown>;
  } catch {
    // Not JSON: still a push the member must see.
  }
  const key = typeof raw.key === 'string' && KEY.test(raw.key) ? raw.key : undefined;
  const severity = typeof raw.severity === 'string' && SEVERITY.test(raw.severity) ? raw.severity : undefined;
  const alert = typeof raw.alert === 'string' && raw.alert.length <= 40 ? raw.alert : 'unknown';
  return {
    alert,
    key,
    severity,
    url: samePath(raw.url, key),
    id: typeof raw.id === 'string' ? raw.id.slice(0, 200) : undefined,
  };
}

/** The notification's tag: one per case, so a newer alert of the case replaces the older. */
export const tagFor = (p: PushPayload) => (p.key ? `case-${p.key}` : `tocsin-${p.alert}`);

/** The notification for a push: title and body from the alert, the key and the severity only. */
export function notificationFor(p: PushPayload): { title: string; options: AlertOptions } {
  const common = { tag: tagFor(p), data: p, icon: '/icons/icon-192.png', timestamp: Date.now() };
  if (p.alert === 'test')
    return {
      title: 'Tocsin: test notification',
      options: { ...common, tag: 'tocsin-test', body: 'Notifications reach this device.' },
    };
  if (!p.key)
    return {
      title: 'Tocsin',
      options: { ...common, body: 'Something on the desk needs you. Tap to open Tocsin.' },
    };
  const what = WHAT[p.alert] ?? 'needs attention';
  const ack = ACKNOWLEDGEABLE.has(p.alert);
  return {
    title: `${p.severity ? `${p.severity} ` : ''}${p.key}: ${what}`,
    options: {
      ...common,
      body: ack ? 'Acknowledge to take the page, or tap to open the case.' : 'Tap to open the case.',
      renotify: RING_AGAIN.has(p.alert),
      requireInteraction: STAY.has(p.alert),
      actions: ack ? [{ action: ACK_ACTION, title: 'Acknowledge' }] : undefined,
    },
  };
}

/** What replaces a case's notification once the member took the page from it. */
export function acknowledgedNotification(p: PushPayload): { title: string; options: AlertOptions } {
  return {
    title: `${p.key ?? 'Case'} acknowledged`,
    options: {
      tag: tagFor(p),
      data: { ...p, alert: 'acknowledged' },
      icon: '/icons/icon-192.png',
      body: 'You took the page. Tap to open the case.',
      silent: true,
    },
  };
}

/** What replaces it when the desk could not record the acknowledgement. */
export function ackFailedNotification(p: PushPayload, why: string): { title: string; options: AlertOptions } {
  return {
    title: `${p.key ?? 'Case'} not acknowledged`,
    options: {
      tag: tagFor(p),
      data: p,
      icon: '/icons/icon-192.png',
      body: `${why} Tap to open the case.`,
      requireInteraction: true,
    },
  };
}
