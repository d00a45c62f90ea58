import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import express from 'express';
import type { Page } from 'playwright-core';
import type { Desk } from './desk';

/** The PWA's build for the browser tests, and the checks every screen gets. */

const ROOT = path.join(__dirname, '..', '..');
const PWA = path.join(ROOT, 'pwa');
export const PWA_DIST = path.join(PWA, 'dist');
const AXE = require.resolve('axe-core/axe.min.js');
export const SCREENSHOTS = process.env.TOCSIN_SCREENSHOTS ?? path.join(os.tmpdir(), 'tocsin-pwa-screens');

/** The newest modification time under a file or folder. */
function newest(p: string): number {
  const s = statSync(p);
  if (!s.isDirectory()) return s.mtimeMs;
  return Math.max(s.mtimeMs, ...readdirSync(p).map((f) => newest(path.join(p, f))));
}

/**
 * The real build (`npm run build`: pwa/build.ts, which runs pwa/build-sw.ts), run again only when
 * pwa/dist is missing or older than its sources: `npm test` builds before jest, and rebuilding
 * under another test file that serves pwa/dist would pull its files away.
 */
export async function buildPwaIfStale(): Promise<void> {
  if (!existsSync(path.join(PWA, 'build.ts'))) throw new Error('pwa/build.ts is missing');
  const built = path.join(PWA_DIST, 'sw.js'); // written last
  const sources = ['src', 'public', 'build.ts', 'build-sw.ts', 'build-icons.ts']
    .map((f) => path.join(PWA, f))
    .filter((f) => existsSync(f));
  if (existsSync(built) && statSync(built).mtimeMs >= Math.max(...sources.map(newest))) return;
  await promisify(execFile)(process.execPath, ['--import', 'tsx', 'pwa/build.ts'], {
    cwd: ROOT,
    timeout: 120_000,
  });
}

/** A private copy of the build, which a test may change (a new service worker, say) without touching others. */
export async function privateBuild(): Promise<string> {
  await buildPwaIfStale();
  const copy = mkdtempSync(path.join(os.tmpdir(), 'tocsin-pwa-'));
  cpSync(PWA_DIST, copy, { recursive: true });
  return copy;
}

/** Makes the desk serve a private build in place of pwa/dist, behind the desk's own headers (CSP included). */
export function serveBuild(desk: Desk, dir: string): void {
  const layer = (desk.app.router as unknown as { stack: { name: string; handle: unknown }[] }).stack.find(
    (l) => l.name === 'serveStatic',
  );
  if (!layer) throw new Error('the desk serves no static files');
  layer.handle = express.static(dir, { index: 'index.html', dotfiles: 'ignore' });
}

interface AxeResult {
  violations: { id: string; impact: string | null; help: string; nodes: { target: string[] }[] }[];
}

/**
 * Saves a screenshot of the screen shown at 360×780 and returns axe-core's serious and critical
 * violations on it, each as one line (none is the pass).
 */
export async function screenProblems(page: Page, name: string): Promise<string[]> {
  const viewport = page.viewportSize();
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.setViewportSize({ width: 360, height: 780 });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`) });
  if (viewport) await page.setViewportSize(viewport);
  // The page's CSP (script-src 'self') refuses the inline tag addScriptTag writes; DevTools does not.
  const has = await page.evaluate(() => typeof (globalThis as { axe?: unknown }).axe === 'object');
  if (!has) await page.evaluate(`${readFileSync(AXE, 'utf8')}\n;0`);
  const result = (await page.evaluate(() =>
    (globalThis as unknown as { axe: { run(o: object): Promise<unknown> } }).axe.run({
      resultTypes: ['violations'],
    }),
  )) as AxeResult;
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}
