import type { BrowserContext } from 'playwright-core';
import type { PushService, PushSubscriptionJson } from './push-service';

/**
 * A stand-in for the browser's push service, and for nothing else. Headless Chromium here reaches
 * no push service, so `pushManager.subscribe()` never settles. In every page of the phone,
 * PushManager.prototype.subscribe and getSubscription are replaced by ones that ask the local push
 * service (push-service.ts) for a subscription bound to the applicationServerKey asked for, as
 * the browser's push service binds it: real P-256 and auth keys, made and kept there, so that the
 * push service really decrypts what the desk sends and answers 403 to a push signed with another
 * VAPID key. The subscription is kept in the origin's localStorage, so that it outlives a reload
 * or a restart of the app, as the browser's does. Everything else, the app's code calling these
 * included, is the real thing; the service worker's own PushManager (pushsubscriptionchange) is
 * not replaced.
 */

/** A subscription the stand-in handed out, and the key it was made with (base64url). */
export interface HandedOut extends PushSubscriptionJson {
  applicationServerKey: string;
}

export interface BrowserPushService {
  /** Every subscription made, oldest first. */
  readonly subscriptions: readonly HandedOut[];
  /** How many subscribe() calls were refused (see refuseNext). */
  readonly refused: number;
  /**
   * The next `n` subscribe() calls fail as Chromium's do when its push service cannot be reached
   * (AbortError, "Registration failed - push service error").
   */
  refuseNext(n: number): void;
}

const BINDING = '__tocsinTestPushServiceSubscribe';
const STORE = 'tocsin-test.push-subscription';

export async function standInBrowserPushService(
  context: BrowserContext,
  push: PushService,
): Promise<BrowserPushService> {
  const subscriptions: HandedOut[] = [];
  let toRefuse = 0;
  const service = {
    subscriptions,
    refused: 0,
    refuseNext(n: number) {
      toRefuse = n;
    },
  };
  await context.exposeBinding(BINDING, (_source, applicationServerKey: string) => {
    if (toRefuse > 0) {
      toRefuse--;
      service.refused++;
      return null;
    }
    const sub = push.newSubscription({ vapidPublicKey: applicationServerKey });
    subscriptions.push({ ...sub, applicationServerKey });
    return sub;
  });
  await context.addInitScript(inPage, { binding: BINDING, store: STORE });
  return service;
}

/** The page's side (serialized into each page: it may use nothing from this module). */
function inPage({ binding, store }: { binding: string; store: string }): void {
  interface Saved {
    endpoint: string;
    keys: { p256dh: string; auth: string };
    applicationServerKey: string;
  }
  type Options = { userVisibleOnly?: boolean; applicationServerKey?: unknown };
  const g = globalThis as unknown as {
    localStorage: {
      getItem(k: string): string | null;
      setItem(k: string, v: string): void;
      removeItem(k: string): void;
    };
    PushManager?: {
      prototype: { subscribe(o?: Options): Promise<object>; getSubscription(): Promise<object | null> };
    };
  } & Record<string, unknown>;
  if (!g.PushManager) return;

  const toText = (bytes: Uint8Array) =>
    btoa(String.fromCharCode(...bytes))
      .replace(/\+/g, '-')
      .replace(/\//g, '_')
      .replace(/=+$/, '');
  const toBytes = (text: string) =>
    Uint8Array.from(atob(text.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
  /** The key as the browser takes it: base64url text or bytes. */
  const keyText = (key: unknown) => {
    if (typeof key === 'string') return toText(toBytes(key));
    if (ArrayBuffer.isView(key)) return toText(new Uint8Array(key.buffer, key.byteOffset, key.byteLength));
    if (key instanceof ArrayBuffer) return toText(new Uint8Array(key));
    throw new DOMException('The applicationServerKey is missing.', 'NotSupportedError');
  };
  const load = (): Saved | null => {
    const text = g.localStorage.getItem(store);
    return text ? (JSON.parse(text) as Saved) : null;
  };
  /** A PushSubscription as the app uses one. */
  const subscription = (saved: Saved) => ({
    endpoint: saved.endpoint,
    expirationTime: null,
    options: { userVisibleOnly: true, applicationServerKey: toBytes(saved.applicationServerKey).buffer },
    getKey: (name: 'p256dh' | 'auth') => toBytes(saved.keys[name]).buffer,
    toJSON: () => ({ endpoint: saved.endpoint, expirationTime: null, keys: { ...saved.keys } }),
    unsubscribe: async () => {
      if (load()?.endpoint !== saved.endpoint) return false;
      g.localStorage.removeItem(store);
      return true;
    },
  });

  const proto = g.PushManager.prototype;
  proto.getSubscription = async () => {
    const saved = load();
    return saved ? subscription(saved) : null;
  };
  // As Chromium: the same key gives the same subscription; another key is refused until unsubscribed.
  proto.subscribe = async (options?: Options) => {
    if (!options?.userVisibleOnly)
      throw new DOMException('Push subscriptions must be user visible.', 'NotAllowedError');
    const applicationServerKey = keyText(options.applicationServerKey);
    const existing = load();
    if (existing && existing.applicationServerKey !== applicationServerKey)
      throw new DOMException(
        'A subscription with a different applicationServerKey (or gcm_sender_id) already exists; to change the applicationServerKey, unsubscribe then resubscribe.',
        'InvalidStateError',
      );
    if (existing) return subscription(existing);
    const ask = g[binding] as (key: string) => Promise<{ endpoint: string; keys: Saved['keys'] } | null>;
    const made = await ask(applicationServerKey);
    if (!made) throw new DOMException('Registration failed - push service error', 'AbortError');
    const saved = { endpoint: made.endpoint, keys: made.keys, applicationServerKey };
    g.localStorage.setItem(store, JSON.stringify(saved));
    return subscription(saved);
  };
}
