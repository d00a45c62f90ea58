/**
 * Part (g) of the intake benchmark: the first connection to a mailbox that already holds N
 * messages. The same N messages (composed once) go into a fresh mailbox per mode, over one IMAP
 * connection, with INTERNALDATEs in the past; that fill is not timed. Then a Tocsin process starts
 * on a fresh database with IMAP_HISTORY=archive (each message a case closed as imported history)
 * or IMAP_HISTORY=open (each a New draft case, as new mail is), and the time from its start until
 * its cursor covers the last UID gives messages per second. The cases are counted afterwards.
 */
import { performance } from 'node:perf_hooks';
import type { HistoryMode } from '../../server/intake/store';
import { buildCorpus, type CorpusMessage } from './corpus';
import { fillMailbox, watchFirstConnection } from './first-connect';
import { mb, round } from './stats';
import { RUN_ID, type Rig, databaseUri, ms, newMailbox, note, openDb, out } from './rig';

export type ImportMode = Extract<HistoryMode, 'archive' | 'open'>;
export const IMPORT_MODES: readonly ImportMode[] = ['archive', 'open'];

/** What every case of an import must be: archive, closed as history; open, a New draft. */
const EXPECTED: Record<ImportMode, { status: string; history: boolean }> = {
  archive: { status: 'Closed', history: true },
  open: { status: 'New', history: false },
};

export interface ImportRun {
  mode: ImportMode;
  /** Whether the cursor covered every message within the time limit. */
  completed: boolean;
  fill: { ms: number; msgsPerSec: number };
  /** From spawning Tocsin until its cursor covers the last UID (or until the limit). */
  elapsedMs: number;
  msgsPerSec: number;
  /** From the first connection's history record (written once the folder is listed). */
  fromFirstSyncMs: number | null;
  /** First case created → last case created. */
  steadyMsgsPerSec: number | null;
  toHealthzMs: number | null;
  coveredMessages: number;
  peakRssMb: number;
  vmHwmMb: number;
  cpuSeconds: number | null;
  ferretDbCpuSeconds: number | null;
  check: {
    cases: number;
    /** Cases with the status and history flag the mode asks for. */
    asExpected: number;
    expected: { status: string; history: boolean };
    byStatus: Record<string, number>;
    distinctSources: number;
    inboundDone: number;
    timelineEntries: number;
    quarantined: number;
    ok: boolean;
  };
  shutdownMs: number;
  shutdownCode: number | null;
  tocsinLog: string[];
}

export interface HistoryImportResult {
  n: number;
  timeLimitS: number;
  corpus: { generateMs: number; bytes: { min: number; p50: number; max: number; total: number } };
  archive?: ImportRun;
  open?: ImportRun;
  /** archive msg/s ÷ open msg/s, when both ran. */
  archiveOverOpen: number | null;
  /** What went wrong (the bench fails when this is not empty). */
  problems: string[];
}

async function importOnce(
  rig: Rig,
  mode: ImportMode,
  messages: CorpusMessage[],
  timeLimitS: number,
): Promise<{ run: ImportRun; problems: string[] }> {
  const n = messages.length;
  const box = await newMailbox(rig, `bench-history-${mode}`);
  box.history = { mode };
  const uri = databaseUri(rig, `bench_history_${mode}_${RUN_ID}`);
  const db = await openDb(rig, uri);
  const fillMs = await fillMailbox(box, messages);
  note(`${mode}: filled ${box.user} with ${n} messages over one connection in ${ms(fillMs)} (not timed)`);
  const w = await watchFirstConnection(rig, db, uri, box, n, timeLimitS, mode);

  // Counted once Tocsin has stopped, so nothing moves underneath.
  const expected = EXPECTED[mode];
  const cases = await db
    .collection('cases')
    .find({}, { projection: { status: 1, history: 1, source: 1, createdAt: 1 } })
    .toArray();
  const byStatus: Record<string, number> = {};
  for (const c of cases) byStatus[String(c.status)] = (byStatus[String(c.status)] ?? 0) + 1;
  const asExpected = cases.filter(
    (c) => c.status === expected.status && Boolean(c.history) === expected.history,
  ).length;
  const created = cases.map((c) => (c.createdAt as Date).getTime()).sort((a, b) => a - b);
  const span = (created.at(-1) ?? NaN) - (created[0] ?? NaN);
  const check = {
    cases: cases.length,
    asExpected,
    expected,
    byStatus,
    distinctSources: new Set(cases.map((c) => String(c.source))).size,
    inboundDone: await db.collection('inbound').countDocuments({ state: 'done' }),
    timelineEntries: await db.collection('timeline').countDocuments({}),
    quarantined: await db.collection('quarantine').countDocuments({}),
    ok: false,
  };
  check.ok =
    w.completed &&
    check.cases === n &&
    check.asExpected === n &&
    check.distinctSources === n &&
    check.inboundDone === n &&
    check.quarantined === 0;

  const problems: string[] = [];
  if (w.exitedEarly !== null) problems.push(`${mode}: Tocsin exited ${w.exitedEarly} during the import`);
  else if (!w.completed) {
    problems.push(
      `${mode}: TIME LIMIT: after ${round(w.elapsedMs / 1000, 0)} s (BENCH_HISTORY_TIMEOUT_S=${timeLimitS}) ` +
        `the cursor covered only ${w.covered} of ${n} messages`,
    );
  }
  if (w.completed && !check.ok) {
    problems.push(
      `${mode}: expected exactly ${n} cases, all ${expected.status} with history ${expected.history}; ` +
        `found ${check.cases} (${check.asExpected} as expected): ${JSON.stringify(check)}`,
    );
  }
  if (w.shutdownCode !== 0) problems.push(`${mode}: Tocsin exited ${w.shutdownCode} on SIGTERM`);
  if (problems.length) problems.push(`${mode}: ${w.tocsinLog.map((l) => l.trim()).join(' ')}`);

  const run: ImportRun = {
    mode,
    completed: w.completed,
    fill: { ms: round(fillMs, 0), msgsPerSec: round((n / fillMs) * 1000, 0) },
    elapsedMs: w.elapsedMs,
    msgsPerSec: round((Math.min(w.covered, n) / w.elapsedMs) * 1000, 1),
    fromFirstSyncMs: w.fromFirstSyncMs,
    steadyMsgsPerSec: cases.length > 1 && span > 0 ? round(((cases.length - 1) / span) * 1000, 1) : null,
    toHealthzMs: w.toHealthzMs,
    coveredMessages: Math.min(w.covered, n),
    peakRssMb: mb(w.peakRssBytes),
    vmHwmMb: mb(w.vmHwmBytes),
    cpuSeconds: w.cpuSeconds,
    ferretDbCpuSeconds: w.ferretDbCpuSeconds,
    check,
    shutdownMs: w.shutdownMs,
    shutdownCode: w.shutdownCode,
    tocsinLog: w.tocsinLog,
  };
  return { run, problems };
}

export async function partHistoryImport(
  rig: Rig,
  n: number,
  timeLimitS: number,
): Promise<HistoryImportResult> {
  out(`\n(g) First-connect history import: ${n} messages in the mailbox before Tocsin first connects`);
  const t = performance.now();
  // Addressed to neither mailbox, so that both get the very same bytes.
  const corpus = await buildCorpus(n, RUN_ID, `security-${RUN_ID}@example.test`);
  const generateMs = performance.now() - t;
  const dates = corpus.messages.map((m) => m.date.getTime());
  const day = (t: number) => new Date(t).toISOString().slice(0, 10);
  const senders = new Set(corpus.messages.map((m) => /^From: .*<([^>]+)>/m.exec(m.raw.toString())?.[1]));
  note(
    `composed ${n} messages in ${ms(generateMs)} (${senders.size} senders, total ${mb(corpus.sizes.total)} MB), ` +
      `INTERNALDATEs ${day(Math.min(...dates))} to ${day(Math.max(...dates))}`,
  );
  const result: HistoryImportResult = {
    n,
    timeLimitS,
    corpus: { generateMs: round(generateMs, 0), bytes: corpus.sizes },
    archiveOverOpen: null,
    problems: [],
  };
  for (const mode of IMPORT_MODES) {
    const { run, problems } = await importOnce(rig, mode, corpus.messages, timeLimitS);
    result[mode] = run;
    result.problems.push(...problems);
    printImportRun(run);
  }
  const { archive, open } = result;
  if (archive?.completed && open?.completed) {
    result.archiveOverOpen = round(archive.msgsPerSec / open.msgsPerSec, 3);
  }
  return result;
}

function printImportRun(r: ImportRun): void {
  note(
    `${r.mode}: ` +
      (r.completed ? `caught up after ${ms(r.elapsedMs)}` : `cut short after ${ms(r.elapsedMs)}`) +
      ` from process start (${r.msgsPerSec} msg/s; /healthz after ${r.toHealthzMs ?? '?'} ms; ` +
      `first sync → ${r.completed ? 'caught up' : 'the limit'} ${r.fromFirstSyncMs ?? '?'} ms; first case → last case ${r.steadyMsgsPerSec ?? '?'} msg/s)`,
  );
  note(
    `${r.mode}: peak RSS ${r.peakRssMb} MB (VmHWM ${r.vmHwmMb} MB); CPU Tocsin ${r.cpuSeconds ?? '?'} s, ` +
      `FerretDB ${r.ferretDbCpuSeconds ?? '?'} s; stopped in ${ms(r.shutdownMs)}, exit code ${r.shutdownCode}`,
  );
  note(`${r.mode}: checks ${JSON.stringify(r.check)}`);
}

/** The summary table's rows for (g). */
export function historyImportRows(h: HistoryImportResult): string[][] {
  const rows: string[][] = [];
  for (const mode of IMPORT_MODES) {
    const r = h[mode];
    if (!r) continue;
    const e = r.check.expected;
    rows.push(
      [
        mode === 'archive'
          ? `(g) first-connect history import of ${h.n}, IMAP_HISTORY=archive`
          : `    IMAP_HISTORY=open (New draft cases)`,
        r.completed
          ? `${r.msgsPerSec} msg/s (${round(r.elapsedMs / 1000, 1)} s), peak RSS ${r.peakRssMb} MB`
          : `only ${r.coveredMessages}/${h.n} in the ${h.timeLimitS} s limit`,
        '',
        '',
      ],
      [
        `      cases ${e.status}${e.history ? ', history' : ''}`,
        `${r.check.asExpected} of ${r.check.cases}`,
        `exactly ${h.n}`,
        r.check.ok ? 'ok' : 'WRONG',
      ],
    );
  }
  if (h.archiveOverOpen !== null)
    rows.push([`    archive / open`, `${round(h.archiveOverOpen * 100, 1)} %`, '', '']);
  return rows;
}
