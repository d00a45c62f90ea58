import type { AlertKind, PushPayload } from '../../../server/contract';

/**
 * What a push notification says, worked out from the push payload alone (pure, so the unit tests
 * read the real thing). The desk's payload names the alert, the case key and its severity, and
 * never the subject or anything the reporter wrote: a lock screen is not a private place.
 */

/**
 * A push as the worker read it: the desk's PushPayload, except that the alert is whatever the
 * push named (a desk newer than this worker may name one it does not know), or `acknowledged`
 * once the member took the page from the notification.
 */
export type ReceivedPush = Omit<PushPayload, 'alert'> & { alert: string };

/** The Notification options Chromium takes beyond TypeScript's lib (actions, renotify…). */
export interface AlertOptions {
  body: string;
  tag: string;
  data: ReceivedPush;
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

/** Every alert the desk can send, in words: an alert added to the contract needs its words here. */
const WHAT: Record<AlertKind, string> = {
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
export const alertName = (kind: string) => whatOf(kind) ?? (kind === 'test' ? 'test notification' : kind);

/** WHAT's words for any alert a payload names, known or not. */
function whatOf(kind: string): string | undefined {
  return (WHAT as Record<string, string | undefined>)[kind];
}

/** Alerts that ring again when they replace an earlier notification of the same case. */
const RING_AGAIN: ReadonlySet<string> = new Set<AlertKind>([
  'urgent-case',
  'escalation',
  'response-breached',
  'update-due',
  'update-missed',
  'breach-deadline',
  'breach-deadline-passed',
]);
/** Alerts that stay on screen until the member does something with them. */
const STAY: ReadonlySet<string> = new Set<AlertKind>(['urgent-case', 'escalation']);
/** Alerts of the response clock, which acknowledging stops. */
const ACKNOWLEDGEABLE: ReadonlySet<string> = new Set<AlertKind>([
  'urgent-case',
  'escalation',
  'response-due',
  'response-breached',
]);

const KEY = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const SEVERITY = /^[A-Za-z0-9]{1,16}$/;

/** Only a path on the desk itself: a payload never sends a tap to another site. */
function samePath(url: unknown, key: string | undefined): string {
  if (typeof url === 'string' && url.startsWith('/') && !url.startsWith('//')) return url;
  return key ? `/#/case/${encodeURIComponent(key)}` : '/';
}

/** The payload, if it is one of ours; otherwise a bare "something needs you" alert. */
export function parsePayload(text: string | undefined | null): ReceivedPush {
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
export const tagFor = (p: ReceivedPush) => (p.key ? `case-${p.key}` : `tocsin-${p.alert}`);

/** The notification for a push: title and body from the alert, the key and the severity only. */
export function notificationFor(p: ReceivedPush): { title: string; options: AlertOptions } {
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
  const what = whatOf(p.alert) ?? 'needs attention';
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
export function acknowledgedNotification(p: ReceivedPush): { title: string; options: AlertOptions } {
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
export function ackFailedNotification(
  p: ReceivedPush,
  why: string,
): { title: string; options: AlertOptions } {
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
