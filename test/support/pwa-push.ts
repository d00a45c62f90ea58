import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type CDPSession, type Page, type Worker } from 'playwright-core';
import { waitFor } from './wait';

/**
 * Web Push in real headless Chromium, driven through the DevTools protocol: a phone with a
 * persistent profile (as an installed PWA has; an incognito context refuses push at once, where a
 * real profile's subscribe() waits on a push service headless Chromium cannot reach), pushes
 * delivered to the service worker with ServiceWorker.deliverPushMessage, the notifications it
 * shows read back, and a notification pressed.
 *
 * DevTools has no call to click a notification. A press is a NotificationEvent dispatched in the
 * worker (Runtime.evaluate in its target, through Playwright's Worker) to the worker's own
 * `notificationclick` listener, carrying the real Notification from getNotifications(). A script
 * can not make a trusted event, and waitUntil refuses untrusted ones, so the event's waitUntil
 * keeps the promises it is given, and the press resolves once they have: nothing is added to the
 * production worker for the test. Being untrusted, such a press may not open a window
 * (clients.openWindow refuses it): a real tap, which may, is notification-shade.ts's.
 */

export interface Phone {
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

/**
 * A phone-sized Chromium with its own profile, notifications allowed for `origin`. `env` is added
 * to the browser's environment (DBUS_SESSION_BUS_ADDRESS for a notification shade, say).
 */
export async function persistentPhone(
  origin: string,
  opts: { env?: Record<string, string> } = {},
): Promise<Phone> {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'tocsin-push-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 360, height: 740 },
    hasTouch: true,
    ...(opts.env ? { env: { ...process.env, ...opts.env } } : {}),
    args: [
      '--no-sandbox',
      '--host-resolver-rules=MAP localhost 127.0.0.1',
      '--disable-background-networking',
    ],
  });
  await context.grantPermissions(['notifications'], { origin });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(30_000);
  return {
    context,
    page,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** A notification as the service worker's registration lists it. */
export interface Shown {
  title: string;
  body: string;
  tag: string;
  requireInteraction: boolean;
  actions: { action: string; title: string }[];
  data: Record<string, unknown>;
}

interface Registration {
  registrationId: string;
  scopeURL: string;
  isDeleted: boolean;
}

interface Version {
  versionId: string;
  registrationId: string;
  runningStatus: 'stopped' | 'starting' | 'running' | 'stopping';
}

/** The page's own view of the worker (the test's tsconfig has no DOM types). */
type InPage = {
  navigator: {
    serviceWorker: {
      controller: { state: string } | null;
      ready: Promise<{ getNotifications(o?: { tag?: string }): Promise<Shown[]> }>;
    };
  };
};

/** The worker's own view, for the press. */
type InWorker = {
  registration: { getNotifications(o?: { tag?: string }): Promise<object[]> };
  dispatchEvent(e: object): boolean;
  NotificationEvent: new (
    type: string,
    init: { notification: object; action: string },
  ) => {
    waitUntil(p: Promise<unknown>): void;
  };
};

export class PushRig {
  private readonly registrations = new Map<string, Registration>();
  private readonly versions = new Map<string, Version>();

  private constructor(
    private readonly phone: Phone,
    private readonly origin: string,
    private readonly cdp: CDPSession,
  ) {
    cdp.on('ServiceWorker.workerRegistrationUpdated', (e: { registrations: Registration[] }) => {
      for (const r of e.registrations) this.registrations.set(r.registrationId, r);
    });
    cdp.on('ServiceWorker.workerVersionUpdated', (e: { versions: Version[] }) => {
      for (const v of e.versions) this.versions.set(v.versionId, v);
    });
  }

  /**
   * Listens to the page's service worker registrations from now on (call before the first visit).
   * DevTools is reached through `via` (the phone's page by default): a page of another origin that
   * outlives the app's lets pushes arrive when no window of the app is open.
   */
  static async attach(phone: Phone, origin: string, via: Page = phone.page): Promise<PushRig> {
    const cdp = await phone.context.newCDPSession(via);
    const rig = new PushRig(phone, origin, cdp);
    await cdp.send('ServiceWorker.enable');
    return rig;
  }

  /**
   * Waits until the service worker controls the page and has finished activating: a push
   * delivered to a worker still activating can be lost, as the browser would not deliver one then.
   */
  async controlled(): Promise<void> {
    await this.phone.page.waitForFunction(
      () => (globalThis as unknown as InPage).navigator.serviceWorker.controller?.state === 'activated',
    );
  }

  /** The registration of the app's scope, as DevTools names it. */
  async registrationId(): Promise<string> {
    const scope = `${this.origin}/`;
    const found = await waitFor('the service worker registration', () =>
      [...this.registrations.values()].find((r) => r.scopeURL === scope && !r.isDeleted),
    );
    return found.registrationId;
  }

  /** Delivers a push message to the worker, as the browser does when its push service has one. */
  async deliver(payload: Record<string, unknown>): Promise<void> {
    await this.cdp.send('ServiceWorker.deliverPushMessage', {
      origin: this.origin,
      registrationId: await this.registrationId(),
      data: JSON.stringify(payload),
    });
  }

  /**
   * Delivers the first push of a run: a worker DevTools has to start cold on a busy machine can miss
   * the event (seen in CI, never on a quiet run), so it is delivered again if nothing shows within
   * 10 s, at most three times. Later pushes use deliver(); a tag's notifications replace each other.
   */
  deliverFirst(payload: Record<string, unknown>, tag: string): Promise<Shown[]> {
    return this.deliverUntil(payload, async () => {
      const shown = await this.notifications(tag);
      return shown.length ? shown : undefined;
    });
  }

  /** deliverFirst() for a notification `seen` finds elsewhere (a notification shade, say). */
  async deliverUntil<T>(
    payload: Record<string, unknown>,
    seen: () => Promise<T | undefined> | T | undefined,
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      await this.deliver(payload);
      try {
        return await waitFor('the notification', seen, 10_000);
      } catch (err) {
        if (attempt >= 3) throw err;
      }
    }
  }

  /**
   * Stops the app's service worker, as a phone does soon after its last window closed, and waits
   * until DevTools reports it stopped: the next event has to start it afresh.
   */
  async stopWorker(): Promise<void> {
    const registrationId = await this.registrationId();
    await this.cdp.send('ServiceWorker.stopAllWorkers');
    await waitFor('the service worker to stop', () =>
      [...this.versions.values()]
        .filter((v) => v.registrationId === registrationId)
        .every((v) => v.runningStatus === 'stopped'),
    );
  }

  /** The notifications shown now, of one tag or all. */
  notifications(tag?: string): Promise<Shown[]> {
    return this.phone.page.evaluate(async (t) => {
      const reg = await (globalThis as unknown as InPage).navigator.serviceWorker.ready;
      const all = await reg.getNotifications(t ? { tag: t } : undefined);
      return all.map((n) => ({
        title: n.title,
        body: n.body,
        tag: n.tag,
        requireInteraction: n.requireInteraction,
        actions: n.actions.map((a) => ({ action: a.action, title: a.title })),
        data: n.data,
      }));
    }, tag);
  }

  /** Waits for the notifications of `tag` to be as `check` wants them, and returns them. */
  waitForNotifications(tag: string, check: (shown: Shown[]) => boolean, what: string): Promise<Shown[]> {
    return waitFor(what, async () => {
      const shown = await this.notifications(tag);
      return check(shown) ? shown : undefined;
    });
  }

  /** The running service worker, woken by a message if it went idle. */
  private async worker(): Promise<Worker> {
    const script = `${this.origin}/sw.js`;
    return waitFor('the running service worker', async () => {
      const running = this.phone.context.serviceWorkers().find((w) => w.url() === script);
      if (running) return running;
      await this.phone.page.evaluate(() =>
        (
          globalThis as unknown as {
            navigator: { serviceWorker: { controller: { postMessage(m: object): void } } };
          }
        ).navigator.serviceWorker.controller.postMessage({ type: 'WAKE' }),
      );
      return undefined;
    });
  }

  /**
   * Presses the notification of `tag`: `action` '' is a tap, 'ack' its Acknowledge button.
   * Resolves with how many promises the listener handed to waitUntil, once they have settled.
   */
  async press(tag: string, action: string): Promise<number> {
    const worker = await this.worker();
    return worker.evaluate(
      async ({ tag: t, action: a }) => {
        const scope = globalThis as unknown as InWorker;
        const [notification] = await scope.registration.getNotifications({ tag: t });
        if (!notification) throw new Error(`no notification tagged ${t}`);
        const kept: Promise<unknown>[] = [];
        class Press extends scope.NotificationEvent {
          override waitUntil(p: Promise<unknown>) {
            kept.push(p);
          }
        }
        scope.dispatchEvent(new Press('notificationclick', { notification, action: a }));
        await Promise.all(kept);
        return kept.length;
      },
      { tag, action },
    );
  }
}
