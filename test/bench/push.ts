/**
 * Part (f) of the benchmark: Web Push, against Tocsin as users run it (server/main.ts in a process
 * of its own, trusting the local push service's throwaway CA through NODE_EXTRA_CA_CERTS) and the
 * local push service of the tests (test/support/push-service.ts) in this process, which checks
 * each push's VAPID signature and decrypts its payload, as a real push service would.
 *
 *   fan-out   one alert to N subscriptions (default 1,000): POST /api/push/test for a member with
 *             N devices, timed until the push service has accepted the last push (target ≤ 2 s),
 *             and until Tocsin answers with every device's result recorded in the database;
 *             baseline: web-push's sendNotification from a process of its own (push-sender.ts)
 *             to N other subscriptions of the same service, as many at a time as Tocsin's pool.
 *   latency   an urgent report APPENDed to the mailbox → the on-call member's push decrypted at
 *             the push service, one report at a time (p50/p99, target p99 ≤ 2 s); baseline: a
 *             bare IMAP IDLE client told of the same message.
 *
 * Env: BENCH_PUSH_FANOUT (1000; 0 skips it), BENCH_PUSH_LATENCY_N (30; 0 skips it).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import webpush from 'web-push';
import { compose } from '../support/mail';
import { ensurePushCertificate } from '../support/push-cert';
import { startPushService, type PushService } from '../support/push-service';
import { runCli } from '../support/tocsin-process';
import { waitFor } from '../support/wait';
import { mapPool } from '../../server/lib/pool';
import { round, spread, table, type Spread } from './stats';
import {
  RUN_ID,
  STEP_TIMEOUT_MS,
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
  onCleanup,
  out,
  sleep,
  tocsinLogSummary,
  waitHttp,
  type Rig,
} from './rig';

export const FANOUT_TARGET_MS = 2000;
export const PUSH_LATENCY_TARGET_P99_MS = 2000;
const POOL = 64;

export interface PushResult {
  fanout?: {
    devices: number;
    /** From asking Tocsin until the push service had accepted the last push. */
    deliveredMs: number;
    /** From asking Tocsin until it answered with every device's result, recorded. */
    answeredMs: number;
    delivered: number;
    rejections: number;
    baselineMs: number;
    met: boolean;
  };
  latency?: {
    n: number;
    latencyMs: Spread;
    baselineIdleNotifyMs: Spread;
    pagesPerReport: number;
    met: boolean;
  };
  tocsinLog: string[];
}

async function call(url: string, token: string, method: string, path: string, body?: unknown) {
  const res = await fetch(url + path, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path} answered ${res.status}: ${text.slice(0, 300)}`);
  return text ? (JSON.parse(text) as unknown) : undefined;
}

/** A lead, through the real CLI, and their token. */
async function createLead(uri: string): Promise<string> {
  const email = `bench-oncall-${RUN_ID}@example.org`;
  const cli = async (args: string[]) => {
    const r = await bounded(runCli(args, { MONGODB_URI: uri }), STEP_TIMEOUT_MS, `tocsin ${args[0]}`);
    if (r.code !== 0) throw new Error(`tocsin ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
    return r.stdout.trim();
  };
  await cli(['user', 'add', email, '--name', 'Bench On Call', '--role', 'lead']);
  return (await cli(['token', 'create', email])).split('\n').pop() ?? '';
}

async function fanout(
  url: string,
  token: string,
  push: PushService,
  n: number,
): Promise<PushResult['fanout']> {
  note(`subscribing ${n} devices of one member`);
  const subs = Array.from({ length: n }, () => push.newSubscription());
  await mapPool(subs, 16, (s) => call(url, token, 'POST', '/api/push/subscriptions', s));
  push.clear();
  // One warm-up push, so that key loading and the first TLS handshakes are not what is timed.
  await call(url, token, 'POST', '/api/push/test');
  push.clear();
  const t0 = Date.now();
  const answer = (await call(url, token, 'POST', '/api/push/test')) as { results: { outcome: string }[] };
  const answeredMs = Date.now() - t0;
  const deliveredMs = lastAcceptedAt(push) - t0;
  const delivered = answer.results.filter((r) => r.outcome === 'delivered').length;
  const rejections = push.rejections.length;
  const baseline = await baselineSender(push, n);
  note(
    `fan-out: the push service had all ${delivered}/${n} ${ms(deliveredMs)} after Tocsin was asked, ` +
      `Tocsin answered after ${ms(answeredMs)}; web-push alone ${ms(baseline.ms)} (${baseline.accepted} accepted)`,
  );
  return {
    devices: n,
    deliveredMs,
    answeredMs,
    delivered,
    rejections,
    baselineMs: baseline.ms,
    met: delivered === n && deliveredMs <= FANOUT_TARGET_MS,
  };
}

/** When the push service answered its last accepted push (epoch ms). */
function lastAcceptedAt(push: PushService): number {
  const accepted = push.attempts.filter((a) => a.status >= 200 && a.status < 300 && a.answeredAt);
  if (!accepted.length) throw new Error('the push service accepted no push');
  return Math.max(...accepted.map((a) => a.answeredAt!.getTime()));
}

/**
 * The library alone, in a process of its own as Tocsin is (test/bench/push-sender.ts), to as many
 * other subscriptions of the same service, as many at a time.
 */
async function baselineSender(push: PushService, n: number): Promise<{ ms: number; accepted: number }> {
  const keys = webpush.generateVAPIDKeys();
  const subscriptions = Array.from({ length: n + 1 }, () =>
    push.newSubscription({ vapidPublicKey: keys.publicKey }),
  );
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'push-sender.ts')], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const stop = onCleanup('stop the baseline push sender', async () => void child.kill());
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  child.stdin.end(JSON.stringify({ subscriptions, pool: POOL, caFile: push.caFile, keys }));
  const code = await bounded(exited, STEP_TIMEOUT_MS, 'the baseline push sender');
  await stop();
  if (code !== 0) throw new Error(`the baseline push sender exited ${code}: ${stderr.trim().slice(0, 500)}`);
  return JSON.parse(stdout.trim()) as { ms: number; accepted: number };
}

export async function partPush(rig: Rig, o: { fanout: number; latencyN: number }): Promise<PushResult> {
  out(`\n(f) Web Push: fan-out to ${o.fanout} devices; APPEND → push, ${o.latencyN} urgent reports`);
  // Tocsin trusts the local push service as it would a real one: through its CA, TLS checks on.
  process.env.NODE_EXTRA_CA_CERTS = ensurePushCertificate().caFile;
  const push = await startPushService();
  onCleanup('stop the push service', () => push.close());
  const uri = databaseUri(rig, `bench_push_${RUN_ID}`);
  const box = await newMailbox(rig, 'bench-push');
  const admin = await createMember(uri, 'push');
  const lead = await createLead(uri);
  const { tocsin } = await launchTocsin(uri, box);
  await waitHttp(tocsin, '/readyz');
  const result: PushResult = { tocsinLog: [] };
  try {
    if (o.fanout > 0) result.fanout = await fanout(tocsin.url, admin, push, o.fanout);
    if (o.latencyN > 0) result.latency = await latency(box, tocsin.url, lead, push, o.latencyN);
  } finally {
    result.tocsinLog = tocsinLogSummary(tocsin);
  }
  return result;
}

async function latency(
  box: Awaited<ReturnType<typeof newMailbox>>,
  url: string,
  lead: string,
  push: PushService,
  n: number,
): Promise<PushResult['latency']> {
  await call(url, lead, 'PATCH', '/api/me/paging', { onCall: true });
  await call(url, lead, 'POST', '/api/push/subscriptions', push.newSubscription());
  push.clear();
  const watcher = await idleWatcher(box, 'the IDLE watcher');
  const appender = imapClient(box);
  await connected(appender, 'the appender');
  await sleep(300);
  const total: number[] = [];
  const t0s: number[] = [];
  for (let i = 0; i < n; i++) {
    const raw = await compose({
      to: box.user,
      from: `Bench Reporter <urgent${i}@example.org>`,
      subject: `URGENT: members portal down for everyone BPUSH-${RUN_ID}-${i}`,
      text: 'Nobody can log in since a few minutes ago.',
    });
    const before = push.deliveries.length;
    const t0 = performance.now();
    const wall0 = Date.now();
    await bounded(appender.append('INBOX', raw), STEP_TIMEOUT_MS, 'APPEND');
    const page = await waitFor(
      'the page',
      () =>
        push.deliveries.slice(before).find((d) => (d.json as { alert?: string })?.alert === 'urgent-case'),
      30_000,
      5,
    );
    total.push(page.at.getTime() - wall0);
    t0s.push(t0);
  }
  await sleep(1500); // any second page would have come by now
  const pages = push.deliveries.filter((d) => (d.json as { alert?: string })?.alert === 'urgent-case').length;
  const notify = t0s.map((t, k) => (watcher.toldAt(k + 1) ?? NaN) - t).filter((v) => !Number.isNaN(v));
  const s = spread(total);
  note(`APPEND → push: p50 ${ms(s.p50)}, p99 ${ms(s.p99)}; ${pages} page(s) for ${n} reports`);
  return {
    n,
    latencyMs: s,
    baselineIdleNotifyMs: spread(notify),
    pagesPerReport: round(pages / n, 2),
    met: s.p99 <= PUSH_LATENCY_TARGET_P99_MS,
  };
}

export function printPush(r: PushResult): void {
  const rows: string[][] = [];
  if (r.fanout) {
    const f = r.fanout;
    rows.push(
      [
        `fan-out to ${f.devices} devices: all accepted by the push service`,
        ms(f.deliveredMs),
        `≤ ${FANOUT_TARGET_MS} ms`,
      ],
      [`  POST /api/push/test answered, results recorded`, ms(f.answeredMs), ''],
      [`  delivered / rejected by the push service`, `${f.delivered} / ${f.rejections}`, `${f.devices} / 0`],
      [`  baseline: web-push alone in its own process, ${POOL} at a time`, ms(f.baselineMs), 'floor'],
    );
  }
  if (r.latency) {
    const l = r.latency;
    rows.push(
      [
        `APPEND → push p50 / p90 / p99 / max`,
        `${ms(l.latencyMs.p50)} / ${ms(l.latencyMs.p90)} / ${ms(l.latencyMs.p99)} / ${ms(l.latencyMs.max)}`,
        `p99 ≤ ${PUSH_LATENCY_TARGET_P99_MS} ms`,
      ],
      [
        `  baseline: bare IDLE client told`,
        `${ms(l.baselineIdleNotifyMs.p50)} / ${ms(l.baselineIdleNotifyMs.p99)}`,
        'floor',
      ],
      [`  pages per report`, String(l.pagesPerReport), 'exactly 1'],
    );
  }
  out(table(['(f) figure', 'value', 'target'], rows));
  r.tocsinLog.forEach((l) => note(l));
}

/** The part's rows in the summary table. */
export function pushSummaryRows(r: PushResult): string[][] {
  const yes = (met: boolean) => (met ? 'met' : 'MISSED');
  const rows: string[][] = [];
  if (r.fanout)
    rows.push(
      [
        `(f) one alert to ${r.fanout.devices} devices`,
        ms(r.fanout.deliveredMs),
        `≤ ${FANOUT_TARGET_MS} ms`,
        yes(r.fanout.met),
      ],
      [`    baseline: web-push alone`, ms(r.fanout.baselineMs), 'floor', ''],
    );
  if (r.latency)
    rows.push(
      [
        `(f) APPEND → push p50 / p99`,
        `${ms(r.latency.latencyMs.p50)} / ${ms(r.latency.latencyMs.p99)}`,
        `p99 ≤ ${PUSH_LATENCY_TARGET_P99_MS} ms`,
        yes(r.latency.met),
      ],
      [
        `    baseline: bare IDLE client told`,
        `${ms(r.latency.baselineIdleNotifyMs.p50)} / ${ms(r.latency.baselineIdleNotifyMs.p99)}`,
        'floor',
        '',
      ],
    );
  return rows;
}
