/**
 * Part (e) of the benchmark: the PWA's first screen, as a phone gets it.
 *
 *   - Its JavaScript, gzipped. The PWA is built (`npm run build`, when pwa/dist is older than its
 *     sources, as the browser tests build it: rebuilding under a test that serves pwa/dist would
 *     pull its files away), and every script pwa/dist/index.html loads (script src, modulepreload,
 *     and what those import statically) is counted as pwa/build.ts counts its budget: gzip level
 *     9, per file, summed. Target ≤ 60 KB (BUDGET_BYTES of pwa/build.ts). Baseline: Preact's own
 *     runtime (preact and preact/hooks as published, minified), counted the same way, so the
 *     reader sees the app's share.
 *   - Lighthouse 12 in its default mobile emulation (a mid-range phone, simulated slow 4G and 4×
 *     CPU slowdown), performance and accessibility, against Tocsin as users run it (server/main.ts
 *     in a process of its own, serving the built PWA): the sign-in screen (`/`, anonymous) and the
 *     inbox of a signed-in member (a session cookie, a few New cases). Targets: performance ≥ 95,
 *     accessibility 100. Baseline: a one-line static page from a node:http server in this process,
 *     measured the same way: the best score this machine's Lighthouse gives.
 *
 * Each page is measured BENCH_PWA_RUNS times, each run in a Chromium of its own, the pages taking
 * turns; the median run by performance score is reported, with the range. The part uses a
 * database of its own, dropped afterwards: the rig's, else MONGODB_URI, else a FerretDB of its own.
 *
 * Run only this part:  BENCH_LATENCY_N=0 BENCH_REPLY_N=0 BENCH_BACKLOG_N=0 BENCH_REGISTER_N=0 BENCH_PUSH_FANOUT=0 BENCH_PUSH_LATENCY_N=0 npm run bench
 * Env: BENCH_PWA=0 skips the part; BENCH_PWA_RUNS (3), BENCH_PWA_CASES (12),
 *      BENCH_PWA_TIMEOUT_S (120): how long one Lighthouse run may take; CHROME_PATH (/usr/bin/chromium).
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import mongoose from 'mongoose';
import pino from 'pino';
import { BUDGET_BYTES, gzippedBytes } from '../../pwa/build';
import { sessionCookie, startSession } from '../../server/auth/sessions';
import { addUser } from '../../server/auth/users';
import { loadPlaybook } from '../../server/cases/playbook';
import { ensureCase } from '../../server/cases/service';
import { connectDatabase } from '../../server/db/connection';
import { PWA_DIST, buildPwaIfStale } from '../support/pwa';
import { startTocsin } from '../support/tocsin-process';
import {
  expectRequest,
  figuresOf,
  lighthouseOnce,
  pageFigures,
  type Lhr,
  type PageFigures,
} from './lighthouse';
import { noise } from './proc';
import { seedCases } from './register';
import {
  RUN_ID,
  STEP_TIMEOUT_MS,
  bounded,
  note,
  onCleanup,
  out,
  tocsinLogSummary,
  databaseBase,
} from './rig';
import { round, table } from './stats';

export type { PageFigures } from './lighthouse';

export const PERFORMANCE_TARGET = 95;
export const ACCESSIBILITY_TARGET = 100;
const STATIC_PAGE =
  '<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Baseline</title></head><body><p>Hello.</p></body></html>';

export interface PwaOptions {
  runs: number;
  cases: number;
  timeLimitS: number;
}

export interface ScriptSize {
  file: string;
  bytes: number;
  gzipBytes: number;
}

export interface Scripts {
  files: ScriptSize[];
  bytes: number;
  gzipBytes: number;
}

export interface PwaResult {
  firstScreen: Scripts & { budgetBytes: number; met: boolean };
  preact: Scripts;
  pages: { signIn: PageFigures; inbox: PageFigures; staticPage: PageFigures };
  targets: { performance: number; accessibility: number };
  met: Record<'signIn' | 'inbox', { performance: boolean; accessibility: boolean }>;
  /** Cases seeded, and how many the member's inbox lists. */
  cases: { seeded: number; inInbox: number };
  lighthouse: string;
  chromium: string;
  /** Lighthouse's measure of this machine's CPU speed, over the runs (higher is faster). */
  benchmarkIndex: { min: number; max: number };
  runMs: number;
  noise: ReturnType<typeof noise>;
  tocsinLog: string[];
}

const kb = (bytes: number) => `${round(bytes / 1024, 1)} KB`;

// ---------------------------------------------------------------------------------------------
// First-screen JavaScript

function sizes(files: { file: string; content: Buffer }[]): Scripts {
  const counted = files.map(({ file, content }) => ({
    file,
    bytes: content.length,
    gzipBytes: gzippedBytes(content),
  }));
  return {
    files: counted,
    bytes: counted.reduce((s, f) => s + f.bytes, 0),
    gzipBytes: counted.reduce((s, f) => s + f.gzipBytes, 0),
  };
}

/**
 * The scripts pwa/dist/index.html loads, as URL paths: script src and modulepreload, then what each
 * imports statically (esbuild writes `import…from"./chunks/…js"`; `import("…")` waits for later).
 */
export function firstScreenScripts(dist: string): string[] {
  const html = fs.readFileSync(path.join(dist, 'index.html'), 'utf8');
  const tags = html.match(/<(?:script|link)\b[^>]*>/gi) ?? [];
  const loaded = tags.flatMap((tag) => {
    const attr = (name: string) => new RegExp(`\\b${name}=["']?([^"'\\s>]+)`, 'i').exec(tag)?.[1];
    if (/^<script/i.test(tag)) return attr('src') ?? [];
    return attr('rel')?.toLowerCase() === 'modulepreload' ? (attr('href') ?? []) : [];
  });
  const seen = new Set<string>();
  const visit = (url: string) => {
    const pathname = new URL(url, 'http://desk/').pathname;
    if (seen.has(pathname)) return;
    seen.add(pathname);
    const code = fs.readFileSync(path.join(dist, pathname), 'utf8');
    for (const m of code.matchAll(/\b(?:from|import)\s*["'](\.{0,2}\/[^"']+\.m?js)["']/g))
      visit(new URL(m[1]!, `http://desk${pathname}`).href);
  };
  loaded.forEach(visit);
  return [...seen];
}

async function measureScripts(): Promise<Pick<PwaResult, 'firstScreen' | 'preact'>> {
  const t0 = performance.now();
  await bounded(buildPwaIfStale(), 150_000, 'npm run build');
  note(`PWA build ready in ${round((performance.now() - t0) / 1000, 1)} s (rebuilt only when stale)`);
  const files = firstScreenScripts(PWA_DIST).map((file) => ({
    file,
    content: fs.readFileSync(path.join(PWA_DIST, file)),
  }));
  if (files.length === 0) throw new Error('pwa/dist/index.html loads no script');
  const firstScreen = sizes(files);
  const preactDir = path.dirname(require.resolve('preact/package.json'));
  const preact = sizes(
    ['dist/preact.module.js', 'hooks/dist/hooks.module.js'].map((f) => ({
      file: `preact/${f}`,
      content: fs.readFileSync(path.join(preactDir, f)),
    })),
  );
  return {
    firstScreen: {
      ...firstScreen,
      budgetBytes: BUDGET_BYTES,
      met: firstScreen.gzipBytes <= BUDGET_BYTES,
    },
    preact,
  };
}

// ---------------------------------------------------------------------------------------------
// The part

/** A one-line page from a node:http server in this process: the baseline. */
async function staticServer(): Promise<string> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(STATIC_PAGE);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onCleanup('close the static page server', () => new Promise((resolve) => server.close(resolve)));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
}

export async function partPwa(rigUri: string | undefined, o: PwaOptions): Promise<PwaResult> {
  const began = performance.now();
  out(
    `\n(e) PWA first screen: JavaScript gzipped; Lighthouse (mobile) on the sign-in screen and the ` +
      `inbox, ${o.runs} run(s) each`,
  );
  const scripts = await measureScripts();

  const uri = new URL(await databaseBase(rigUri));
  uri.pathname = `/bench_pwa_${RUN_ID}`;
  await bounded(connectDatabase(uri.toString(), pino({ level: 'warn' })), STEP_TIMEOUT_MS, 'connect');
  const closeDb = onCleanup(`drop ${uri.pathname} and disconnect`, async () => {
    await mongoose.connection.dropDatabase();
    await mongoose.disconnect();
  });
  const playbook = loadPlaybook();
  for (const c of seedCases(o.cases, playbook, Date.now())) {
    const { key, suggestion, subject, reporter, firstSeenAt, source, participants } = c;
    await ensureCase({ key, suggestion, subject, reporter, firstSeenAt, source, participants }, playbook);
  }
  const user = await addUser(`bench-pwa-${RUN_ID}@example.org`, 'Bench Member', 'member');
  const session = await startSession(user, 'magic-link', { userAgent: 'tocsin bench' });

  const tocsin = await startTocsin({ MONGODB_URI: uri.toString() });
  const stopTocsin = onCleanup(`stop Tocsin pid ${tocsin.pid}`, async () => {
    const code = await bounded(tocsin.stop(), 30_000, `Tocsin pid ${tocsin.pid} to exit`).catch(
      async (err) => {
        await tocsin.kill9();
        throw err;
      },
    );
    if (code !== 0) throw new Error(`Tocsin exited ${code} on SIGTERM: ${tocsin.output().slice(-500)}`);
  });
  // Its PUBLIC_URL by default, which names the cookie and is the origin its pages expect.
  const desk = tocsin.url.replace('127.0.0.1', 'localhost') + '/';
  const cookie = `${sessionCookie(desk).name}=${session.token}`;
  const inboxRes = await fetch(`${tocsin.url}/api/cases?status=New&limit=200`, { headers: { cookie } });
  const inInbox = inboxRes.ok ? ((await inboxRes.json()) as { cases: unknown[] }).cases.length : 0;
  if (inInbox === 0)
    throw new Error(`the member's inbox is empty (GET /api/cases answered ${inboxRes.status})`);
  note(`Tocsin pid ${tocsin.pid} on ${desk}; ${o.cases} New cases seeded, ${inInbox} in the member's inbox`);
  const baseline = await staticServer();

  // The pages take turns, the baseline first: its first run also warms Chromium's files on disk.
  const pages = [
    { key: 'staticPage', name: 'baseline: static one-line page', url: baseline, cookie: undefined },
    { key: 'signIn', name: 'sign-in screen (anonymous)', url: desk, cookie: undefined },
    { key: 'inbox', name: 'inbox (signed in)', url: desk, cookie },
  ] as const;
  const lhrs: Record<string, Lhr[]> = { staticPage: [], signIn: [], inbox: [] };
  for (let run = 1; run <= o.runs; run++) {
    for (const p of pages) {
      const t = performance.now();
      const lhr = await lighthouseOnce(p.url, p.cookie, o.timeLimitS * 1000);
      lhrs[p.key]!.push(lhr);
      const f = figuresOf(lhr);
      note(
        `run ${run}, ${p.name}: performance ${f.performance}, accessibility ${f.accessibility} ` +
          `(${round((performance.now() - t) / 1000, 1)} s)`,
      );
    }
  }
  await stopTocsin();
  await closeDb();
  expectRequest(lhrs.signIn!, 'sign-in screen', '/api/me', 401);
  expectRequest(lhrs.inbox!, 'inbox', '/api/cases?status=New', 200);

  const figures = Object.fromEntries(
    pages.map((p) => [p.key, pageFigures(p.name, p.url, lhrs[p.key]!)]),
  ) as PwaResult['pages'];
  const met = (f: PageFigures) => ({
    performance: f.median.performance >= PERFORMANCE_TARGET,
    accessibility: f.median.accessibility >= ACCESSIBILITY_TARGET,
  });
  const any = lhrs.signIn![0]!;
  const speed = Object.values(lhrs).flatMap((l) => l.map((x) => x.environment.benchmarkIndex));
  return {
    ...scripts,
    pages: figures,
    targets: { performance: PERFORMANCE_TARGET, accessibility: ACCESSIBILITY_TARGET },
    met: { signIn: met(figures.signIn), inbox: met(figures.inbox) },
    cases: { seeded: o.cases, inInbox },
    lighthouse: any.lighthouseVersion,
    chromium: /Chrome\/([\d.]+)/.exec(any.environment.hostUserAgent)?.[1] ?? any.environment.hostUserAgent,
    benchmarkIndex: { min: Math.min(...speed), max: Math.max(...speed) },
    runMs: Math.round(performance.now() - began),
    noise: noise(),
    tocsinLog: tocsinLogSummary(tocsin),
  };
}

export function printPwa(r: PwaResult): void {
  const fs1 = r.firstScreen;
  out(
    table(
      ['first-screen script', 'raw', 'gzip -9'],
      [
        ...fs1.files.map((f) => [f.file, kb(f.bytes), kb(f.gzipBytes)]),
        ['total', kb(fs1.bytes), kb(fs1.gzipBytes)],
        ...r.preact.files.map((f) => [`baseline: ${f.file}`, kb(f.bytes), kb(f.gzipBytes)]),
        ['baseline: Preact runtime, total', kb(r.preact.bytes), kb(r.preact.gzipBytes)],
      ],
    ),
  );
  note(
    `the app's share beyond Preact's runtime: about ${kb(fs1.gzipBytes - r.preact.gzipBytes)} gzipped ` +
      `(${round(((fs1.gzipBytes - r.preact.gzipBytes) / fs1.gzipBytes) * 100, 0)} % of the first screen)`,
  );
  const seen = r.pages.signIn.scripts.filter((s) => !s.includes('?'));
  const counted = fs1.files.map((f) => f.file);
  const same = seen.length === counted.length && seen.every((s) => counted.includes(s));
  note(
    `scripts Lighthouse saw the sign-in screen load: ${seen.join(', ') || 'none'}` +
      (same ? ' (the files counted)' : ` (counted: ${counted.join(', ')})`),
  );
  out('');
  const range = (p: PageFigures) => {
    const perf = p.runs.map((x) => x.performance);
    return perf.length > 1 ? ` (${Math.min(...perf)}–${Math.max(...perf)})` : '';
  };
  const rows = [r.pages.signIn, r.pages.inbox, r.pages.staticPage].map((p) => [
    p.name,
    `${p.median.performance}${range(p)}`,
    String(p.median.accessibility),
    `${p.median.fcpMs} ms`,
    `${p.median.lcpMs} ms`,
    `${p.median.tbtMs} ms`,
    String(p.median.cls),
  ]);
  out(table(['Lighthouse, median run', 'performance', 'accessibility', 'FCP', 'LCP', 'TBT', 'CLS'], rows));
  note(
    `Lighthouse ${r.lighthouse}, Chromium ${r.chromium}, mobile emulation, this machine's ` +
      `benchmark index ${r.benchmarkIndex.min}–${r.benchmarkIndex.max} (lower under load: TBT rises); ` +
      `the part took ${round(r.runMs / 1000, 0)} s`,
  );
  for (const p of [r.pages.signIn, r.pages.inbox]) {
    for (const a of p.accessibilityFailed)
      note(`${p.name}: accessibility FAILED ${a.id}: ${a.title}${a.detail ? ` (${a.detail})` : ''}`);
    for (const a of p.performanceToImprove)
      note(`${p.name}: performance audit ${a.id}: ${a.title}${a.detail ? ` (${a.detail})` : ''}`);
    for (const w of p.warnings) note(`${p.name}: Lighthouse warned: ${w}`);
  }
  if (r.noise.jestProcesses > 0)
    note(`${r.noise.jestProcesses} jest process(es) running: scores may be noisy`);
  const yes = (m: boolean) => (m ? 'met' : 'missed');
  out(
    `first screen ${kb(fs1.gzipBytes)} gzipped (target ≤ ${kb(fs1.budgetBytes)}): ${yes(fs1.met)}; ` +
      `sign-in ${r.pages.signIn.median.performance} / ${r.pages.signIn.median.accessibility}, inbox ` +
      `${r.pages.inbox.median.performance} / ${r.pages.inbox.median.accessibility} (targets ≥ ${r.targets.performance} / ` +
      `${r.targets.accessibility}): ${yes(Object.values(r.met).every((m) => m.performance && m.accessibility))}`,
  );
}
