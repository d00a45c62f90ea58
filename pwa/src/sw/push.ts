import {
  ACK_ACTION,
  ackFailedNotification,
  acknowledgedNotification,
  notificationFor,
  parsePayload,
  type AlertOptions,
  type ReceivedPush,
} from './notify';

/**
 * The service worker's Web Push half: a push becomes a notification (its words from the payload
 * only), a tap opens the case, the Acknowledge button takes the page through the desk's API with
 * the member's session, and a subscription the browser replaced is registered again. Every piece
 * of work runs inside event.waitUntil, so the browser keeps the worker alive until it is done.
 */

declare const self: ServiceWorkerGlobalScope;

const show = (n: { title: string; options: AlertOptions }) =>
  // TypeScript's NotificationOptions lacks actions, renotify and timestamp; Chromium takes them.
  self.registration.showNotification(n.title, n.options as NotificationOptions);

/** The desk's answer as JSON, or an Error carrying its message. */
async function desk<T>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(path, {
    ...init,
    credentials: 'same-origin',
    headers: { accept: 'application/json', ...(init.headers as Record<string, string> | undefined) },
  });
  let body: (T & { message?: string }) | undefined;
  try {
    body = (await res.json()) as T & { message?: string };
  } catch {
    body = undefined; // no body (204), or a proxy's HTML error page
  }
  if (res.status === 401) throw new Error('Sign in to Tocsin on this phone first.');
  if (!res.ok) throw new Error(body?.message ?? `The desk answered ${res.status}.`);
  return body as T;
}

/** A write with the session's CSRF token, which only GET /api/me tells (the worker keeps none). */
async function write<T>(method: string, path: string, body?: unknown): Promise<T> {
  const { csrfToken } = await desk<{ csrfToken?: string }>('/api/me');
  const headers: Record<string, string> = { 'x-csrf-token': csrfToken ?? '' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  return desk<T>(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

/** Takes the case's page; the notification is replaced by a quiet confirmation, or by the reason. */
async function acknowledge(notification: Notification, p: ReceivedPush): Promise<void> {
  try {
    await write('POST', `/api/cases/${encodeURIComponent(p.key!)}/ack`);
    notification.close();
    await show(acknowledgedNotification(p));
  } catch (err) {
    notification.close();
    const why = err instanceof Error && err.message ? err.message : 'The desk did not answer.';
    await show(ackFailedNotification(p, why.endsWith('.') ? why : `${why}.`));
  }
}

/** Brings an open window of the app to the front at `url`, or opens one. */
async function openApp(url: string): Promise<void> {
  const target = new URL(url, self.location.origin);
  const href = target.origin === self.location.origin ? target.href : self.location.origin + '/';
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const open = windows.find((c) => new URL(c.url).origin === self.location.origin);
  if (open) {
    // Focus is allowed while handling a click; anywhere else it is refused, which is no reason to stop.
    await open.focus().catch(() => undefined);
    const moved = await open.navigate(href).catch(() => null);
    if (moved) return;
  }
  await self.clients.openWindow(href);
}

/** A tap, or a press of one of the notification's buttons. */
export async function notificationClicked(notification: Notification, action: string): Promise<void> {
  const p = parsePayload(JSON.stringify(notification.data ?? {}));
  if (action === ACK_ACTION && p.key && p.alert !== 'acknowledged') return acknowledge(notification, p);
  notification.close();
  await openApp(p.url);
}

/** Subscribes again (the browser dropped or replaced the subscription) and tells the desk: best effort. */
async function resubscribe(event: PushSubscriptionChangeEvent): Promise<void> {
  const old = event.oldSubscription;
  try {
    const { publicKey } = await desk<{ publicKey: string }>('/api/push/key');
    const sub =
      event.newSubscription ??
      (await self.registration.pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey: publicKey,
      }));
    await write('POST', '/api/push/subscriptions', sub.toJSON());
    if (old && old.endpoint !== sub.endpoint)
      await write('DELETE', `/api/push/subscriptions/${encodeURIComponent(old.endpoint)}`).catch(
        () => undefined,
      );
  } catch {
    // Signed out, offline or refused: the page subscribes again on its next start.
  }
}

export function listenForPush(): void {
  self.addEventListener('push', (event) => {
    event.waitUntil(show(notificationFor(parsePayload(event.data?.text()))));
  });
  self.addEventListener('notificationclick', (event) => {
    event.waitUntil(notificationClicked(event.notification, event.action));
  });
  self.addEventListener('pushsubscriptionchange', (event) => {
    event.waitUntil(resubscribe(event));
  });
}
