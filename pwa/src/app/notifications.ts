import { ApiError, get, request } from './api';
import { me } from './store';

/**
 * Web Push on this device: asking for permission, subscribing with the desk's VAPID key and
 * telling the desk, finding which of the member's devices this is, and, on each start, subscribing
 * again when the desk's key changed since (a rotated key's pushes are refused by the push service).
 */

/** A device as GET /api/push/subscriptions shows it. */
export interface Device {
  id: string;
  userAgent: string;
  pushService: string;
  createdAt: string;
  lastSuccessAt: string | null;
  lastFailureAt: string | null;
  lastError: string | null;
  stale: boolean;
}

/** One device's answer to a test notification (POST /api/push/test). */
export interface TestResult {
  subscriptionId: string;
  outcome: 'delivered' | 'removed' | 'stale' | 'failed';
  attempts: { status: number | null; error?: string }[];
}

/** How long the browser's push service may take to hand out a subscription. */
export const SUBSCRIBE_TIMEOUT_MS = 10_000;

export const TIMEOUT_MESSAGE =
  'This browser did not get an answer from its push service within 10 seconds, so notifications ' +
  'are not on for this phone. Check the connection and try again; some browsers (private windows, ' +
  'some de-Googled phones) cannot receive push at all.';

export const pushSupported = () =>
  'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;

function within<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/** The service worker's registration, once one is active (it always is after the first visit). */
const registration = () =>
  within(
    navigator.serviceWorker.ready,
    SUBSCRIBE_TIMEOUT_MS,
    'The app’s service worker is not running yet: reload the page and try again.',
  );

const desksKey = async () => (await get<{ publicKey: string }>('/api/push/key')).body.publicKey;

/** Asks the browser's push service for a subscription with the desk's key; never waits forever. */
async function subscribe(reg: ServiceWorkerRegistration, publicKey: string): Promise<PushSubscription> {
  const asked = reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: publicKey });
  try {
    return await within(asked, SUBSCRIBE_TIMEOUT_MS, TIMEOUT_MESSAGE);
  } catch (err) {
    if (err instanceof Error && err.message === TIMEOUT_MESSAGE) throw err;
    throw new Error(
      `The browser refused to subscribe to push notifications${
        err instanceof Error && err.message ? ` (${err.message})` : ''
      }.`,
      { cause: err },
    );
  }
}

const register = async (sub: PushSubscription) =>
  (await request<Device>('POST', '/api/push/subscriptions', sub.toJSON())).body;

/** "Turn on notifications on this phone": permission, subscription, and the desk told. */
export async function turnOnNotifications(): Promise<Device> {
  if (!pushSupported()) throw new Error('This browser cannot receive push notifications.');
  const permission = await Notification.requestPermission();
  if (permission === 'denied')
    throw new Error(
      'Notifications are blocked for Tocsin in this browser: allow them in the site’s settings, then try again.',
    );
  if (permission !== 'granted') throw new Error('Notifications were not allowed, so none can be shown.');
  const reg = await registration();
  const publicKey = await desksKey();
  return settle(reg, publicKey, await reg.pushManager.getSubscription());
}

/**
 * The endpoints of this browser's subscriptions that a new one replaces, kept until the desk has
 * the new one and has forgotten them. Noted before the old subscription goes, so that a renewal
 * cut short (the push service did not answer, the desk was out of reach) is finished on a later
 * start: otherwise the browser is left with no subscription, or with one the desk never heard of,
 * and nothing reaches the phone again. Noted with the member signed in: only theirs finishes it.
 */
const REPLACED = 'tocsin.push.replaced';

function unfinished(): string[] {
  try {
    const noted = JSON.parse(localStorage.getItem(REPLACED) ?? 'null') as {
      user?: unknown;
      endpoints?: unknown;
    } | null;
    if (!noted || noted.user !== me.get()?.id || !Array.isArray(noted.endpoints)) return [];
    return noted.endpoints.filter((e): e is string => typeof e === 'string');
  } catch {
    return [];
  }
}

function note(endpoints: string[]): void {
  try {
    if (endpoints.length) localStorage.setItem(REPLACED, JSON.stringify({ user: me.get()?.id, endpoints }));
    else localStorage.removeItem(REPLACED);
  } catch {
    // Private mode: a renewal cut short is not finished later; settings shows the device as stale.
  }
}

/** The desk forgets one of this browser's old subscriptions; false if it could not be told. */
const forget = (endpoint: string) =>
  request('DELETE', `/api/push/subscriptions/${encodeURIComponent(endpoint)}`).then(
    () => true,
    // Forgotten already (by an earlier try, or removed in settings) is as good.
    (err: unknown) => err instanceof ApiError && err.status === 404,
  );

/**
 * Subscribes this browser with the desk's key (keeping a subscription already made with it), tells
 * the desk, and has it forget the subscriptions this one replaced, now and any an earlier renewal
 * left unfinished.
 */
async function settle(
  reg: ServiceWorkerRegistration,
  publicKey: string,
  sub: PushSubscription | null,
): Promise<Device> {
  const current = sub && keyOf(sub) === publicKey ? sub : null;
  const replaced = [...new Set([...unfinished(), ...(sub && !current ? [sub.endpoint] : [])])];
  note(replaced);
  // A subscription with another key cannot be reused: the push service checks the key.
  if (sub && !current) await sub.unsubscribe();
  const fresh = current ?? (await subscribe(reg, publicKey));
  const device = await register(fresh);
  const left: string[] = [];
  for (const endpoint of replaced)
    if (endpoint !== fresh.endpoint && !(await forget(endpoint))) left.push(endpoint);
  note(left);
  return device;
}

/** This browser's subscription's id at the desk (the SHA-256 of its endpoint), if it has one. */
export async function thisDeviceId(): Promise<string | undefined> {
  if (!pushSupported() || !navigator.serviceWorker.controller) return undefined;
  const sub = await (await navigator.serviceWorker.ready).pushManager.getSubscription();
  if (!sub) return undefined;
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(sub.endpoint));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** Stops notifications to one device; to this one, the browser's subscription goes too. */
export async function removeDevice(id: string, isThisDevice: boolean): Promise<void> {
  await request('DELETE', `/api/push/subscriptions/${encodeURIComponent(id)}`);
  if (!isThisDevice) return;
  note([]); // turned off here: no renewal to finish on a later start
  await (
    await navigator.serviceWorker.ready
  ).pushManager
    .getSubscription()
    .then((s) => s?.unsubscribe())
    .catch(() => undefined);
}

/** The application server key a subscription was made with, as base64url (the desk's spelling). */
function keyOf(sub: PushSubscription): string | undefined {
  const key = sub.options.applicationServerKey;
  if (!key) return undefined;
  let text = '';
  for (const b of new Uint8Array(key)) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * On each start, signed in: a subscription made with a key the desk no longer signs with is
 * replaced by one with the current key, and the desk told; a renewal an earlier start left
 * unfinished is finished. Quiet: nothing to show if it fails, and the next start tries again.
 */
export async function renewIfKeyChanged(): Promise<'kept' | 'renewed' | 'none'> {
  if (!pushSupported() || Notification.permission !== 'granted') return 'none';
  const reg = await registration();
  const sub = await reg.pushManager.getSubscription();
  if (!sub && !unfinished().length) return 'none';
  const publicKey = await desksKey();
  if (sub && keyOf(sub) === publicKey && !unfinished().length) return 'kept';
  await settle(reg, publicKey, sub);
  return 'renewed';
}

/** GET/PATCH /api/me/paging. */
export interface Paging {
  onCall: boolean;
  onCallNow: boolean;
  quietHours: { start: string; end: string; timeZone: string } | null;
  inQuietHours: boolean;
}

export const savePaging = async (patch: Partial<Pick<Paging, 'onCall' | 'quietHours'>>) =>
  (await request<Paging>('PATCH', '/api/me/paging', patch)).body;

export const sendTestNotification = async () =>
  (await request<{ results: TestResult[] }>('POST', '/api/push/test')).body.results;

/** The member's own time zone, the default for quiet hours. */
export const ownTimeZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
