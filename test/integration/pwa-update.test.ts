import { execFile } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { issueLoginLink } from '../../server/auth/magic-link';
import { addUser } from '../../server/auth/users';
import { launchChromium } from '../support/browser';
import { startDesk, type Desk } from '../support/desk';
import { uniqueName } from '../support/env';
import { privateBuild, screenProblems, serveBuild } from '../support/pwa';

/**
 * "A new version of Tocsin is ready": the page's update prompt in real headless Chromium, against
 * the desk serving a private copy of the build. A version is deployed the way a release is: the
 * shell (index.html) changes, here by a build marker, and the worker build (pwa/build-sw.ts) runs
 * again, so the new sw.js precaches the new shell under a new revision. The shell a worker answers
 * /index.html with tells which worker controls the page.
 */

const ROOT = path.join(__dirname, '..', '..');
const BANNER_TEXT = 'A new version of Tocsin is ready.';

let dist: string;
let desk: Desk;
let browser: Browser;
let page: Page;

/** The browser globals the in-page helpers use (the tests' tsconfig has no DOM lib). */
interface InPage {
  navigator: {
    serviceWorker: {
      controller: { state: string } | null;
      ready: Promise<unknown>;
      getRegistration(): Promise<
        { waiting: { state: string } | null; installing: unknown; update(): Promise<unknown> } | undefined
      >;
    };
  };
  tocsinBeforeReload?: boolean;
}

/** Marks the copy's shell as `version` and runs the worker build on the copy again. */
async function deploy(version: string): Promise<void> {
  const file = path.join(dist, 'index.html');
  const shell = readFileSync(file, 'utf8').replace(/\s*<meta name="tocsin-build"[^>]*>/, '');
  writeFileSync(
    file,
    shell.replace('<title>', `<meta name="tocsin-build" content="${version}" />\n    <title>`),
  );
  await promisify(execFile)(process.execPath, ['--import', 'tsx', 'pwa/build-sw.ts', dist], {
    cwd: ROOT,
    timeout: 60_000,
  });
}

/**
 * Runs in the page: the state of its workers, and which build the controlling worker answers
 * /index.html with (from its precache: the copy on disk is always the newest).
 */
async function workersInPage() {
  const { navigator } = globalThis as unknown as InPage;
  const registration = await navigator.serviceWorker.getRegistration();
  const controller = navigator.serviceWorker.controller;
  const shell = controller ? await (await fetch('/index.html')).text() : '';
  return {
    controller: controller?.state ?? null,
    waiting: registration?.waiting?.state ?? null,
    controllerShell: /name="tocsin-build" content="(\w+)"/.exec(shell)?.[1] ?? null,
  };
}

/** Runs in the page: asks the browser to look for a new sw.js now, as it does on a navigation. */
async function checkForUpdateInPage() {
  const { navigator } = globalThis as unknown as InPage;
  const registration = await navigator.serviceWorker.getRegistration();
  if (!registration) throw new Error('no service worker registered');
  await registration.update();
}

/** The build of the document shown. */
const shownBuild = () => page.locator('meta[name="tocsin-build"]').getAttribute('content');
const banner = () => page.getByRole('status').filter({ hasText: BANNER_TEXT });
const heading = (name: string) => page.getByRole('heading', { level: 1, name });

/**
 * Marks the open page, deploys `version` and asks for an update check; waits for the prompt and
 * for the new worker to be installed and waiting, gives it the time to take over were it to do so
 * unasked, and returns what controls the page, what it shows, and whether it was reloaded.
 */
async function deployWhileOpen(version: string) {
  await deploy(version);
  await page.evaluate(() => {
    (globalThis as unknown as InPage).tocsinBeforeReload = true;
  });
  await page.evaluate(checkForUpdateInPage);
  await banner().waitFor({ timeout: 15_000 });
  await page.waitForFunction(
    async () => (await (globalThis as unknown as InPage).navigator.serviceWorker.getRegistration())?.waiting,
    undefined,
    { timeout: 10_000 },
  );
  await page.waitForTimeout(1000);
  return {
    workers: await page.evaluate(workersInPage),
    shown: await shownBuild(),
    reloaded: !(await page.evaluate(() => (globalThis as unknown as InPage).tocsinBeforeReload === true)),
    banner: await banner().isVisible(),
  };
}

/** Clicks Reload and waits for the page to load again and the app to show its inbox. */
async function acceptUpdate(): Promise<void> {
  const loaded = page.waitForEvent('load', { timeout: 15_000 });
  await banner().getByRole('button', { name: 'Reload' }).click();
  await loaded;
  await heading('Inbox').waitFor();
  await page.evaluate(() => (globalThis as unknown as InPage).navigator.serviceWorker.ready.then(() => true));
}

/** What the page is after a reload: not the document that was marked, the new build, no banner. */
async function afterReload() {
  return {
    marked: await page.evaluate(() => (globalThis as unknown as InPage).tocsinBeforeReload === true),
    shown: await shownBuild(),
    workers: await page.evaluate(workersInPage),
    banners: await page.getByText(BANNER_TEXT).count(),
  };
}

beforeAll(async () => {
  dist = await privateBuild();
  await deploy('v1');
  desk = await startDesk();
  serveBuild(desk, dist);
  const email = `${uniqueName('update')}@example.org`.toLowerCase();
  await addUser(email, 'Uma Update', 'member');

  browser = await launchChromium();
  page = await browser.newPage();
  page.setDefaultTimeout(30_000);
  const link = await issueLoginLink(email, desk.publicUrl);
  await page.goto(link!.url);
  await Promise.all([
    page.waitForURL(`${desk.publicUrl}/`),
    page.getByRole('button', { name: 'Sign in to Tocsin' }).click(),
  ]);
  await heading('Inbox').waitFor();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await desk?.stop();
  if (dist) rmSync(dist, { recursive: true, force: true });
});

describe('when a member opens the app for the first time', () => {
  it('then its worker installs and takes control of the page, with no prompt', async () => {
    await page.waitForFunction(
      () => (globalThis as unknown as InPage).navigator.serviceWorker.controller?.state === 'activated',
      undefined,
      { timeout: 15_000 },
    );
    expect(await page.evaluate(workersInPage)).toEqual({
      controller: 'activated',
      waiting: null,
      controllerShell: 'v1',
    });
    expect(await shownBuild()).toBe('v1');
    expect(await page.getByText(BANNER_TEXT).count()).toBe(0);
  });
});

describe('when a new version is deployed while that first page is open', () => {
  it('then a banner offers it, and the old worker keeps the page until the member agrees', async () => {
    expect(await deployWhileOpen('v2')).toEqual({
      workers: { controller: 'activated', waiting: 'installed', controllerShell: 'v1' },
      shown: 'v1',
      reloaded: false,
      banner: true,
    });
  });

  it('then the banner reads well at a phone size and passes axe', async () => {
    expect(await screenProblems(page, 'update-prompt')).toEqual([]);
  });

  it('then Reload hands the page to the new worker and reloads it, and no banner is left', async () => {
    await acceptUpdate();
    expect(await afterReload()).toEqual({
      marked: false,
      shown: 'v2',
      workers: { controller: 'activated', waiting: null, controllerShell: 'v2' },
      banners: 0,
    });
  });
});

describe('when another version is deployed to a page that loaded under a worker', () => {
  it('then it too waits for the member, and Reload brings it in', async () => {
    expect(await deployWhileOpen('v3')).toEqual({
      workers: { controller: 'activated', waiting: 'installed', controllerShell: 'v2' },
      shown: 'v2',
      reloaded: false,
      banner: true,
    });
    await acceptUpdate();
    expect(await afterReload()).toEqual({
      marked: false,
      shown: 'v3',
      workers: { controller: 'activated', waiting: null, controllerShell: 'v3' },
      banners: 0,
    });
  });
});
