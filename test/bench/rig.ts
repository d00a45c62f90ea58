/** What both parts of the intake benchmark share: output, clean-up, the rig, Tocsin processes. */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ImapFlow } from 'imapflow';
import { newImapClient } from '../support/mail';
import mongoose, { type Connection } from 'mongoose';
import pino from 'pino';
import type { ImapConfig } from '../../server/config';
import { findFerretDb, startFerretDb } from '../../server/db/embedded';
import { addDovecotUser, startDovecot, type DovecotRig } from '../support/dovecot';
import { imapEnv, runCli, startTocsin, type TocsinProcess } from '../support/tocsin-process';
import { waitFor } from '../support/wait';
import { pidsWithCmdline } from './proc';
import { round } from './stats';

// ---------------------------------------------------------------------------------------------
// Output, options, clean-up

export const out = (line = '') => void process.stdout.write(line + '\n');
export const note = (line: string) => out(`  ${line}`);
export const ms = (v: number) => `${round(v, 0)} ms`;
export const sleep = (t: number) => new Promise<void>((r) => setTimeout(r, t));

export function intEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a whole number ≥ 0 (got ${raw})`);
  return n;
}

export const RUN_ID = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
export const LATENCY_TARGET_P99_MS = 1000;
export const RATIO_TARGET = 0.5;
export const RSS_TARGET_BYTES = 300 * 1024 * 1024;
export const DOVECOT_IDLE_FLOOR_MS = 500;
export const LATENCY_POLL_MS = 5;
export const LATENCY_TIMEOUT_MS = 30_000;
export const STEP_TIMEOUT_MS = 60_000;

export interface Cleanup {
  what: string;
  fn: () => Promise<unknown>;
}
export const cleanups: Cleanup[] = [];

/** Registers a clean-up step (run last-in, first-out); returns a function that runs it now. */
export function onCleanup(what: string, fn: () => Promise<unknown>): () => Promise<void> {
  const entry = { what, fn };
  cleanups.push(entry);
  return async () => {
    const i = cleanups.indexOf(entry);
    if (i === -1) return;
    cleanups.splice(i, 1);
    await bounded(entry.fn(), 45_000, entry.what);
  };
}

export async function runCleanups(): Promise<string[]> {
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
export async function bounded<T>(p: Promise<T>, timeoutMs: number, what: string): Promise<T> {
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

export interface Rig {
  baseUri: string;
  externalDb: boolean;
  ferretPid?: number;
  dovecot: DovecotRig;
}

export async function startRig(): Promise<Rig> {
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

export function databaseUri(rig: Rig, name: string): string {
  const uri = new URL(rig.baseUri);
  uri.pathname = `/${name}`;
  return uri.toString();
}

/** A database connection of the bench's own (for reading progress), dropped afterwards if external. */
export async function openDb(rig: Rig, uri: string): Promise<Connection> {
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

export async function newMailbox(rig: Rig, prefix: string): Promise<ImapConfig> {
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
    // What a test puts in a fresh mailbox is new mail to it, not the mailbox's history.
    history: { mode: 'open' },
    maxMessageBytes: 25 * 1024 * 1024,
    leaseSeconds: 30,
  };
}

/** `tocsin user add` and `tocsin token create`, through the real CLI; returns the token. */
export async function createMember(uri: string, label: string): Promise<string> {
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

export function imapClient(box: ImapConfig, extra: { autoIdleDelay?: number } = {}): ImapFlow {
  const client = newImapClient(box, extra);
  client.on('error', (err: Error) => process.stderr.write(`bench IMAP client error: ${err.message}\n`));
  return client;
}

/** Connects an IMAP client and registers its logout for clean-up (before Dovecot stops). */
export async function connected(client: ImapFlow, what: string): Promise<() => Promise<void>> {
  await bounded(client.connect(), STEP_TIMEOUT_MS, `connect ${what}`);
  return onCleanup(`log out ${what}`, async () => {
    await bounded(client.logout(), 10_000, 'logout').catch(() => client.close());
  });
}

/**
 * The baseline of the latency parts: a bare IMAP client in IDLE on the mailbox, as Tocsin's poller
 * is. `toldAt(k)` is when it learnt of the k-th message (performance.now()); a session may be told
 * of two at once, and then the first EXISTS ≥ k counts for k.
 */
export async function idleWatcher(box: ImapConfig, what: string) {
  const existsAt = new Map<number, number>();
  const watcher = imapClient(box, { autoIdleDelay: 50 });
  watcher.on('exists', (e: { count: number; prevCount: number }) => {
    const now = performance.now();
    for (let k = e.prevCount + 1; k <= e.count; k++) if (!existsAt.has(k)) existsAt.set(k, now);
  });
  const logout = await connected(watcher, what);
  await watcher.mailboxOpen('INBOX');
  return { toldAt: (k: number) => existsAt.get(k), logout };
}

export interface Started {
  tocsin: TocsinProcess;
  stop: () => Promise<{ code: number | null; ms: number }>;
}

/** Starts server/main.ts as users run it; stopping (SIGTERM, then SIGKILL after 30 s) is registered. */
export async function launchTocsin(uri: string, box: ImapConfig): Promise<Started> {
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

export async function waitHttp(
  tocsin: TocsinProcess,
  pathname: string,
  timeoutMs = STEP_TIMEOUT_MS,
): Promise<void> {
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

export interface CaseJson {
  key: string;
  subject: string;
}

export async function api<T>(tocsin: TocsinProcess, token: string, pathname: string): Promise<T> {
  const res = await fetch(tocsin.url + pathname, { headers: { authorization: `Bearer ${token}` } });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET ${pathname} answered ${res.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

export function tocsinLogSummary(tocsin: TocsinProcess): string[] {
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

let ownDatabase: Promise<string> | undefined;

/**
 * The database server the parts that need only a database use: the rig's, MONGODB_URI, or a
 * FerretDB of the bench's own, started once and shared by every such part.
 */
export function databaseBase(rigUri: string | undefined): Promise<string> {
  const given = rigUri ?? process.env.MONGODB_URI;
  if (given) return Promise.resolve(given);
  return (ownDatabase ??= (async () => {
    const log = pino({ level: 'warn' });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tocsin-bench-db-'));
    onCleanup('remove the FerretDB temp dir', async () => fs.rmSync(dir, { recursive: true, force: true }));
    const db = await startFerretDb(dir, await findFerretDb(log, true), log);
    onCleanup('stop FerretDB', () => db.stop());
    note(`FerretDB (SQLite, ${dir}) on ${db.uri}`);
    return db.uri;
  })());
}
