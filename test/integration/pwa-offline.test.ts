import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type CDPSession, type Page } from 'playwright-core';
import { issueLoginLink } from '../../server/auth/magic-link';
import { addUser } from '../../server/auth/users';
import { startDesk, type Desk } from '../support/desk';
import { uniqueName } from '../support/env';
import { compose } from '../support/mail';
import { buildPwaIfStale, PWA_DIST } from '../support/pwa';
import { waitFor } from '../support/wait';

/**
 * The PWA installable and offline, in real headless Chromium against the desk in-process: the
 * real build (pwa/build.ts, which runs pwa/build-sw.ts), the manifest and icons, and the service
 * worker's caching. It relies on the shell (/index.html), the worker and the API only, not on the
 * page's screens.
 */

interface ServiceWorkerLike {
  scriptURL: string;
  state: string;
  postMessage(message: unknown, transfer?: unknown[]): void;
}
interface Registration {
  active: ServiceWorkerLike | null;
  waiting: ServiceWorkerLike | null;
}

/**
 * The browser globals the in-page helpers use (the tests' tsconfig has no DOM lib). Functions run
 * in the page are sent as source, so each reaches them through globalThis itself.
 */
interface InPage {
  caches: {
    keys(): Promise<string[]>;
    open(name: string): Promise<{
      keys(): Promise<{ url: string; method: string }[]>;
      match(request: { url: string }): Promise<Response | undefined>;
    }>;
  };
  navigator: {
    serviceWorker: {
      register(url: string, options: { scope: string }): Promise<Registration>;
      ready: Promise<Registration>;
      controller: ServiceWorkerLike | null;
      addEventListener(type: 'controllerchange', listener: () => void): void;
    };
  };
  MessageChannel: new () => {
    port1: { onmessage: ((event: { data: unknown }) => void) | null };
    port2: unknown;
  };
  createImageBitmap(blob: Blob): Promise<{ width: number; height: number }>;
  OffscreenCanvas: new (
    w: number,
    h: number,
  ) => {
    getContext(kind: '2d'): {
      drawImage(image: unknown, x: number, y: number): void;
      getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
    };
  };
}

type Answer =
  { ok: true; status: number; cachedAt: string | null; text: string } | { ok: false; error: string };

/** Runs in the page: a same-origin fetch with the session cookie; a network error is an answer too. */
async function fetchInPage(arg: {
  url: string;
  method?: string;
  body?: unknown;
  csrf?: string;
  mode?: RequestInit['mode'];
}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (arg.body !== undefined) headers['content-type'] = 'application/json';
  if (arg.csrf) headers['x-csrf-token'] = arg.csrf;
  try {
    const res = await fetch(arg.url, {
      method: arg.method ?? 'GET',
      headers,
      body: arg.body === undefined ? undefined : JSON.stringify(arg.body),
      mode: arg.mode ?? 'same-origin',
    });
    return {
      ok: true as const,
      status: res.status,
      cachedAt: res.headers.get('X-Tocsin-Cached-At'),
      text: await res.text(),
    };
  } catch (err) {
    return { ok: false as const, error: String(err) };
  }
}

/**
 * Runs in the page: registers the worker (as the page does; registering twice is harmless), and
 * waits until it is activated.
 */
async function registerInPage() {
  const { navigator } = globalThis as unknown as InPage;
  await navigator.serviceWorker.register('/sw.js', { scope: '/' });
  const { active } = await navigator.serviceWorker.ready;
  for (let i = 0; i < 100 && active?.state === 'activating'; i++) await new Promise((r) => setTimeout(r, 50));
  return active?.state ?? null;
}

/** Runs in the page: every entry of every cache, with the age header of what it holds. */
async function cacheContentsInPage() {
  const { caches } = globalThis as unknown as InPage;
  const out: { cache: string; url: string; method: string; cachedAt: string | null }[] = [];
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    for (const request of await cache.keys()) {
      const response = await cache.match(request);
      out.push({
        cache: name,
        url: request.url,
        method: request.method,
        cachedAt: response?.headers.get('X-Tocsin-Cached-At') ?? null,
      });
    }
  }
  return out;
}

/** Runs in the page: a message to the controlling worker, answered on a MessageChannel. */
async function tellWorkerInPage(type: string) {
  const { navigator, MessageChannel } = globalThis as unknown as InPage;
  const worker = navigator.serviceWorker.controller;
  if (!worker) throw new Error('no controlling service worker');
  const channel = new MessageChannel();
  const reply = new Promise<unknown>((resolve, reject) => {
    channel.port1.onmessage = (event) => resolve(event.data);
    setTimeout(() => reject(new Error(`no answer to ${type}`)), 5000);
  });
  worker.postMessage({ type }, [channel.port2]);
  return reply;
}

/**
 * Runs in the page: a new version of the worker is installed (a new script URL is a new version,
 * as new bytes would be). It must wait, the page still controlled by the old one, until the page
 * says SKIP_WAITING (after "new version, reload"); then it takes over.
 */
async function newVersionInPage() {
  const { navigator } = globalThis as unknown as InPage;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const registration = await navigator.serviceWorker.register('/sw.js?next', { scope: '/' });
  for (let i = 0; i < 100 && !registration.waiting; i++) await sleep(50);
  await sleep(1000); // time enough to take over, were it to do so unasked
  const waiting = registration.waiting?.scriptURL ?? null;
  const controllerWhileWaiting = navigator.serviceWorker.controller?.scriptURL ?? null;
  const changed = new Promise<void>((resolve) =>
    navigator.serviceWorker.addEventListener('controllerchange', () => resolve()),
  );
  registration.waiting?.postMessage({ type: 'SKIP_WAITING' });
  await Promise.race([changed, sleep(5000)]);
  return {
    waiting,
    controllerWhileWaiting,
    controllerAfter: navigator.serviceWorker.controller?.scriptURL ?? null,
  };
}

/**
 * Runs in the page: decodes an icon as the browser does, and measures how far from the centre its
 * glyph reaches (pixels unlike the top-left one), as a fraction of the size.
 */
async function iconInPage(src: string) {
  const { createImageBitmap, OffscreenCanvas } = globalThis as unknown as InPage;
  const blob = await (await fetch(src)).blob();
  const bitmap = await createImageBitmap(blob);
  const { width, height } = bitmap;
  const ctx = new OffscreenCanvas(width, height).getContext('2d');
  ctx.drawImage(bitmap, 0, 0);
  const px = ctx.getImageData(0, 0, width, height).data;
  let farthest = 0;
  let opaque = true;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      if (px[i + 3] !== 255) opaque = false;
      const unlike =
        Math.abs(px[i]! - px[0]!) + Math.abs(px[i + 1]! - px[1]!) + Math.abs(px[i + 2]! - px[2]!);
      if (unlike > 24)
        farthest = Math.max(farthest, Math.hypot(x + 0.5 - width / 2, y + 0.5 - height / 2) / width);
    }
  }
  return { width, height, farthest, opaque };
}

/** Width and height from a PNG's signature and IHDR chunk. */
function pngSize(bytes: Buffer): { width: number; height: number; colourType: number } {
  expect(bytes.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  expect(bytes.toString('latin1', 12, 16)).toBe('IHDR');
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20), colourType: bytes[25]! };
}

let desk: Desk;
let context: BrowserContext;
let page: Page;
let cdp: CDPSession;
let profileDir: string;
let memberEmail: string;
/** A case the member opens while online, and one they never open. */
let openedKey: string;
let unopenedKey: string;
let attachmentUrl: string;
let csrf: string;
let signedInAt: number;
/** Another origin, answering every GET with a readable (CORS) JSON body; it notes the paths asked. */
let elsewhere: { url: string; requests: string[]; server: Server };

const get = (url: string): Promise<Answer> => page.evaluate(fetchInPage, { url });

async function newCase(subject: string, attachments?: { filename: string; content: string }[]) {
  const raw = await compose({ subject, text: 'Seen on the front desk PC.', attachments });
  const result = await desk.intake.ingestOrQuarantine(raw, { kind: 'file', file: 'x.eml' });
  if (result.outcome !== 'created') throw new Error(`no case made: ${JSON.stringify(result)}`);
  return result.caseKey;
}

beforeAll(async () => {
  await buildPwaIfStale();
  desk = await startDesk();
  const served = await fetch(`${desk.url}/sw.js`);
  if (served.status !== 200)
    throw new Error(`the desk does not serve pwa/dist (GET /sw.js answered ${served.status}): see PWA_DIR`);

  memberEmail = `${uniqueName('pwa')}@example.org`.toLowerCase();
  await addUser(memberEmail, 'Pia Offline', 'lead');
  const tag = uniqueName('offline');
  openedKey = await newCase(`Phishing mail with a link ${tag}`, [
    { filename: 'headers.txt', content: 'Received: x' },
  ]);
  unopenedKey = await newCase(`Laptop stolen ${tag}`);

  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'application/json', 'access-control-allow-origin': '*' });
    res.end('{"cases":[]}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  elsewhere = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, server };

  profileDir = mkdtempSync(path.join(os.tmpdir(), 'tocsin-pwa-profile-'));
  // A persistent profile: a plain launch() is incognito, which is never installable.
  context = await chromium.launchPersistentContext(profileDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--host-resolver-rules=MAP localhost 127.0.0.1',
      '--disable-background-networking',
    ],
  });
  page = context.pages()[0] ?? (await context.newPage());
  cdp = await context.newCDPSession(page);
});

afterAll(async () => {
  await context?.close();
  if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  elsewhere?.server.close();
  await desk?.stop();
});

describe('when the desk serves the built PWA', () => {
  it('then the worker and the shell are served to be revalidated, so a new version is noticed', async () => {
    for (const file of ['/sw.js', '/', '/index.html', '/manifest.webmanifest']) {
      const res = await fetch(desk.url + file);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-cache');
    }
    const sw = await fetch(`${desk.url}/sw.js`);
    expect(sw.headers.get('content-type')).toMatch(/^(text|application)\/javascript/);
    const source = await sw.text();
    expect(source).not.toContain('self.__WB_MANIFEST'); // the precache list was injected
    expect(source).toContain('index.html');
  });

  it('then the page’s script travels gzipped to a browser that accepts it, and plain to one that does not', async () => {
    const gz = await fetch(`${desk.url}/app.js`, { headers: { 'accept-encoding': 'gzip' } });
    expect(gz.headers.get('content-encoding')).toBe('gzip');
    const plain = await fetch(`${desk.url}/app.js`, { headers: { 'accept-encoding': 'identity' } });
    expect(plain.headers.get('content-encoding')).toBeNull();
    expect(await gz.text()).toBe(await plain.text());
  });

  it('then the manifest names the app, opens standalone at /, and lists real PNG icons of the stated sizes', async () => {
    const res = await fetch(`${desk.url}/manifest.webmanifest`);
    expect(res.headers.get('content-type')).toMatch(/^application\/manifest\+json/);
    const manifest = (await res.json()) as Record<string, unknown> & {
      icons: { src: string; sizes: string; type: string; purpose: string }[];
    };
    expect(manifest).toMatchObject({
      id: '/',
      name: 'Tocsin',
      short_name: 'Tocsin',
      start_url: '/',
      scope: '/',
      display: 'standalone',
      theme_color: expect.stringMatching(/^#[0-9a-f]{6}$/i),
      background_color: expect.stringMatching(/^#[0-9a-f]{6}$/i),
      description: expect.any(String),
    });
    const described = manifest.icons.map((i) => `${i.sizes} ${i.type} ${i.purpose}`).sort();
    expect(described).toEqual([
      '192x192 image/png any',
      '512x512 image/png any',
      '512x512 image/png maskable',
    ]);
    for (const icon of manifest.icons) {
      const png = await fetch(desk.url + icon.src);
      expect(png.headers.get('content-type')).toBe('image/png');
      const size = Number(icon.sizes.split('x')[0]);
      expect(pngSize(Buffer.from(await png.arrayBuffer()))).toEqual({
        width: size,
        height: size,
        colourType: 6,
      });
    }
  });

  it('then Chromium finds it installable, and after a reload the service worker controls the page', async () => {
    const shell = await page.goto(`${desk.publicUrl}/`);
    expect(shell!.status()).toBe(200);
    expect(await page.locator('link[rel="manifest"]').getAttribute('href')).toMatch(
      /^\/?manifest\.webmanifest$/,
    );
    expect(await page.evaluate(registerInPage)).toBe('activated');
    await page.reload();
    const controller = await page.evaluate(
      () => (globalThis as unknown as InPage).navigator.serviceWorker.controller?.scriptURL ?? null,
    );
    expect(controller).toBe(`${desk.publicUrl}/sw.js`);

    const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
    expect(installabilityErrors).toEqual([]);
    const { errors } = await cdp.send('Page.getAppManifest');
    expect(errors).toEqual([]);
  });

  it('then the browser decodes every icon, and the maskable one keeps its glyph inside the safe zone', async () => {
    const any192 = await page.evaluate(iconInPage, '/icons/icon-192.png');
    expect(any192).toMatchObject({ width: 192, height: 192 });
    const any512 = await page.evaluate(iconInPage, '/icons/icon-512.png');
    expect(any512).toMatchObject({ width: 512, height: 512 });
    const maskable = await page.evaluate(iconInPage, '/icons/maskable-512.png');
    // Full-bleed (masks cut the corners), with the bell inside the centred circle of radius 40%.
    expect(maskable).toMatchObject({ width: 512, height: 512, opaque: true });
    expect(maskable.farthest).toBeGreaterThan(0.1);
    expect(maskable.farthest).toBeLessThanOrEqual(0.4);
  });
});

describe('when a signed-in member has read cases online and the connection drops', () => {
  beforeAll(async () => {
    const link = await issueLoginLink(memberEmail, desk.publicUrl);
    await page.goto(link!.url);
    const [signedIn] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/auth/magic') && r.request().method() === 'POST'),
      page.getByRole('button', { name: 'Sign in to Tocsin' }).click(),
    ]);
    expect(signedIn.status()).toBe(303);
    await page.waitForLoadState();
    expect(new URL(page.url()).pathname).toBe('/');
    signedInAt = Date.now();
  });

  it('then the reads were answered by the network, unstamped, and kept with the time they were fetched', async () => {
    const me = await get('/api/me');
    expect(me).toMatchObject({ ok: true, status: 200, cachedAt: null });
    csrf = (JSON.parse((me as { text: string }).text) as { csrfToken: string }).csrfToken;
    const list = await get('/api/cases');
    expect(list).toMatchObject({ ok: true, status: 200, cachedAt: null });
    expect((list as { text: string }).text).toContain(openedKey);
    const detail = await get(`/api/cases/${openedKey}`);
    expect(detail).toMatchObject({ ok: true, status: 200, cachedAt: null });
    attachmentUrl = /\/api\/cases\/[^"]+\/attachments\/[0-9a-f]{64}/.exec(
      (detail as { text: string }).text,
    )![0];

    const wanted = ['/api/me', '/api/cases', `/api/cases/${openedKey}`].map((p) => desk.publicUrl + p);
    const kept = await waitFor('the reads in the cache', async () => {
      const entries = (await page.evaluate(cacheContentsInPage)).filter((e) => wanted.includes(e.url));
      return entries.length === wanted.length && entries;
    });
    for (const entry of kept) {
      const at = Date.parse(entry.cachedAt!);
      expect(at).toBeGreaterThanOrEqual(signedInAt - 1000);
      expect(at).toBeLessThanOrEqual(Date.now());
    }
  });

  it('then the shell still loads, at / and at any page of the app, from the service worker', async () => {
    await context.setOffline(true);
    try {
      const shellHtml = readFileSync(path.join(PWA_DIST, 'index.html'), 'utf8');
      for (const url of ['/', `/cases/${openedKey}`]) {
        const res = await page.goto(desk.publicUrl + url);
        expect(res!.status()).toBe(200);
        expect(res!.fromServiceWorker()).toBe(true);
        expect(await res!.text()).toBe(shellHtml);
      }
      // Sign-in pages are never stood in for by the shell (in a tab of its own, left on the error).
      const tab = await context.newPage();
      await expect(tab.goto(`${desk.publicUrl}/auth/magic?token=whatever`)).rejects.toThrow(
        /ERR_INTERNET_DISCONNECTED/,
      );
      await tab.close();
    } finally {
      await context.setOffline(false);
    }
  });

  it('then the case list and the case opened are answered from the cache, stamped with their age', async () => {
    await context.setOffline(true);
    try {
      for (const url of ['/api/cases', `/api/cases/${openedKey}`, '/api/me']) {
        const answer = await get(url);
        expect(answer).toMatchObject({ ok: true, status: 200, cachedAt: expect.any(String) });
        const { cachedAt, text } = answer as { cachedAt: string; text: string };
        expect(new Date(cachedAt).toISOString()).toBe(cachedAt);
        expect(Date.parse(cachedAt)).toBeGreaterThanOrEqual(signedInAt - 1000);
        if (url !== '/api/me') expect(text).toContain(openedKey);
      }
      // A case never opened was never kept: a network error, not an empty or stale answer.
      expect(await get(`/api/cases/${unopenedKey}`)).toMatchObject({ ok: false });
      // Nor are downloads kept.
      expect(await get('/api/cases.csv')).toMatchObject({ ok: false });
    } finally {
      await context.setOffline(false);
    }
  });

  it('then a write made offline is not answered by the worker: it fails as a network error, and nothing arrives', async () => {
    const { body } = await desk.api<{ version: number }>(`/api/cases/${openedKey}`);
    const note = `offline note ${uniqueName('n')}`;
    await context.setOffline(true);
    try {
      const posted = await page.evaluate(fetchInPage, {
        url: `/api/cases/${openedKey}/notes`,
        method: 'POST',
        body: { version: body.version, text: note },
        csrf,
      });
      expect(posted).toMatchObject({ ok: false, error: expect.stringMatching(/TypeError/) });
    } finally {
      await context.setOffline(false);
    }
    const after = await desk.api(`/api/cases/${openedKey}`);
    expect(JSON.stringify(after.body)).not.toContain(note);
  });

  it('then back online, reads come from the network again, unstamped', async () => {
    expect(await get('/api/cases')).toMatchObject({ ok: true, status: 200, cachedAt: null });
  });
});

describe('when the member writes, downloads and reads from elsewhere', () => {
  it('then the worker keeps only same-origin GETs of the list, cases and /api/me, each with its age', async () => {
    const { body } = await desk.api<{ version: number }>(`/api/cases/${openedKey}`);
    const posted = await page.evaluate(fetchInPage, {
      url: `/api/cases/${openedKey}/notes`,
      method: 'POST',
      body: { version: body.version, text: 'Called the reporter.' },
      csrf,
    });
    expect(posted).toMatchObject({ ok: true, status: 201 });
    for (const url of ['/api/cases.csv', '/api/openapi.json', attachmentUrl, '/auth/magic?token=x'])
      expect(await get(url)).toMatchObject({ ok: true, cachedAt: null });
    // Another site with the same paths, which allows reading its answers (CORS): the worker must
    // leave it alone. (The desk's CSP keeps the page from reaching other origins at all; it is
    // lifted here, so that the requests do reach the worker.)
    await cdp.send('Page.setBypassCSP', { enabled: true });
    await page.reload();
    try {
      for (const p of ['/api/cases', '/api/me', `/api/cases/${openedKey}`])
        expect(
          await page.evaluate(fetchInPage, { url: elsewhere.url + p, mode: 'cors' as const }),
        ).toMatchObject({
          ok: true,
          status: 200,
          cachedAt: null,
        });
    } finally {
      await cdp.send('Page.setBypassCSP', { enabled: false });
      await page.reload();
    }
    expect(elsewhere.requests).toEqual(['/api/cases', '/api/me', `/api/cases/${openedKey}`]);
    // Reads made now are kept; wait for them, then look at everything cached.
    await get(`/api/cases/${openedKey}`);
    await new Promise((r) => setTimeout(r, 500));

    const entries = await page.evaluate(cacheContentsInPage);
    for (const entry of entries) {
      expect(entry.url.startsWith(`${desk.publicUrl}/`)).toBe(true); // nothing of elsewhere.url
      expect(entry.method).toBe('GET');
      const { pathname } = new URL(entry.url);
      expect(pathname).not.toMatch(/^\/auth\//);
      expect(pathname).not.toMatch(/\/(notes|attachments)\b|\.csv$|openapi/);
      if (pathname.startsWith('/api/')) {
        expect(pathname).toMatch(/^\/api\/(cases|me|cases\/[^/]+)$/);
        expect(entry.cachedAt).toEqual(expect.any(String));
      }
    }
    // The shell is precached.
    expect(entries.some((e) => new URL(e.url).pathname === '/index.html')).toBe(true);
  });

  it('then on sign-out the page has the API cache cleared, and nothing of the member can be read offline', async () => {
    expect(await page.evaluate(tellWorkerInPage, 'CLEAR_API_CACHE')).toEqual({ type: 'API_CACHE_CLEARED' });
    const entries = await page.evaluate(cacheContentsInPage);
    expect(entries.filter((e) => new URL(e.url).pathname.startsWith('/api/'))).toEqual([]);
    await context.setOffline(true);
    try {
      expect(await get('/api/cases')).toMatchObject({ ok: false });
      expect(await get('/api/me')).toMatchObject({ ok: false });
    } finally {
      await context.setOffline(false);
    }
  });
});

describe('when a new version of the app is deployed', () => {
  it('then its worker waits until the page says SKIP_WAITING, and then takes over the open page', async () => {
    // A document of the worker's scope that runs none of the app's script (which asks the member
    // itself), so that only this test speaks to the worker.
    await page.goto(`${desk.publicUrl}/healthz`);
    expect(await page.evaluate(newVersionInPage)).toEqual({
      waiting: `${desk.publicUrl}/sw.js?next`,
      controllerWhileWaiting: `${desk.publicUrl}/sw.js`,
      controllerAfter: `${desk.publicUrl}/sw.js?next`,
    });
  });
});
