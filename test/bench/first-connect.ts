/**
 * The mechanics of part (g): fill a mailbox before Tocsin has ever seen it, then start a Tocsin
 * process on it and watch its durable cursor until it covers the last UID, within a time limit,
 * with the process's memory and CPU (and FerretDB's CPU) over that time.
 */
import { performance } from 'node:perf_hooks';
import type { Connection } from 'mongoose';
import type { ImapConfig } from '../../server/config';
import { lastUid } from '../support/mail';
import type { CorpusMessage } from './corpus';
import { cpuSeconds, procStatusBytes, RssSampler } from './proc';
import { mb, round } from './stats';
import {
  LATENCY_TIMEOUT_MS,
  type Rig,
  bounded,
  connected,
  imapClient,
  launchTocsin,
  note,
  sleep,
  tocsinLogSummary,
  waitHttp,
} from './rig';

const PROGRESS_EVERY_MS = 15_000;

/** APPENDs every message over one connection, each with its own (past) INTERNALDATE; returns ms. */
export async function fillMailbox(box: ImapConfig, messages: CorpusMessage[]): Promise<number> {
  const t = performance.now();
  const client = imapClient(box);
  const logout = await connected(client, `the ${box.user} filler`);
  for (const { raw, date } of messages) {
    await bounded(client.append(box.mailbox, raw, [], date), LATENCY_TIMEOUT_MS, 'APPEND');
  }
  await logout();
  const uid = await bounded(lastUid(box), LATENCY_TIMEOUT_MS, 'STATUS');
  if (uid !== messages.length) {
    throw new Error(`the mailbox's last UID is ${uid} after the fill, not ${messages.length}`);
  }
  return performance.now() - t;
}

export interface Watched {
  /** Whether the cursor covered UID `n` within the limit. */
  completed: boolean;
  covered: number;
  /** Spawn → caught up (or → the limit). */
  elapsedMs: number;
  /** The first connection's history record (written once the folder is listed) → caught up. */
  fromFirstSyncMs: number | null;
  toHealthzMs: number | null;
  peakRssBytes: number;
  vmHwmBytes: number;
  cpuSeconds: number | null;
  ferretDbCpuSeconds: number | null;
  /** Non-null when Tocsin exited by itself before catching up. */
  exitedEarly: number | null;
  shutdownMs: number;
  shutdownCode: number | null;
  tocsinLog: string[];
}

/** Starts Tocsin on `box` and `uri`, waits (bounded) until its cursor covers UID `n`, stops it. */
export async function watchFirstConnection(
  rig: Rig,
  db: Connection,
  uri: string,
  box: ImapConfig,
  n: number,
  timeLimitS: number,
  label: string,
): Promise<Watched> {
  const cursorId = `imap:${box.user}@${box.host}:${box.port}/${box.mailbox}`;
  const cursors = db.collection<{ _id: string; lastUid?: number; history?: { at?: Date } }>('mail_cursors');
  const ferretCpu = () => (rig.ferretPid ? cpuSeconds(rig.ferretPid) : undefined);
  const ferretCpu0 = ferretCpu();
  const tStart = performance.now();
  const { tocsin, stop } = await launchTocsin(uri, box);
  const sampler = new RssSampler(tocsin.pid, 100);
  let toHealthzMs: number | null = null;
  const healthz = waitHttp(tocsin, '/healthz').then(
    () => void (toHealthzMs = round(performance.now() - tStart, 0)),
    () => undefined,
  );
  const deadline = tStart + timeLimitS * 1000;
  let covered = 0;
  let firstSyncAt: Date | undefined;
  let nextProgress = tStart + PROGRESS_EVERY_MS;
  while (covered < n && performance.now() < deadline && tocsin.child.exitCode === null) {
    await sleep(100);
    const cursor = await cursors.findOne({ _id: cursorId }).catch(() => null);
    covered = cursor?.lastUid ?? 0;
    firstSyncAt ??= cursor?.history?.at;
    if (covered < n && performance.now() >= nextProgress) {
      nextProgress += PROGRESS_EVERY_MS;
      const s = round((performance.now() - tStart) / 1000, 0);
      note(
        `${label}: ${s} s, cursor at ${covered}/${n}, RSS ${mb(procStatusBytes(tocsin.pid, 'VmRSS') ?? 0)} MB`,
      );
    }
  }
  const elapsedMs = performance.now() - tStart;
  const caughtUpAt = Date.now();
  const vmHwmBytes = procStatusBytes(tocsin.pid, 'VmHWM') ?? 0;
  sampler.stop();
  const tocsinCpu = cpuSeconds(tocsin.pid);
  const ferretCpu1 = ferretCpu();
  const exitedEarly = tocsin.child.exitCode;
  await healthz;
  const tocsinLog = tocsinLogSummary(tocsin);
  const stopped = await stop();
  return {
    completed: covered >= n,
    covered,
    elapsedMs: round(elapsedMs, 0),
    fromFirstSyncMs: firstSyncAt ? caughtUpAt - new Date(firstSyncAt).getTime() : null,
    toHealthzMs,
    peakRssBytes: Math.max(vmHwmBytes, sampler.peak),
    vmHwmBytes,
    cpuSeconds: tocsinCpu ?? null,
    ferretDbCpuSeconds:
      ferretCpu0 !== undefined && ferretCpu1 !== undefined ? round(ferretCpu1 - ferretCpu0, 2) : null,
    exitedEarly,
    shutdownMs: round(stopped.ms, 0),
    shutdownCode: stopped.code,
    tocsinLog,
  };
}
