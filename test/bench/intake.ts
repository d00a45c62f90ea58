/**
 * Tocsin intake benchmark (`npm run bench`). It starts its own Dovecot and FerretDB (or uses
 * MONGODB_URI), runs real Tocsin processes (server/main.ts, as users run it), and prints figures
 * next to a baseline measured in the same run. Timings are reported, never asserted: the exit code
 * is non-zero only when something broke.
 *
 *   (a) latency: APPEND → case visible through GET /api/cases?q=…, one report at a time;
 *       baseline: when a bare IMAP IDLE client in this process is told of the same message.
 *   (c) reply threading: a reporter's reply APPENDed → on its case's timeline through the API;
 *       baseline: the same bare IDLE client. (Printed after (a), run before (b).)
 *   (b) backlog: N reports already in the mailbox when Tocsin starts; time until its cursor covers
 *       them all, peak RSS; baseline: mailparser's simpleParser over the same bytes, here.
 *   (d) register: GET /api/cases at 10,000 cases from 50 concurrent clients, p50/p99 (target
 *       p99 ≤ 25 ms); baselines: GET /healthz under the same load, and listCases() called directly.
 *       It needs only a database: when it runs alone, no Dovecot is started (register.ts).
 *   (e) PWA: the first screen's JavaScript gzipped (target ≤ 60 KB), baseline Preact's own runtime;
 *       Lighthouse in mobile emulation on the sign-in screen and the signed-in inbox, performance
 *       and accessibility (targets ≥ 95 and 100), baseline a one-line static page (pwa.ts).
 *   (f) push: one alert to 1,000 devices (target ≤ 2 s) beside web-push alone, and APPEND of an
 *       urgent report → the on-call member's push (p99 ≤ 2 s) beside a bare IDLE client (push.ts).
 *   (g) history import: N messages in a fresh mailbox before Tocsin first connects, read once with
 *       IMAP_HISTORY=archive (closed history cases) and once with open (New cases), each on a fresh
 *       mailbox and database; messages/s from process start to caught up, peak RSS (history.ts).
 *
 * Env: BENCH_LATENCY_N (default 200), BENCH_REPLY_N (default 100), BENCH_BACKLOG_N (default 5000),
 *      BENCH_REGISTER_N (default 5000, and the other BENCH_REGISTER_* of register.ts); 0 skips a part.
 *      BENCH_PWA=0 skips (e) (and BENCH_PWA_RUNS, BENCH_PWA_CASES, BENCH_PWA_TIMEOUT_S of pwa.ts).
 *      BENCH_PUSH_FANOUT (1000) and BENCH_PUSH_LATENCY_N (30) for (f); 0 and 0 skip it.
 *      BENCH_HISTORY_N (default 5000; 0 skips (g)), BENCH_HISTORY_TIMEOUT_S (default 300, per mode):
 *      a mode that does not catch up in time fails the bench.
 *      Only one part: set the others' N to 0 and BENCH_PWA=0, e.g. (f):
 *      BENCH_LATENCY_N=0 BENCH_REPLY_N=0 BENCH_BACKLOG_N=0 BENCH_REGISTER_N=0 BENCH_PWA=0 npm run bench
 *      BENCH_LATENCY_WARMUP (default 3), BENCH_LOAD_CONNECTIONS (default 4), MONGODB_URI (optional),
 *      BENCH_BACKLOG_TIMEOUT_S (default 1800): how long Tocsin gets for the backlog. A run cut short
 *      still reports its rate, throughput curve and an extrapolation, as a missed target, not a failure
 *      (unless nothing at all was ingested, or something was doubled or lost).
 *      BENCH_TOCSIN_NODE_OPTIONS: NODE_OPTIONS for the Tocsin processes (e.g. --require a profiler hook).
 *
 * `npm run bench -- --json FILE` also writes the figures (the BENCH_JSON line) to FILE.
 */
import fs from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { noise, NoiseMonitor } from './proc';
import { round, table } from './stats';
import {
  LATENCY_TARGET_P99_MS,
  RATIO_TARGET,
  RUN_ID,
  intEnv,
  ms,
  note,
  out,
  runCleanups,
  startRig,
} from './rig';
import { partLatency, printLatency, type LatencyResult } from './latency';
import { partBacklog, printBacklog, type BacklogResult } from './backlog';
import { partReply, printReply, type ReplyResult } from './reply';
import { REGISTER_TARGET_P99_MS, partRegister, printRegister, type RegisterResult } from './register';
import { partPwa, printPwa, type PageFigures, type PwaResult } from './pwa';
import { partPush, printPush, pushSummaryRows, type PushResult } from './push';
import { historyImportRows, partHistoryImport, type HistoryImportResult } from './history';

/** `--json FILE`: where to write the figures as well (undefined when not asked). */
function jsonFileArg(argv: string[]): string | undefined {
  const at = argv.indexOf('--json');
  if (at === -1) return undefined;
  const file = argv[at + 1];
  if (!file || file.startsWith('--')) throw new Error('--json needs a file name');
  return file;
}

/** What each part measured; undefined for a part that did not run. */
interface Parts {
  latency: LatencyResult | undefined;
  reply: ReplyResult | undefined;
  backlog: BacklogResult | undefined;
  register: RegisterResult | undefined;
  pwa: PwaResult | undefined;
  push: PushResult | undefined;
  historyImport: HistoryImportResult | undefined;
}

function report(
  parts: Parts,
  errors: string[],
  totalMs: number,
  noiseSeen: ReturnType<NoiseMonitor['stop']>,
): object {
  const { latency, reply, backlog, register, pwa, push, historyImport } = parts;
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
  if (reply) {
    const r = reply.latencyMs;
    const b = reply.baselineIdleNotifyMs;
    rows.push(
      [
        `(c) reply APPEND → on the timeline p50 / p90 / p99 / max`,
        `${ms(r.p50)} / ${ms(r.p90)} / ${ms(r.p99)} / ${ms(r.max)}`,
        '',
        '',
      ],
      [
        `    baseline: bare IDLE client told (EXISTS)`,
        `${ms(b.p50)} / ${ms(b.p90)} / ${ms(b.p99)} / ${ms(b.max)}`,
        'floor',
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
  if (historyImport) rows.push(...historyImportRows(historyImport));
  if (register) {
    const row = (what: string, s: { p50: number; p99: number; max: number }, perS: number, unit = 'req/s') =>
      `${ms(s.p50)} / ${ms(s.p99)} / ${ms(s.max)}, ${perS} ${unit}`;
    const h = register.http;
    rows.push(
      [
        `(d) GET /api/cases at ${register.cases} cases, ${register.clients} clients p50 / p99 / max`,
        row('', h.api.latencyMs, h.api.perS),
        `p99 ≤ ${REGISTER_TARGET_P99_MS} ms`,
        yes(register.p99Met),
      ],
      [`    ?status=Triage`, row('', h.triage.latencyMs, h.triage.perS), '', ''],
      [`    ?q=…`, row('', h.search.latencyMs, h.search.perS), '', ''],
      [`    baseline: GET /healthz`, row('', h.healthz.latencyMs, h.healthz.perS), 'floor', ''],
      [
        `    baseline: listCases() direct, ${register.clients} at a time`,
        row('', register.db.api.latencyMs, register.db.api.perS, 'calls/s'),
        'no HTTP',
        '',
      ],
    );
  }
  if (pwa) {
    const kb = (bytes: number) => `${round(bytes / 1024, 1)} KB`;
    const f = pwa.firstScreen;
    const scores = (p: PageFigures) => `${p.median.performance} / ${p.median.accessibility}`;
    const metrics = (p: PageFigures) =>
      `${ms(p.median.fcpMs)} / ${ms(p.median.lcpMs)} / ${ms(p.median.tbtMs)} / ${p.median.cls}`;
    const targets = `≥ ${pwa.targets.performance} / ${pwa.targets.accessibility}`;
    const both = (m: { performance: boolean; accessibility: boolean }) =>
      yes(m.performance && m.accessibility);
    rows.push(
      [
        `(e) first-screen JavaScript, gzipped (${f.files.length} file(s))`,
        `${kb(f.gzipBytes)} (raw ${kb(f.bytes)})`,
        `≤ ${kb(f.budgetBytes)}`,
        yes(f.met),
      ],
      [`    baseline: Preact + hooks runtime, gzipped`, kb(pwa.preact.gzipBytes), 'floor', ''],
      [
        `    Lighthouse sign-in: performance / accessibility`,
        scores(pwa.pages.signIn),
        targets,
        both(pwa.met.signIn),
      ],
      [`      FCP / LCP / TBT / CLS`, metrics(pwa.pages.signIn), '', ''],
      [
        `    Lighthouse inbox (signed in): performance / accessibility`,
        scores(pwa.pages.inbox),
        targets,
        both(pwa.met.inbox),
      ],
      [`      FCP / LCP / TBT / CLS`, metrics(pwa.pages.inbox), '', ''],
      [`    baseline: static one-line page`, scores(pwa.pages.staticPage), 'best here', ''],
      [`      FCP / LCP / TBT / CLS`, metrics(pwa.pages.staticPage), '', ''],
    );
  }
  if (push) rows.push(...pushSummaryRows(push));
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
    ...parts,
    errors,
  };
  out(`BENCH_JSON ${JSON.stringify(json)}`);
  return json;
}

async function main(): Promise<number> {
  const began = performance.now();
  const errors: string[] = [];
  let latency: LatencyResult | undefined;
  let reply: ReplyResult | undefined;
  let backlog: BacklogResult | undefined;
  let register: RegisterResult | undefined;
  let pwa: PwaResult | undefined;
  let push: PushResult | undefined;
  let historyImport: HistoryImportResult | undefined;
  const jsonFile = jsonFileArg(process.argv.slice(2));
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
    const replyN = intEnv('BENCH_REPLY_N', 100);
    const warmup = intEnv('BENCH_LATENCY_WARMUP', 3);
    const loaders = Math.max(1, intEnv('BENCH_LOAD_CONNECTIONS', 4));
    const backlogTimeLimitS = Math.max(10, intEnv('BENCH_BACKLOG_TIMEOUT_S', 1800));
    const registerN = intEnv('BENCH_REGISTER_N', 5000);
    const pwaOn = process.env.BENCH_PWA !== '0';
    const pushFanout = intEnv('BENCH_PUSH_FANOUT', 1000);
    const pushLatencyN = intEnv('BENCH_PUSH_LATENCY_N', 30);
    const historyN = intEnv('BENCH_HISTORY_N', 5000);
    const n0 = noise();
    out(
      `Tocsin intake benchmark, run ${RUN_ID}: latency N=${latencyN}, backlog N=${backlogN}, ` +
        `history N=${historyN}, register N=${registerN}, PWA ${pwaOn ? 'on' : 'off'}`,
    );
    note(
      `${n0.cores} cores, load average ${round(n0.load1, 2)}, ${n0.jestProcesses} jest process(es) running` +
        (n0.jestProcesses > 0 ? ': timings may be noisy' : ''),
    );
    // Dovecot and the shared database only when a mail part runs; (d) needs only a database.
    const mail =
      latencyN > 0 || replyN > 0 || backlogN > 0 || historyN > 0 || pushFanout > 0 || pushLatencyN > 0;
    const rig = mail ? await startRig() : undefined;
    if (rig && latencyN > 0) {
      try {
        latency = await partLatency(rig, latencyN, warmup);
        printLatency(latency);
      } catch (err) {
        errors.push(`(a) latency: ${(err as Error).stack ?? String(err)}`);
      }
    }
    if (rig && replyN > 0 && !interrupted) {
      try {
        reply = await partReply(rig, replyN);
        printReply(reply);
      } catch (err) {
        errors.push(`(c) reply: ${(err as Error).stack ?? String(err)}`);
      }
    }
    if (rig && backlogN > 0 && !interrupted) {
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
    if (rig && historyN > 0 && !interrupted) {
      try {
        const limitS = Math.max(10, intEnv('BENCH_HISTORY_TIMEOUT_S', 300));
        historyImport = await partHistoryImport(rig, historyN, limitS);
        errors.push(...historyImport.problems.map((p) => `(g) history import: ${p}`));
      } catch (err) {
        errors.push(`(g) history import: ${(err as Error).stack ?? String(err)}`);
      }
    }
    if (registerN > 0 && !interrupted) {
      try {
        register = await partRegister(rig?.baseUri, {
          requests: registerN,
          cases: Math.max(100, intEnv('BENCH_REGISTER_CASES', 10_000)),
          clients: Math.max(1, intEnv('BENCH_REGISTER_CLIENTS', 50)),
          warmup: intEnv('BENCH_REGISTER_WARMUP', 200),
          filteredRequests: intEnv('BENCH_REGISTER_FILTERED_N', 1000),
          timeLimitS: Math.max(10, intEnv('BENCH_REGISTER_TIMEOUT_S', 90)),
        });
        printRegister(register);
      } catch (err) {
        errors.push(`(d) register: ${(err as Error).stack ?? String(err)}`);
      }
    }
    if (rig && (pushFanout > 0 || pushLatencyN > 0) && !interrupted) {
      try {
        push = await partPush(rig, { fanout: pushFanout, latencyN: pushLatencyN });
        printPush(push);
      } catch (err) {
        errors.push(`(f) push: ${(err as Error).stack ?? String(err)}`);
      }
    }
    if (pwaOn && !interrupted) {
      try {
        pwa = await partPwa(rig?.baseUri, {
          runs: Math.max(1, intEnv('BENCH_PWA_RUNS', 3)),
          cases: Math.max(1, intEnv('BENCH_PWA_CASES', 12)),
          timeLimitS: Math.max(30, intEnv('BENCH_PWA_TIMEOUT_S', 120)),
        });
        printPwa(pwa);
      } catch (err) {
        errors.push(`(e) PWA: ${(err as Error).stack ?? String(err)}`);
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
  const parts = { latency, reply, backlog, register, pwa, push, historyImport };
  const json = report(parts, errors, performance.now() - began, seen);
  if (jsonFile) {
    fs.writeFileSync(jsonFile, JSON.stringify(json, null, 2) + '\n');
    note(`figures written to ${jsonFile}`);
  }
  return errors.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
