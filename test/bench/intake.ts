/**
 * Tocsin intake benchmark (`npm run bench`). It starts its own Dovecot and FerretDB (or uses
 * MONGODB_URI), runs real Tocsin processes (server/main.ts, as users run it), and prints figures
 * next to a baseline measured in the same run. Timings are reported, never asserted: the exit code
 * is non-zero only when something broke.
 *
 *   (a) latency: APPEND → case visible through GET /api/cases?q=…, one report at a time;
 *       baseline: when a bare IMAP IDLE client in this process is told of the same message.
 *   (b) backlog: N reports already in the mailbox when Tocsin starts; time until its cursor covers
 *       them all, peak RSS; baseline: mailparser's simpleParser over the same bytes, here.
 *
 * Env: BENCH_LATENCY_N (default 200), BENCH_BACKLOG_N (default 5000); 0 skips a part.
 *      BENCH_LATENCY_WARMUP (default 3), BENCH_LOAD_CONNECTIONS (default 4), MONGODB_URI (optional),
 *      BENCH_BACKLOG_TIMEOUT_S (default 1800): how long Tocsin gets for the backlog. A run cut short
 *      still reports its rate, throughput curve and an extrapolation, as a missed target, not a failure
 *      (unless nothing at all was ingested, or something was doubled or lost).
 *      BENCH_TOCSIN_NODE_OPTIONS: NODE_OPTIONS for the Tocsin processes (e.g. --require a profiler hook).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ImapFlow } from 'imapflow';
import { simpleParser } from 'mailparser';
import mongoose, { type Connection } from 'mongoose';
import pino from 'pino';
import type { ImapConfig } from '../../server/config';
import { findFerretDb, startFerretDb } from '../../server/db/embedded';
import { addDovecotUser, startDovecot, type DovecotRig } from '../support/dovecot';
import { compose } from '../support/mail';
import { imapEnv, runCli, startTocsin, type TocsinProcess } from '../support/tocsin-process';
import { waitFor } from '../support/wait';
import { buildCorpus, MAX_BYTES, MIN_BYTES } from './corpus';
import { cpuSeconds, noise, NoiseMonitor, pidsWithCmdline, procStatusBytes, RssSampler } from './proc';
import { mb, round, spread, table, type Spread } from './stats';

// ---------------------------------------------------------------------------------------------
// Output, options, clean-up

const out = (line = '') => void process.stdout.write(line + '\n');
const note = (line: string) => out(`  ${line}`);
const ms = (v: number) => `${round(v, 0)} ms`;
const sleep = (t: number) => new Promise<void>((r) => setTimeout(r, t));

function intEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a whole number ≥ 0 (got ${raw})`);
  return n;
}

const RUN_ID = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
const LATENCY_TARGET_P99_MS = 1000;
const RATIO_TARGET = 0.5;
const RSS_TARGET_BYTES = 300 * 1024 * 1024;
const DOVECOT_IDLE_FLOOR_MS = 500;
const LATENCY_POLL_MS = 5;
const LATENCY_TIMEOUT_MS = 30_000;
const STEP_TIMEOUT_MS = 60_000;

interface Cleanup {
  what: string;
  fn: () => Promise<unknown>;
}
const cleanups: Cleanup[] = [];

/** Registers a clean-up step (run last-in, first-out); returns a function that runs it now. */
function onCleanup(what: string, fn: () => Promise<unknown>): () => Promise<void> {
  const entry = { what, fn };
  cleanups.push(entry);
  return async () => {
    const i = cleanups.indexOf(entry);
    if (i === -1) return;
    cleanups.splice(i, 1);
    await bounded(entry.fn(), 45_000, entry.what);
  };
}

async function runCleanups(): Promise<string[]> {
  const errors: string[] = [];
  for (let c = cleanups.pop(); c; c = cleanups.pop()) {
    try {
      await bounded(c.fn(), 45_000, c.what);
    } catch (err) {
      errors.push(`clean-up "${c.what}": ${(err as Error).message}`);
    }
  }
  return errors;
}

/** Rejects when `p` takes longer than `timeoutMs`. */
async function bounded<T>(p: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no result within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// Shared rig: database, Dovecot, mailboxes, members, Tocsin processes

interface Rig {
  baseUri: string;
  externalDb: boolean;
  ferretPid?: number;
  dovecot: DovecotRig;
}

async function startRig(): Promise<Rig> {
  const log = pino({ level: 'warn' });
  let baseUri = process.env.MONGODB_URI;
  const externalDb = !!baseUri;
  let ferretPid: number | undefined;
  if (!baseUri) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tocsin-bench-db-'));
    onCleanup('remove the FerretDB temp dir', async () => fs.rmSync(dir, { recursive: true, force: true }));
    const bin = await findFerretDb(log, true);
    const db = await startFerretDb(dir, bin, log);
    onCleanup('stop FerretDB', () => db.stop());
    baseUri = db.uri;
    const port = new URL(db.uri).port;
    ferretPid = pidsWithCmdline(`--listen-addr=127.0.0.1:${port}`)[0];
    note(`FerretDB (SQLite, ${dir}) on ${baseUri}, pid ${ferretPid ?? '?'}`);
  } else {
    note(`database: MONGODB_URI (external); bench databases are dropped afterwards`);
  }
  const dovecot = await startDovecot();
  onCleanup('stop Dovecot', () => dovecot.stop());
  note(`Dovecot on ${dovecot.host}:${dovecot.imapPort} (${dovecot.dir})`);
  // What test/support/env.ts expects, for any helper that reads it.
  process.env.MONGODB_URI = baseUri;
  process.env.TOCSIN_TEST_IMAP_HOST = dovecot.host;
  process.env.TOCSIN_TEST_IMAP_PORT = String(dovecot.imapPort);
  process.env.TOCSIN_TEST_LMTP_PORT = String(dovecot.lmtpPort);
  process.env.TOCSIN_TEST_PASSWD_FILE = dovecot.passwdFile;
  return { baseUri, externalDb, ferretPid, dovecot };
}

function databaseUri(rig: Rig, name: string): string {
  const uri = new URL(rig.baseUri);
  uri.pathname = `/${name}`;
  return uri.toString();
}

/** A database connection of the bench's own (for reading progress), dropped afterwards if external. */
async function openDb(rig: Rig, uri: string): Promise<Connection> {
  const conn = await bounded(
    mongoose.createConnection(uri, { serverSelectionTimeoutMS: 15_000, maxPoolSize: 4 }).asPromise(),
    STEP_TIMEOUT_MS,
    'connect to the database',
  );
  onCleanup(`close the bench's connection to ${new URL(uri).pathname}`, async () => {
    if (rig.externalDb) await conn.dropDatabase().catch(() => undefined);
    await conn.close();
  });
  return conn;
}

async function newMailbox(rig: Rig, prefix: string): Promise<ImapConfig> {
  const user = `${prefix}-${RUN_ID}@example.test`.toLowerCase();
  const password = randomBytes(9).toString('base64url');
  await addDovecotUser(rig.dovecot.passwdFile, user, password);
  return {
    host: rig.dovecot.host,
    port: rig.dovecot.imapPort,
    secure: false,
    user,
    password,
    mailbox: 'INBOX',
    maxMessageBytes: 25 * 1024 * 1024,
    leaseSeconds: 30,
  };
}

/** `tocsin user add` and `tocsin token create`, through the real CLI; returns the token. */
async function createMember(uri: string, label: string): Promise<string> {
  const email = `bench-${label}-${RUN_ID}@example.org`;
  const cli = async (args: string[]) => {
    const r = await bounded(runCli(args, { MONGODB_URI: uri }), STEP_TIMEOUT_MS, `tocsin ${args[0]}`);
    if (r.code !== 0) throw new Error(`tocsin ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
    return r.stdout.trim();
  };
  await cli(['user', 'add', email, '--name', 'Bench Admin', '--role', 'admin']);
  const token = (await cli(['token', 'create', email])).split('\n').pop() ?? '';
  if (!token.startsWith('tcs_')) throw new Error(`tocsin token create printed no token`);
  return token;
}

function imapClient(box: ImapConfig, extra: { autoIdleDelay?: number } = {}): ImapFlow {
  const client = new ImapFlow({
    host: box.host,
    port: box.port,
    secure: false,
    auth: { user: box.user, pass: box.password },
    logger: false,
    ...extra,
  });
  client.on('error', (err: Error) => process.stderr.write(`bench IMAP client error: ${err.message}\n`));
  return client;
}

/** Connects an IMAP client and registers its logout for clean-up (before Dovecot stops). */
async function connected(client: ImapFlow, what: string): Promise<() => Promise<void>> {
  await bounded(client.connect(), STEP_TIMEOUT_MS, `connect ${what}`);
  return onCleanup(`log out ${what}`, async () => {
    await bounded(client.logout(), 10_000, 'logout').catch(() => client.close());
  });
}

interface Started {
  tocsin: TocsinProcess;
  stop: () => Promise<{ code: number | null; ms: number }>;
}

/** Starts server/main.ts as users run it; stopping (SIGTERM, then SIGKILL after 30 s) is registered. */
async function launchTocsin(uri: string, box: ImapConfig): Promise<Started> {
  // BENCH_TOCSIN_NODE_OPTIONS (e.g. "--require /path/to/profiler-hook.js") for profiling Tocsin.
  const nodeOptions = process.env.BENCH_TOCSIN_NODE_OPTIONS;
  const tocsin = await startTocsin(
    { MONGODB_URI: uri, ...imapEnv(box), ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}) },
    { waitReady: false },
  );
  let result: { code: number | null; ms: number } | undefined;
  const stopNow = onCleanup(`stop Tocsin pid ${tocsin.pid}`, async () => {
    const t = performance.now();
    try {
      const code = await bounded(tocsin.stop(), 30_000, `Tocsin pid ${tocsin.pid} to exit after SIGTERM`);
      result = { code, ms: performance.now() - t };
    } catch (err) {
      await tocsin.kill9();
      throw err;
    }
  });
  return {
    tocsin,
    stop: async () => {
      await stopNow();
      return result ?? { code: null, ms: NaN };
    },
  };
}

async function waitHttp(tocsin: TocsinProcess, pathname: string, timeoutMs = STEP_TIMEOUT_MS): Promise<void> {
  await waitFor(
    `Tocsin pid ${tocsin.pid} to answer 200 on ${pathname}`,
    async () => {
      if (tocsin.child.exitCode !== null)
        throw new Error(`exited ${tocsin.child.exitCode}: ${tocsin.output()}`);
      const res = await fetch(tocsin.url + pathname).catch(() => undefined);
      await res?.arrayBuffer().catch(() => undefined);
      return res?.status === 200;
    },
    timeoutMs,
    20,
  );
}

interface CaseJson {
  key: string;
  subject: string;
}

async function api<T>(tocsin: TocsinProcess, token: string, pathname: string): Promise<T> {
  const res = await fetch(tocsin.url + pathname, { headers: { authorization: `Bearer ${token}` } });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET ${pathname} answered ${res.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

function tocsinLogSummary(tocsin: TocsinProcess): string[] {
  const lines = tocsin
    .output()
    .split('\n')
    .filter((l) => l.trim() !== '');
  if (lines.length === 0) return ['Tocsin logged nothing at LOG_LEVEL=warn'];
  return [
    `Tocsin logged ${lines.length} line(s) at LOG_LEVEL=warn; the last ones:`,
    ...lines.slice(-5).map((l) => `  ${l.slice(0, 300)}`),
  ];
}

// ---------------------------------------------------------------------------------------------
// (a) latency

interface LatencyResult {
  n: number;
  warmup: number;
  latencyMs: Spread;
  baselineIdleNotifyMs: Spread;
  tocsinAfterNotifyMs: Spread;
  appendAckMs: Spread;
  inboundClaimedMs: Spread;
  caseWrittenMs: Spread;
  pollRequestMs: Spread;
  pollsPerMessage: number;
  /** Reports Tocsin claimed over 400 ms after APPEND: its session waited out Dovecot's notify delay. */
  claimedAfter400Ms: number;
  /** The other reports: when Tocsin claimed them. */
  claimedWithin400Ms: Spread;
  casesInDb: number;
  p99TargetMs: number;
  p99Met: boolean;
  noise: ReturnType<typeof noise>;
  tocsinLog: string[];
}

async function partLatency(rig: Rig, n: number, warmup: number): Promise<LatencyResult> {
  out(`\n(a) Latency: APPEND → case visible via GET /api/cases?q=… (${n} reports, ${warmup} warm-up)`);
  const uri = databaseUri(rig, `bench_latency_${RUN_ID}`);
  const box = await newMailbox(rig, 'bench-latency');
  const token = await createMember(uri, 'latency');
  const db = await openDb(rig, uri);

  const started = performance.now();
  const { tocsin, stop } = await launchTocsin(uri, box);
  await waitHttp(tocsin, '/healthz');
  await waitHttp(tocsin, '/readyz');
  note(`Tocsin pid ${tocsin.pid} ready (GET /readyz 200) after ${ms(performance.now() - started)}`);

  // The baseline: a bare IMAP client in IDLE on the same mailbox, as Tocsin's poller is.
  const existsAt = new Map<number, number>();
  const watcher = imapClient(box, { autoIdleDelay: 50 });
  watcher.on('exists', (e: { count: number; prevCount: number }) => {
    // A session may be told of two messages at once: the first EXISTS ≥ k is when it learnt of k.
    const now = performance.now();
    for (let k = e.prevCount + 1; k <= e.count; k++) if (!existsAt.has(k)) existsAt.set(k, now);
  });
  const logoutWatcher = await connected(watcher, 'the IDLE watcher');
  await watcher.mailboxOpen('INBOX');
  const appender = imapClient(box);
  const logoutAppender = await connected(appender, 'the appender');
  await sleep(300); // let the watcher enter IDLE

  const noiseAtStart = noise();
  const total: number[] = [];
  const appendAck: number[] = [];
  const pollRtt: number[] = [];
  const t0s: { perf: number; wall: number; marker: string }[] = [];
  let polls = 0;

  for (let i = 0; i < warmup + n; i++) {
    const measured = i >= warmup;
    const marker = `BLAT-${RUN_ID}-${i}`;
    const raw = await compose({
      to: box.user,
      from: `Bench Reporter <reporter${i}@example.org>`,
      subject: `Printer on the second floor is jammed again ${marker}`,
      text: `The printer shows a paper jam in tray 2. Reference ${marker}.\n\nThanks,\nBench`,
    });
    const t0 = performance.now();
    const wall0 = Date.now();
    await bounded(appender.append('INBOX', raw), LATENCY_TIMEOUT_MS, 'APPEND');
    const acked = performance.now();
    const deadline = t0 + LATENCY_TIMEOUT_MS;
    let seenAt: number | undefined;
    while (seenAt === undefined) {
      if (tocsin.child.exitCode !== null) throw new Error(`Tocsin exited ${tocsin.child.exitCode}`);
      const sent = performance.now();
      const body = await api<{ cases: CaseJson[] }>(
        tocsin,
        token,
        `/api/cases?q=${encodeURIComponent(marker)}&limit=5`,
      );
      const now = performance.now();
      if (measured) {
        polls++;
        pollRtt.push(now - sent);
      }
      if (body.cases.some((c) => c.subject.includes(marker))) seenAt = now;
      else if (now > deadline) throw new Error(`no case for ${marker} within ${LATENCY_TIMEOUT_MS} ms`);
      else await sleep(LATENCY_POLL_MS);
    }
    if (measured) {
      total.push(seenAt - t0);
      appendAck.push(acked - t0);
      t0s.push({ perf: t0, wall: wall0, marker });
      const done = i - warmup + 1;
      if (done % 50 === 0 || done === n) {
        const s = spread(total);
        note(`${done}/${n}: p50 ${ms(s.p50)}, max so far ${ms(s.max)}`);
      }
    }
  }

  // The watcher is told of message k as EXISTS k (the mailbox started empty).
  await waitFor('the IDLE watcher to see every message', () => existsAt.has(warmup + n), 10_000).catch(
    () => undefined,
  );
  const notify = t0s.map((t, k) => (existsAt.get(warmup + k + 1) ?? NaN) - t.perf);

  // Where the time went, from Tocsin's own records (same machine, same clock).
  const cases = await db
    .collection('cases')
    .find({}, { projection: { subject: 1, source: 1, createdAt: 1 } })
    .toArray();
  // (The inbound record's receivedAt is the mailbox's INTERNALDATE, with one-second resolution,
  // so the case's createdAt is the first timestamp Tocsin itself writes.)
  const byMarker = new Map<string, { createdAt: number }>();
  for (const c of cases) {
    const m = /BLAT-\w+-\d+/.exec(String(c.subject));
    if (m) byMarker.set(m[0], { createdAt: (c.createdAt as Date).getTime() });
  }
  const written = t0s.map((t) => (byMarker.get(t.marker)?.createdAt ?? NaN) - t.wall);
  const claimed = written;

  const tocsinLog = tocsinLogSummary(tocsin);
  await logoutAppender();
  await logoutWatcher();
  const stopped = await stop();
  note(`Tocsin stopped (SIGTERM) in ${ms(stopped.ms)}, exit code ${stopped.code}`);
  if (stopped.code !== 0) throw new Error(`Tocsin exited ${stopped.code} on SIGTERM: ${tocsin.output()}`);
  if (cases.length !== warmup + n) {
    throw new Error(`expected ${warmup + n} cases in the latency database, found ${cases.length}`);
  }

  const latencyMs = spread(total);
  return {
    n,
    warmup,
    latencyMs,
    baselineIdleNotifyMs: spread(notify),
    tocsinAfterNotifyMs: spread(total.map((v, k) => v - (notify[k] ?? NaN))),
    appendAckMs: spread(appendAck),
    inboundClaimedMs: spread(claimed),
    caseWrittenMs: spread(written),
    pollRequestMs: spread(pollRtt),
    pollsPerMessage: round(polls / Math.max(1, n), 1),
    claimedAfter400Ms: claimed.filter((v) => v > 400).length,
    claimedWithin400Ms: spread(claimed.filter((v) => v <= 400)),
    casesInDb: cases.length,
    p99TargetMs: LATENCY_TARGET_P99_MS,
    p99Met: latencyMs.p99 <= LATENCY_TARGET_P99_MS,
    noise: noiseAtStart,
    tocsinLog,
  };
}

// ---------------------------------------------------------------------------------------------
// (b) backlog

interface BacklogResult {
  n: number;
  /** Whether the cursor covered all N within BENCH_BACKLOG_TIMEOUT_S. */
  completed: boolean;
  timeLimitS: number;
  corpus: {
    generateMs: number;
    bytes: { min: number; p50: number; max: number; total: number };
    byCategory: Record<string, number>;
    byShape: Record<string, number>;
  };
  load: { ms: number; connections: number; messagesPerS: number };
  baseline: { simpleParserPerS: number; simpleParserTocsinOptionsPerS: number };
  tocsin: {
    toHealthzMs: number;
    toFirstCaseMs: number;
    /** Until the cursor covered every message, or until the time limit when not completed. */
    elapsedMs: number;
    coveredMessages: number;
    messagesPerS: number;
    steadyMessagesPerS: number;
    ratio: number;
    steadyRatio: number;
    /** Throughput per tenth of the backlog, in cursor order: does it slow down as data grows? */
    byTenth: { upTo: number; messagesPerS: number }[];
    /** Only when not completed: total time projected from the measured per-batch slowdown. */
    projectedTotalS: number | null;
    peakRssMb: number;
    vmHwmMb: number;
    sampledPeakRssMb: number;
    rssSamples: number;
    cpuSeconds: number | null;
    ferretDbCpuSeconds: number | null;
    shutdownMs: number;
    shutdownCode: number | null;
  };
  check: {
    cases: number;
    distinctCaseKeys: number;
    distinctSources: number;
    inboundDone: number;
    inboundTotal: number;
    timelineEntries: number;
    quarantined: number;
    apiListedCases: number | null;
    apiListMs: number | null;
    /** Completed: exactly N of everything. Not completed: no duplicates among what was ingested. */
    ok: boolean;
  };
  suggestions: { byType: Record<string, number>; agreeWithCorpus: number };
  targets: { ratio: number; ratioMet: boolean; rssMb: number; rssMet: boolean };
  noise: ReturnType<typeof noise>;
  tocsinLog: string[];
}

const BATCH = 50; // the poller's batchMessages: the cursor advances in steps of this many

/** Messages/s over each tenth of the backlog, from (time, cursor) samples taken as it advanced. */
function throughputByTenth(
  samples: { t: number; uid: number }[],
  n: number,
): { upTo: number; messagesPerS: number }[] {
  const result: { upTo: number; messagesPerS: number }[] = [];
  const step = Math.max(BATCH, Math.ceil(n / 10 / BATCH) * BATCH);
  let from = samples[0];
  if (!from) return result;
  for (let mark = step; ; mark += step) {
    const to = samples.find((s) => s.uid >= Math.min(mark, n));
    if (!to || to === from) break;
    result.push({ upTo: to.uid, messagesPerS: round(((to.uid - from.uid) / (to.t - from.t)) * 1000, 1) });
    from = to;
    if (to.uid >= n) break;
  }
  return result;
}

/**
 * When the run stops short: fits batch duration = a + b·(batch index) to the measured batches and
 * sums it over all N/BATCH batches. Only an extrapolation, and labelled as one.
 */
function projectTotalMs(samples: { t: number; uid: number }[], n: number, startedAt: number): number | null {
  const points: { x: number; y: number }[] = [];
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1]!;
    const b = samples[i]!;
    const batches = (b.uid - a.uid) / BATCH;
    if (a.uid > 0 && batches > 0) points.push({ x: a.uid / BATCH, y: (b.t - a.t) / batches });
  }
  if (points.length < 3) return null;
  const mx = points.reduce((s, p) => s + p.x, 0) / points.length;
  const my = points.reduce((s, p) => s + p.y, 0) / points.length;
  const sxx = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  const slope = sxx > 0 ? points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0) / sxx : 0;
  const intercept = my - slope * mx;
  const first = samples.find((s) => s.uid > 0);
  if (!first) return null;
  let total = first.t - startedAt;
  for (let j = first.uid / BATCH; j < n / BATCH; j++) total += Math.max(0, intercept + slope * j);
  return total;
}

async function partBacklog(rig: Rig, n: number, loaders: number, timeLimitS: number): Promise<BacklogResult> {
  out(`\n(b) Backlog: ${n} reports waiting in the mailbox when Tocsin starts`);
  const uri = databaseUri(rig, `bench_backlog_${RUN_ID}`);
  const box = await newMailbox(rig, 'bench-backlog');
  const token = await createMember(uri, 'backlog');
  const db = await openDb(rig, uri);

  let t = performance.now();
  const corpus = await buildCorpus(n, RUN_ID, box.user);
  const generateMs = performance.now() - t;
  const raws = corpus.messages.map((m) => m.raw);
  note(
    `generated ${n} messages in ${ms(generateMs)}: ${round(corpus.sizes.min / 1024)}–${round(corpus.sizes.max / 1024)} KB ` +
      `(median ${round(corpus.sizes.p50 / 1024)} KB, total ${mb(corpus.sizes.total)} MB; aimed at ${MIN_BYTES / 1024}–${MAX_BYTES / 1024} KB)`,
  );
  note(`categories ${JSON.stringify(corpus.byCategory)}`);
  note(`shapes ${JSON.stringify(corpus.byShape)}`);

  // Load the mailbox over several connections at once.
  const connections = Math.max(1, Math.min(loaders, n));
  t = performance.now();
  await Promise.all(
    Array.from({ length: connections }, async (_, c) => {
      const client = imapClient(box);
      const logout = await connected(client, `loader ${c + 1}`);
      for (let i = c; i < n; i += connections) {
        await bounded(client.append('INBOX', raws[i]!), LATENCY_TIMEOUT_MS, 'APPEND');
      }
      await logout();
    }),
  );
  const loadMs = performance.now() - t;
  const checker = imapClient(box);
  const logoutChecker = await connected(checker, 'the mailbox checker');
  const status = await checker.status('INBOX', { messages: true, uidNext: true });
  await logoutChecker();
  if (!status || status.messages !== n) {
    throw new Error(`mailbox holds ${status ? status.messages : '?'} messages after loading, not ${n}`);
  }
  const lastUid = (status.uidNext ?? 1) - 1;
  note(
    `loaded over ${connections} IMAP connections in ${ms(loadMs)} (${round((n / loadMs) * 1000, 0)} msg/s); last UID ${lastUid}`,
  );

  // Baseline: mailparser alone, in this process, over exactly the same bytes.
  const warm = Math.min(200, n);
  for (let i = 0; i < warm; i++) await simpleParser(raws[i]!);
  t = performance.now();
  for (const raw of raws) await simpleParser(raw);
  const parseMs = performance.now() - t;
  const rawRate = (n / parseMs) * 1000;
  t = performance.now();
  for (const raw of raws) {
    await simpleParser(raw, {
      checksumAlgo: 'sha256',
      skipTextToHtml: true,
      skipImageLinks: true,
      skipTextLinks: true,
    });
  }
  const parseTocsinOptsMs = performance.now() - t;
  const rawRateTocsinOpts = (n / parseTocsinOptsMs) * 1000;
  note(
    `baseline simpleParser: ${round(rawRate, 0)} msg/s (${ms(parseMs)} for ${n}, after ${warm} warm-up); ` +
      `with Tocsin's parse options: ${round(rawRateTocsinOpts, 0)} msg/s`,
  );

  // Tocsin, started on the full mailbox.
  const noiseAtStart = noise();
  const cursorId = `imap:${box.user}@${box.host}:${box.port}/${box.mailbox}`;
  const ferretCpu0 = rig.ferretPid ? cpuSeconds(rig.ferretPid) : undefined;
  const tStart = performance.now();
  const wallStart = Date.now();
  const { tocsin, stop } = await launchTocsin(uri, box);
  const sampler = new RssSampler(tocsin.pid, 100);
  let toHealthzMs = NaN;
  const healthz = waitHttp(tocsin, '/healthz').then(
    () => (toHealthzMs = performance.now() - tStart),
    () => undefined,
  );

  const deadline = tStart + timeLimitS * 1000;
  const samples: { t: number; uid: number }[] = [{ t: tStart, uid: 0 }];
  let lastReport = tStart;
  let covered = 0;
  let completed = false;
  for (;;) {
    if (tocsin.child.exitCode !== null) {
      throw new Error(`Tocsin exited ${tocsin.child.exitCode} during the backlog: ${tocsin.output()}`);
    }
    const cursor = await db
      .collection<{ _id: string; lastUid?: number }>('mail_cursors')
      .findOne({ _id: cursorId })
      .catch(() => null);
    const now = performance.now();
    const uid = cursor?.lastUid ?? 0;
    if (uid > covered) {
      covered = uid;
      samples.push({ t: now, uid });
    }
    if (covered >= lastUid) {
      completed = true;
      break;
    }
    if (now > deadline) break;
    if (now - lastReport >= 15_000) {
      lastReport = now;
      const recent = samples.filter((s) => s.t >= now - 60_000);
      const r0 = recent[0];
      const r1 = recent[recent.length - 1];
      const recentRate = r0 && r1 && r1 !== r0 ? ((r1.uid - r0.uid) / (r1.t - r0.t)) * 1000 : NaN;
      note(
        `${round((now - tStart) / 1000, 0)} s: cursor at UID ${covered}/${lastUid}` +
          (Number.isFinite(recentRate) ? ` (${round(recentRate, 1)} msg/s over the last minute)` : '') +
          `, RSS ${mb(procStatusBytes(tocsin.pid, 'VmRSS') ?? 0)} MB, Tocsin CPU ${cpuSeconds(tocsin.pid) ?? '?'} s` +
          (rig.ferretPid
            ? `, FerretDB CPU ${round((cpuSeconds(rig.ferretPid) ?? 0) - (ferretCpu0 ?? 0), 1)} s`
            : ''),
      );
    }
    await sleep(100);
  }
  const elapsedMs = performance.now() - tStart;
  const vmHwm = procStatusBytes(tocsin.pid, 'VmHWM') ?? 0;
  sampler.stop();
  const tocsinCpu = cpuSeconds(tocsin.pid);
  const ferretCpu1 = rig.ferretPid ? cpuSeconds(rig.ferretPid) : undefined;
  await healthz;
  if (completed) note(`cursor covers UID ${lastUid} after ${ms(elapsedMs)} from process start`);
  else {
    note(
      `TIME LIMIT: after ${round(elapsedMs / 1000, 0)} s (BENCH_BACKLOG_TIMEOUT_S=${timeLimitS}) the cursor covers ${covered} of ${lastUid}; stopping Tocsin`,
    );
    if (covered === 0) throw new Error(`Tocsin ingested nothing in ${timeLimitS} s: ${tocsin.output()}`);
  }

  // The same count through the API, page by page (a bounded number of pages); skipped when cut short.
  let apiListMs: number | null = null;
  let apiListed: number | null = null;
  if (completed) {
    t = performance.now();
    const listed = new Set<string>();
    let offset: number | null = 0;
    for (let page = 0; offset !== null && page < Math.ceil(n / 200) + 2; page++) {
      const body: { cases: CaseJson[]; next: number | null } = await api(
        tocsin,
        token,
        `/api/cases?limit=200&offset=${offset}`,
      );
      body.cases.forEach((c) => listed.add(c.key));
      offset = body.next;
    }
    apiListMs = round(performance.now() - t, 0);
    apiListed = listed.size;
  }

  const tocsinLog = tocsinLogSummary(tocsin);
  const stopped = await stop();
  note(`Tocsin stopped (SIGTERM) in ${ms(stopped.ms)}, exit code ${stopped.code}`);

  // Exactly N cases, N done inbound records, N timeline entries, nothing quarantined (read once
  // Tocsin has stopped, so nothing moves underneath).
  const cases = await db
    .collection('cases')
    .find({}, { projection: { key: 1, type: 1, source: 1, createdAt: 1 } })
    .toArray();
  const inbound = await db
    .collection('inbound')
    .find({}, { projection: { state: 1, messageId: 1 } })
    .toArray();
  const timelineEntries = await db.collection('timeline').countDocuments({});
  const quarantined = await db.collection('quarantine').countDocuments({});
  const inboundDone = inbound.filter((d) => d.state === 'done').length;
  const createdTimes = cases.map((c) => (c.createdAt as Date).getTime()).sort((a, b) => a - b);
  const firstCase = createdTimes[0] ?? NaN;
  const lastCase = createdTimes[createdTimes.length - 1] ?? NaN;

  // Which type the playbook suggested, against what the corpus was written to trigger.
  const messageIdBySource = new Map(inbound.map((d) => [String(d._id), String(d.messageId ?? '')]));
  const byType: Record<string, number> = {};
  let agree = 0;
  for (const c of cases) {
    const type = String(c.type);
    byType[type] = (byType[type] ?? 0) + 1;
    const m = /bench-\w+-(\d+)@/.exec(messageIdBySource.get(String(c.source)) ?? '');
    if (m && corpus.messages[Number(m[1])]?.expectedType === type) agree++;
  }

  const processed = completed ? n : covered;
  const rate = (processed / elapsedMs) * 1000;
  const steadyRate = cases.length > 1 ? ((cases.length - 1) / (lastCase - firstCase)) * 1000 : NaN;
  const peakRss = Math.max(vmHwm, sampler.peak);
  const check = {
    cases: cases.length,
    distinctCaseKeys: new Set(cases.map((c) => String(c.key))).size,
    distinctSources: new Set(cases.map((c) => String(c.source))).size,
    inboundDone,
    inboundTotal: inbound.length,
    timelineEntries,
    quarantined,
    apiListedCases: apiListed,
    apiListMs,
    ok: false,
  };
  check.ok = completed
    ? check.cases === n &&
      check.distinctCaseKeys === n &&
      check.distinctSources === n &&
      check.inboundDone === n &&
      check.inboundTotal === n &&
      check.timelineEntries === n &&
      check.quarantined === 0 &&
      check.apiListedCases === n
    : // Cut short mid-batch: up to one batch may be claimed but unfinished, never doubled.
      check.distinctCaseKeys === check.cases &&
      check.distinctSources === check.cases &&
      check.cases >= covered &&
      check.inboundDone <= check.cases &&
      check.cases <= check.inboundTotal &&
      check.inboundTotal <= n &&
      check.quarantined === 0;

  const projected = completed ? null : projectTotalMs(samples, n, tStart);
  const result: BacklogResult = {
    n,
    completed,
    timeLimitS,
    corpus: {
      generateMs: round(generateMs, 0),
      bytes: corpus.sizes,
      byCategory: corpus.byCategory,
      byShape: corpus.byShape,
    },
    load: { ms: round(loadMs, 0), connections, messagesPerS: round((n / loadMs) * 1000, 0) },
    baseline: {
      simpleParserPerS: round(rawRate, 0),
      simpleParserTocsinOptionsPerS: round(rawRateTocsinOpts, 0),
    },
    tocsin: {
      toHealthzMs: round(toHealthzMs, 0),
      toFirstCaseMs: round(firstCase - wallStart, 0),
      elapsedMs: round(elapsedMs, 0),
      coveredMessages: processed,
      messagesPerS: round(rate, 1),
      steadyMessagesPerS: round(steadyRate, 1),
      ratio: round(rate / rawRate, 4),
      steadyRatio: round(steadyRate / rawRate, 4),
      byTenth: throughputByTenth(samples, n),
      projectedTotalS: projected === null ? null : round(projected / 1000, 0),
      peakRssMb: mb(peakRss),
      vmHwmMb: mb(vmHwm),
      sampledPeakRssMb: mb(sampler.peak),
      rssSamples: sampler.samples,
      cpuSeconds: tocsinCpu ?? null,
      ferretDbCpuSeconds:
        ferretCpu0 !== undefined && ferretCpu1 !== undefined ? round(ferretCpu1 - ferretCpu0, 2) : null,
      shutdownMs: round(stopped.ms, 0),
      shutdownCode: stopped.code,
    },
    check,
    suggestions: { byType, agreeWithCorpus: round(agree / Math.max(1, cases.length), 3) },
    targets: {
      ratio: RATIO_TARGET,
      ratioMet: completed && rate / rawRate >= RATIO_TARGET,
      rssMb: RSS_TARGET_BYTES / (1024 * 1024),
      rssMet: peakRss <= RSS_TARGET_BYTES,
    },
    noise: noiseAtStart,
    tocsinLog,
  };
  const problems: string[] = [];
  if (!check.ok) {
    problems.push(
      completed
        ? `the backlog did not end with exactly ${n} cases: ${JSON.stringify(check)}`
        : `duplicates or losses among the ${covered} messages ingested before the time limit: ${JSON.stringify(check)}`,
    );
  }
  // Cut short mid-batch, a shutdown that overruns Tocsin's own 20 s limit is reported, not fatal.
  if (completed && stopped.code !== 0)
    problems.push(`Tocsin exited ${stopped.code} on SIGTERM: ${tocsin.output()}`);
  if (problems.length) throw Object.assign(new Error(problems.join('; ')), { partial: result });
  return result;
}

// ---------------------------------------------------------------------------------------------
// Report

function report(
  latency: LatencyResult | undefined,
  backlog: BacklogResult | undefined,
  errors: string[],
  totalMs: number,
  noiseSeen: ReturnType<NoiseMonitor['stop']>,
): void {
  out('\n=== Tocsin intake benchmark: summary ===');
  const rows: string[][] = [];
  const yes = (met: boolean) => (met ? 'met' : 'MISSED');
  if (latency) {
    const l = latency.latencyMs;
    const b = latency.baselineIdleNotifyMs;
    rows.push(
      [
        `(a) APPEND → visible p50 / p90 / p99 / max`,
        `${ms(l.p50)} / ${ms(l.p90)} / ${ms(l.p99)} / ${ms(l.max)}`,
        `p99 ≤ ${LATENCY_TARGET_P99_MS} ms`,
        yes(latency.p99Met),
      ],
      [
        `    baseline: bare IDLE client told (EXISTS)`,
        `${ms(b.p50)} / ${ms(b.p90)} / ${ms(b.p99)} / ${ms(b.max)}`,
        'floor',
        '',
      ],
      [
        `    Tocsin's share (visible − told)`,
        `${ms(latency.tocsinAfterNotifyMs.p50)} / ${ms(latency.tocsinAfterNotifyMs.p90)} / ${ms(latency.tocsinAfterNotifyMs.p99)} / ${ms(latency.tocsinAfterNotifyMs.max)}`,
        '',
        '',
      ],
    );
  }
  if (backlog) {
    const t = backlog.tocsin;
    const span = backlog.completed
      ? `${round(t.elapsedMs / 1000, 1)} s for ${backlog.n}`
      : `only ${t.coveredMessages}/${backlog.n} in the ${backlog.timeLimitS} s limit`;
    rows.push(
      [`(b) baseline simpleParser (this process)`, `${backlog.baseline.simpleParserPerS} msg/s`, '', ''],
      [`    Tocsin, process start → cursor done`, `${t.messagesPerS} msg/s (${span})`, '', ''],
      [
        `    ratio Tocsin / simpleParser`,
        `${round(t.ratio * 100, 2)} %`,
        `≥ ${RATIO_TARGET * 100} %`,
        yes(backlog.targets.ratioMet),
      ],
      [
        `    Tocsin, first case → last case`,
        `${t.steadyMessagesPerS} msg/s (${round(t.steadyRatio * 100, 2)} %)`,
        '',
        '',
      ],
      [
        `    peak RSS (max of VmHWM, VmRSS samples)`,
        `${t.peakRssMb} MB`,
        `≤ ${backlog.targets.rssMb} MB`,
        yes(backlog.targets.rssMet),
      ],
      backlog.completed
        ? [
            `    cases at the end`,
            `${backlog.check.cases} (API lists ${backlog.check.apiListedCases})`,
            `exactly ${backlog.n}`,
            backlog.check.ok ? 'ok' : 'WRONG',
          ]
        : [
            `    cases when cut short`,
            `${backlog.check.cases}, no duplicates: ${backlog.check.ok ? 'yes' : 'NO'}`,
            `exactly ${backlog.n}`,
            'NOT REACHED',
          ],
    );
    if (t.projectedTotalS !== null) {
      rows.push([
        `    projected time for all ${backlog.n} (extrapolated)`,
        `${round(t.projectedTotalS / 60, 0)} min ≈ ${round(backlog.n / t.projectedTotalS, 2)} msg/s`,
        '',
        '',
      ]);
    }
  }
  if (rows.length) out(table(['figure', 'value', 'target', ''], rows));
  out(`total bench time ${round(totalMs / 1000, 1)} s`);
  if (errors.length) {
    out(`\nBROKEN (${errors.length}):`);
    errors.forEach((e) => out(`  - ${e}`));
  }
  const json = {
    runId: RUN_ID,
    at: new Date().toISOString(),
    machine: { cores: os.cpus().length, node: process.version },
    totalS: round(totalMs / 1000, 1),
    noise: noiseSeen,
    latency,
    backlog,
    errors,
  };
  out(`BENCH_JSON ${JSON.stringify(json)}`);
}

function printLatency(l: LatencyResult): void {
  const row = (name: string, s: Spread) => [name, ms(s.p50), ms(s.p90), ms(s.p99), ms(s.max), ms(s.mean)];
  out(
    table(
      ['from t0 (before APPEND) to…', 'p50', 'p90', 'p99', 'max', 'mean'],
      [
        row('APPEND acknowledged', l.appendAckMs),
        row('IDLE watcher told (baseline)', l.baselineIdleNotifyMs),
        row('Tocsin case written (createdAt)', l.caseWrittenMs),
        row('case visible via the API', l.latencyMs),
        row('  of which after the watcher was told', l.tocsinAfterNotifyMs),
        row('one poll request (round trip)', l.pollRequestMs),
      ],
    ),
  );
  const w = l.baselineIdleNotifyMs;
  note(
    `Dovecot delays IDLE notifications by up to about ${DOVECOT_IDLE_FLOOR_MS} ms (NOTIFY_DELAY_MSECS in its mailbox ` +
      `watcher), which is the floor for any IDLE client; here a bare IDLE client was told after p50 ${ms(w.p50)}, max ${ms(w.max)}.`,
  );
  note(
    `Each IMAP session has its own delay timer, so Tocsin's session can be told before the watcher ` +
      `("after the watcher was told" can be negative). ${l.pollsPerMessage} polls per report on average.`,
  );
  note(
    `${l.claimedAfter400Ms} of ${l.n} reports had their case written over 400 ms after APPEND (Tocsin's session ` +
      `was told late, by Dovecot's notify delay); the others after p50 ${ms(l.claimedWithin400Ms.p50)}, ` +
      `max ${ms(l.claimedWithin400Ms.max)}`,
  );
  note(`cases in the latency database: ${l.casesInDb} (${l.n} + ${l.warmup} warm-up)`);
  l.tocsinLog.forEach((line) => note(line));
}

function printBacklog(b: BacklogResult): void {
  const t = b.tocsin;
  note(
    `start-up: /healthz after ${ms(t.toHealthzMs)}, first case after ${ms(t.toFirstCaseMs)}; ` +
      (b.completed
        ? `cursor done after ${ms(t.elapsedMs)}`
        : `cut short after ${ms(t.elapsedMs)} with ${t.coveredMessages} of ${b.n} covered`),
  );
  note(
    `throughput by tenth of the backlog (cursor order): ` +
      t.byTenth.map((x) => `≤${x.upTo}: ${x.messagesPerS}`).join(', ') +
      ' msg/s',
  );
  if (t.projectedTotalS !== null) {
    note(
      `projection for all ${b.n}: ~${round(t.projectedTotalS / 60, 0)} min, assuming each batch keeps slowing down ` +
        `linearly with the number of stored messages as measured (an extrapolation, not a measurement)`,
    );
  }
  note(
    `CPU used while catching up: Tocsin ${t.cpuSeconds ?? '?'} s, FerretDB ${t.ferretDbCpuSeconds ?? '?'} s ` +
      `(over ${round(t.elapsedMs / 1000, 1)} s wall)`,
  );
  note(
    `RSS: VmHWM ${t.vmHwmMb} MB, sampled VmRSS peak ${t.sampledPeakRssMb} MB (${t.rssSamples} samples at 100 ms)`,
  );
  note(`checks: ${JSON.stringify(b.check)}`);
  note(
    `suggested types ${JSON.stringify(b.suggestions.byType)}; ${round(b.suggestions.agreeWithCorpus * 100, 1)} % as the corpus intended`,
  );
  note(`Tocsin shut down in ${ms(t.shutdownMs)} with exit code ${t.shutdownCode}`);
  b.tocsinLog.forEach((line) => note(line));
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const began = performance.now();
  const errors: string[] = [];
  let latency: LatencyResult | undefined;
  let backlog: BacklogResult | undefined;
  let interrupted = false;
  const monitor = new NoiseMonitor(5000);
  process.once('SIGINT', () => {
    interrupted = true;
    out('\ninterrupted: cleaning up');
    void runCleanups().finally(() => process.exit(130));
  });

  try {
    const latencyN = intEnv('BENCH_LATENCY_N', 200);
    const backlogN = intEnv('BENCH_BACKLOG_N', 5000);
    const warmup = intEnv('BENCH_LATENCY_WARMUP', 3);
    const loaders = Math.max(1, intEnv('BENCH_LOAD_CONNECTIONS', 4));
    const backlogTimeLimitS = Math.max(10, intEnv('BENCH_BACKLOG_TIMEOUT_S', 1800));
    const n0 = noise();
    out(`Tocsin intake benchmark, run ${RUN_ID}: latency N=${latencyN}, backlog N=${backlogN}`);
    note(
      `${n0.cores} cores, load average ${round(n0.load1, 2)}, ${n0.jestProcesses} jest process(es) running` +
        (n0.jestProcesses > 0 ? ': timings may be noisy' : ''),
    );
    const rig = await startRig();
    if (latencyN > 0) {
      try {
        latency = await partLatency(rig, latencyN, warmup);
        printLatency(latency);
      } catch (err) {
        errors.push(`(a) latency: ${(err as Error).stack ?? String(err)}`);
      }
    }
    if (backlogN > 0 && !interrupted) {
      try {
        backlog = await partBacklog(rig, backlogN, loaders, backlogTimeLimitS);
        printBacklog(backlog);
      } catch (err) {
        const partial = (err as { partial?: BacklogResult }).partial;
        if (partial) {
          backlog = partial;
          printBacklog(partial);
        }
        errors.push(`(b) backlog: ${(err as Error).stack ?? String(err)}`);
      }
    }
  } catch (err) {
    errors.push(`setup: ${(err as Error).stack ?? String(err)}`);
  } finally {
    errors.push(...(await runCleanups()));
  }
  const seen = monitor.stop();
  note(
    `noise over the run (sampled every 5 s): jest processes in ${seen.samplesWithJest} of ${seen.samples} samples ` +
      `(max ${seen.maxJestProcesses}), highest 1-minute load average ${seen.maxLoad1} on ${os.cpus().length} cores` +
      (seen.samplesWithJest > 0 ? ': timings may be noisy' : ''),
  );
  report(latency, backlog, errors, performance.now() - began, seen);
  return errors.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
