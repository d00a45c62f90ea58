import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mongoose from 'mongoose';
import type { Page } from 'playwright-core';
import { addUser, createToken } from '../../server/auth/users';
import { connectDatabase } from '../../server/db/connection';
import { freePort } from '../../server/db/embedded';
import { standInBrowserPushService, type BrowserPushService } from '../support/browser-push-service';
import { testLog } from '../support/desk';
import { databaseUri, uniqueName } from '../support/env';
import { startPushService, type PushService } from '../support/push-service';
import { buildPwaIfStale } from '../support/pwa';
import { h1, signInByLink } from '../support/pwa-page';
import { persistentPhone, PushRig, type Phone } from '../support/pwa-push';
import { runCli, startTocsin, type TocsinProcess } from '../support/tocsin-process';
import { waitFor } from '../support/wait';

/**
 * A phone subscribed to Web Push with the desk's VAPID key K1 after the key is rotated, with Tocsin
 * as real processes (`npm start`) on one address and one database, the rotation by the CLI
 * (`tocsin vapid rotate`) between them, and real headless Chromium. The browser's push service is
 * stood in for (browser-push-service.ts): its subscriptions live on the local push service, which
 * checks each push's VAPID signature against the key the subscription was made with and decrypts
 * it. Until the phone opens the app, its device is stale and refused; when it does, the app
 * subscribes again with K2 and the desk lists only that subscription, which pushes reach. A renewal
 * cut short (the push service does not answer as the app starts) is finished on the next start.
 */

interface Device {
  id: string;
  stale: boolean;
}
interface TestResult {
  subscriptionId: string;
  outcome: string;
}

let push: PushService;
let browserPush: BrowserPushService;
let phone: Phone;
let page: Page;
let desk: TocsinProcess;
let dbUri: string;
let cliDir: string;
let port: number;
let origin: string;
let token: string;
let k1: string;
let oldEndpoint: string;

const idOf = (endpoint: string) => createHash('sha256').update(endpoint).digest('hex');

/** The desk's answer to the member (bearer), which must be a success. */
async function api<T>(apiPath: string, method = 'GET'): Promise<T> {
  const res = await fetch(`${desk.url}${apiPath}`, { method, headers: { authorization: `Bearer ${token}` } });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${apiPath}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}
const devices = async () => (await api<{ subscriptions: Device[] }>('/api/push/subscriptions')).subscriptions;
const desksKey = async () => (await api<{ publicKey: string }>('/api/push/key')).publicKey;
const testNotification = async () => (await api<{ results: TestResult[] }>('/api/push/test', 'POST')).results;

/** Starts Tocsin on the phone's desk address, as a restart does. */
const startDeskProcess = () => startTocsin({ MONGODB_URI: dbUri }, { port });

/** Stops the desk, rotates its key with the CLI and starts it again; the new key. */
async function restartWithRotatedKey(): Promise<string> {
  expect(await desk.stop()).toBe(0);
  const rotated = await runCli(['vapid', 'rotate'], { MONGODB_URI: dbUri, DATA_DIR: cliDir });
  expect(rotated.code).toBe(0);
  const key = /new VAPID public key (\S+)/.exec(rotated.stdout)?.[1];
  if (!key) throw new Error(`vapid rotate printed no key: ${rotated.stdout}`);
  desk = await startDeskProcess();
  expect(await desksKey()).toBe(key);
  return key;
}

/** Waits until the desk lists the phone again, and not as `old`; what it lists then. */
const resubscribed = (old: string) =>
  waitFor('the phone to be subscribed again', async () => {
    const listed = await devices();
    return listed.some((d) => d.id === idOf(old)) || !listed.length ? undefined : listed;
  });

beforeAll(async () => {
  await buildPwaIfStale();
  push = await startPushService();
  dbUri = databaseUri(uniqueName('renew'));
  cliDir = mkdtempSync(path.join(os.tmpdir(), 'tocsin-renew-'));
  await connectDatabase(dbUri, testLog);
  port = await freePort();
  origin = `http://localhost:${port}`;
  desk = await startDeskProcess();
  const email = `${uniqueName('renew')}@example.org`.toLowerCase();
  await addUser(email, 'Rae Renew', 'member');
  token = await createToken(email);

  phone = await persistentPhone(origin);
  page = phone.page;
  browserPush = await standInBrowserPushService(phone.context, push);
  const rig = await PushRig.attach(phone, origin);
  await signInByLink(page, { publicUrl: origin }, email);
  await rig.controlled();
}, 120_000);

afterAll(async () => {
  await phone?.close();
  await desk?.stop();
  await push?.close();
  await mongoose.connection.dropDatabase().catch(() => undefined);
  await mongoose.disconnect();
  if (cliDir) rmSync(cliDir, { recursive: true, force: true });
});

describe('when the member turns on notifications on the phone', () => {
  it('then the desk lists it, subscribed with the desk’s key, and a test notification reaches it', async () => {
    await page.goto(`${origin}/#/settings`);
    await page.getByRole('button', { name: 'Turn on notifications on this phone' }).click();
    await page.getByRole('list', { name: 'Your devices' }).getByText('This device').waitFor();

    k1 = await desksKey();
    expect(browserPush.subscriptions.map((s) => s.applicationServerKey)).toEqual([k1]);
    oldEndpoint = browserPush.subscriptions[0]!.endpoint;
    expect(await devices()).toEqual([expect.objectContaining({ id: idOf(oldEndpoint), stale: false })]);
    expect(await testNotification()).toEqual([
      expect.objectContaining({ subscriptionId: idOf(oldEndpoint), outcome: 'delivered' }),
    ]);
    const [delivery] = await push.waitForDeliveries(1);
    expect(delivery).toMatchObject({ endpoint: oldEndpoint, vapidPublicKey: k1, json: { alert: 'test' } });
  });
});

describe('when the desk restarts with a rotated key while the app is closed', () => {
  it('then the phone’s device is stale: a test notification to it is refused', async () => {
    await page.goto('about:blank');
    expect(await restartWithRotatedKey()).not.toBe(k1);

    expect(await devices()).toEqual([expect.objectContaining({ id: idOf(oldEndpoint), stale: true })]);
    push.clear();
    expect(await testNotification()).toEqual([
      expect.objectContaining({ subscriptionId: idOf(oldEndpoint), outcome: 'stale' }),
    ]);
    expect(push.rejections).toEqual([expect.objectContaining({ endpoint: oldEndpoint, status: 403 })]);
    expect(push.deliveries).toEqual([]);
  });
});

describe('when the phone then opens the app', () => {
  it('then it subscribes again with the new key, the desk lists only that subscription, and pushes reach it', async () => {
    const k2 = await desksKey();
    push.clear();
    await page.goto(`${origin}/`);
    await h1(page, 'Inbox').waitFor();
    const [device, ...more] = await resubscribed(oldEndpoint);
    expect(more).toEqual([]);

    expect(browserPush.subscriptions.map((s) => s.applicationServerKey)).toEqual([k1, k2]);
    const fresh = browserPush.subscriptions[1]!;
    expect(fresh.endpoint).not.toBe(oldEndpoint);
    expect(device).toEqual(expect.objectContaining({ id: idOf(fresh.endpoint), stale: false }));
    expect(await testNotification()).toEqual([
      expect.objectContaining({ subscriptionId: idOf(fresh.endpoint), outcome: 'delivered' }),
    ]);
    const [delivery, ...others] = await push.waitForDeliveries(1);
    expect(others).toEqual([]);
    expect(delivery).toMatchObject({ endpoint: fresh.endpoint, vapidPublicKey: k2, json: { alert: 'test' } });
    expect(push.rejections).toEqual([]);

    // The settings screen says the same: one device, this one, with nothing to turn on again.
    await page.goto(`${origin}/#/settings`);
    const list = page.getByRole('list', { name: 'Your devices' });
    await list.getByText('This device').waitFor();
    expect(await list.locator('li strong').allTextContents()).toEqual(['This device']);
    expect(await list.getByText('needs turning on again').count()).toBe(0);
  });
});

describe('when the key is rotated again and the push service does not answer as the app starts', () => {
  it('then the next start finishes the renewal: only the newest subscription is listed, and reached', async () => {
    const [, k2Sub] = browserPush.subscriptions;
    await page.goto('about:blank');
    const k3 = await restartWithRotatedKey();
    push.clear();

    browserPush.refuseNext(1);
    await page.goto(`${origin}/`);
    await h1(page, 'Inbox').waitFor();
    await waitFor('the app to ask for a subscription', () => browserPush.refused === 1);
    // Nothing the desk can push to: the one device it knows was made with the old key.
    expect(await devices()).toEqual([expect.objectContaining({ id: idOf(k2Sub!.endpoint), stale: true })]);

    await page.reload();
    await h1(page, 'Inbox').waitFor();
    const [device, ...more] = await resubscribed(k2Sub!.endpoint);
    expect(more).toEqual([]);
    expect(browserPush.subscriptions.map((s) => s.applicationServerKey)).toEqual([
      k1,
      k2Sub!.applicationServerKey,
      k3,
    ]);
    const fresh = browserPush.subscriptions[2]!;
    expect(device).toEqual(expect.objectContaining({ id: idOf(fresh.endpoint), stale: false }));
    expect(await testNotification()).toEqual([
      expect.objectContaining({ subscriptionId: idOf(fresh.endpoint), outcome: 'delivered' }),
    ]);
    const [delivery] = await push.waitForDeliveries(1);
    expect(delivery).toMatchObject({ endpoint: fresh.endpoint, vapidPublicKey: k3 });
  });
});
