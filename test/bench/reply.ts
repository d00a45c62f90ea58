/**
 * Part (c) of the benchmark: a reporter's reply arrives (APPEND of a message whose In-Reply-To
 * names their report) → the reply is on the case's timeline through GET /api/cases/:key.
 * Baseline: when a bare IMAP IDLE client on the same mailbox is told of the same message.
 */
import { performance } from 'node:perf_hooks';
import { compose } from '../support/mail';
import { parseMessage } from '../../server/mail/parse';
import { spread, table, type Spread } from './stats';
import {
  type CaseJson,
  LATENCY_POLL_MS,
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
  out,
  sleep,
  waitHttp,
} from './rig';

export interface ReplyResult {
  n: number;
  latencyMs: Spread;
  /** When Tocsin wrote the reply (the case's updatedAt moves with a new entry). */
  writtenMs: Spread;
  pollRequestMs: Spread;
  baselineIdleNotifyMs: Spread;
  threadedByHeaders: number;
}

interface TimelineJson {
  updatedAt: string;
  timeline: { email?: { messageId?: string; thread?: { by: string } } }[];
}

export async function partReply(rig: Rig, n: number): Promise<ReplyResult> {
  out(`\n(c) Reply threading: reporter's reply APPENDed → on the case's timeline via the API (${n} replies)`);
  const uri = databaseUri(rig, `bench_reply_${RUN_ID}`);
  const box = await newMailbox(rig, 'bench-reply');
  const token = await createMember(uri, 'reply');
  const { tocsin, stop } = await launchTocsin(uri, box);
  await waitHttp(tocsin, '/readyz');

  const appender = imapClient(box);
  const logoutAppender = await connected(appender, 'the reply appender');
  const watcher = await idleWatcher(box, 'the reply IDLE watcher');

  // The reports first, one per reporter, each with its case.
  const reports: { key: string; messageId: string; marker: string; from: string }[] = [];
  for (let i = 0; i < n; i++) {
    const marker = `BREP-${RUN_ID}-${i}`;
    const from = `reporter${i}-${RUN_ID}@example.org`;
    const raw = await compose({
      to: box.user,
      from,
      subject: `VPN drops every hour ${marker}`,
      text: 'It drops.',
    });
    await bounded(appender.append('INBOX', raw), LATENCY_TIMEOUT_MS, 'APPEND');
    reports.push({ key: '', messageId: (await parseMessage(raw)).messageId!, marker, from });
  }
  for (const r of reports) {
    const deadline = performance.now() + LATENCY_TIMEOUT_MS;
    while (!r.key) {
      const body = await api<{ cases: CaseJson[] }>(tocsin, token, `/api/cases?q=${r.marker}&limit=2`);
      r.key = body.cases[0]?.key ?? '';
      if (!r.key && performance.now() > deadline) throw new Error(`no case for ${r.marker}`);
      if (!r.key) await sleep(50);
    }
  }
  await sleep(300);

  const total: number[] = [];
  const notify: number[] = [];
  const written: number[] = [];
  const pollRtt: number[] = [];
  let byHeaders = 0;
  for (const [i, r] of reports.entries()) {
    const raw = await compose({
      to: box.user,
      from: r.from,
      subject: 'Re: VPN drops every hour',
      inReplyTo: r.messageId,
      references: [r.messageId],
      text: `It happened again at 10:00. ${r.marker}`,
    });
    const replyId = (await parseMessage(raw)).messageId;
    const t0 = performance.now();
    const wall0 = Date.now();
    await bounded(appender.append('INBOX', raw), LATENCY_TIMEOUT_MS, 'APPEND');
    for (;;) {
      const sent = performance.now();
      const c = await api<TimelineJson>(tocsin, token, `/api/cases/${r.key}`);
      pollRtt.push(performance.now() - sent);
      const entry = c.timeline.find((e) => e.email?.messageId === replyId);
      if (entry) {
        total.push(performance.now() - t0);
        written.push(new Date(c.updatedAt).getTime() - wall0);
        if (entry.email?.thread?.by === 'headers') byHeaders++;
        break;
      }
      if (performance.now() - t0 > LATENCY_TIMEOUT_MS) throw new Error(`reply ${i} never threaded`);
      await sleep(LATENCY_POLL_MS);
    }
    notify.push((watcher.toldAt(n + i + 1) ?? NaN) - t0);
    if ((i + 1) % 50 === 0 || i + 1 === n) note(`${i + 1}/${n}: p50 ${ms(spread(total).p50)}`);
  }

  await logoutAppender();
  await watcher.logout();
  const stopped = await stop();
  if (stopped.code !== 0) throw new Error(`Tocsin exited ${stopped.code} on SIGTERM: ${tocsin.output()}`);
  return {
    n,
    latencyMs: spread(total),
    writtenMs: spread(written),
    pollRequestMs: spread(pollRtt),
    baselineIdleNotifyMs: spread(notify),
    threadedByHeaders: byHeaders,
  };
}

export function printReply(r: ReplyResult): void {
  const row = (name: string, s: Spread) => [name, ms(s.p50), ms(s.p90), ms(s.p99), ms(s.max)];
  out(
    table(
      ['from t0 (before APPEND of the reply) to…', 'p50', 'p90', 'p99', 'max'],
      [
        row('IDLE watcher told (baseline)', r.baselineIdleNotifyMs),
        row('Tocsin wrote it (case updatedAt)', r.writtenMs),
        row('reply on the timeline via the API', r.latencyMs),
        row('one GET /api/cases/:key (round trip)', r.pollRequestMs),
      ],
    ),
  );
  note(`${r.threadedByHeaders} of ${r.n} replies threaded by their In-Reply-To header (all should)`);
}
