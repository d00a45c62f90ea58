/** Part (a) of the intake benchmark: APPEND → case visible through the API. */
import { performance } from 'node:perf_hooks';
import { compose } from '../support/mail';
import { waitFor } from '../support/wait';
import { noise } from './proc';
import { round, spread, table, type Spread } from './stats';
import {
  type CaseJson,
  DOVECOT_IDLE_FLOOR_MS,
  LATENCY_POLL_MS,
  LATENCY_TARGET_P99_MS,
  LATENCY_TIMEOUT_MS,
  RUN_ID,
  type Rig,
  api,
  bounded,
  connected,
  createMember,
  databaseUri,
  idleWatcher,
  imapClient,
  launchTocsin,
  ms,
  newMailbox,
  note,
  openDb,
  out,
  sleep,
  tocsinLogSummary,
  waitHttp,
} from './rig';
export interface LatencyResult {
  n: number;
  warmup: number;
  latencyMs: Spread;
  baselineIdleNotifyMs: Spread;
  tocsinAfterNotifyMs: Spread;
  appendAckMs: Spread;
  caseWrittenMs: Spread;
  pollRequestMs: Spread;
  pollsPerMessage: number;
  /** Reports whose case was written over 400 ms after APPEND: Tocsin's session waited out Dovecot's notify delay. */
  writtenAfter400Ms: number;
  /** The other reports: when their case was written. */
  writtenWithin400Ms: Spread;
  casesInDb: number;
  p99TargetMs: number;
  p99Met: boolean;
  noise: ReturnType<typeof noise>;
  tocsinLog: string[];
}

export async function partLatency(rig: Rig, n: number, warmup: number): Promise<LatencyResult> {
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

  const watcher = await idleWatcher(box, 'the IDLE watcher');
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
  await waitFor('the IDLE watcher to see every message', () => watcher.toldAt(warmup + n), 10_000).catch(
    () => undefined,
  );
  const notify = t0s.map((t, k) => (watcher.toldAt(warmup + k + 1) ?? NaN) - t.perf);

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

  const tocsinLog = tocsinLogSummary(tocsin);
  await logoutAppender();
  await watcher.logout();
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
    caseWrittenMs: spread(written),
    pollRequestMs: spread(pollRtt),
    pollsPerMessage: round(polls / Math.max(1, n), 1),
    writtenAfter400Ms: written.filter((v) => v > 400).length,
    writtenWithin400Ms: spread(written.filter((v) => v <= 400)),
    casesInDb: cases.length,
    p99TargetMs: LATENCY_TARGET_P99_MS,
    p99Met: latencyMs.p99 <= LATENCY_TARGET_P99_MS,
    noise: noiseAtStart,
    tocsinLog,
  };
}

export function printLatency(l: LatencyResult): void {
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
    `${l.writtenAfter400Ms} of ${l.n} reports had their case written over 400 ms after APPEND (Tocsin's session ` +
      `was told late, by Dovecot's notify delay); the others after p50 ${ms(l.writtenWithin400Ms.p50)}, ` +
      `max ${ms(l.writtenWithin400Ms.max)}`,
  );
  note(`cases in the latency database: ${l.casesInDb} (${l.n} + ${l.warmup} warm-up)`);
  l.tocsinLog.forEach((line) => note(line));
}
