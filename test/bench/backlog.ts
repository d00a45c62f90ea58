/** Part (b) of the intake benchmark: a backlog waiting in the mailbox when Tocsin starts. */
import { performance } from 'node:perf_hooks';
import { simpleParser } from 'mailparser';
import { buildCorpus, MAX_BYTES, MIN_BYTES } from './corpus';
import { cpuSeconds, noise, procStatusBytes, RssSampler } from './proc';
import { mb, round } from './stats';
import {
  type CaseJson,
  LATENCY_TIMEOUT_MS,
  RATIO_TARGET,
  RSS_TARGET_BYTES,
  RUN_ID,
  type Rig,
  api,
  bounded,
  connected,
  createMember,
  databaseUri,
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
export interface BacklogResult {
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

export const BATCH = 50; // the poller's batchMessages: the cursor advances in steps of this many

/** Messages/s over each tenth of the backlog, from (time, cursor) samples taken as it advanced. */
export function throughputByTenth(
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
export function projectTotalMs(
  samples: { t: number; uid: number }[],
  n: number,
  startedAt: number,
): number | null {
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

export async function partBacklog(
  rig: Rig,
  n: number,
  loaders: number,
  timeLimitS: number,
): Promise<BacklogResult> {
  out(`\n(b) Backlog: ${n} reports waiting in the mailbox when Tocsin starts`);
  const uri = databaseUri(rig, `bench_backlog_${RUN_ID}`);
  const box = await newMailbox(rig, 'bench-backlog');
  const token = await createMember(uri, 'backlog');
  const db = await openDb(rig, uri);

  let t = performance.now();
  const corpus = await buildCorpus(n, RUN_ID, box.user);
  const generateMs = performance.now() - t;
  note(
    `generated ${n} messages in ${ms(generateMs)}: ${round(corpus.sizes.min / 1024)}–${round(corpus.sizes.max / 1024)} KB ` +
      `(median ${round(corpus.sizes.p50 / 1024)} KB, total ${mb(corpus.sizes.total)} MB; aimed at ${MIN_BYTES / 1024}–${MAX_BYTES / 1024} KB)`,
  );
  note(`categories ${JSON.stringify(corpus.byCategory)}`);
  note(`shapes ${JSON.stringify(corpus.byShape)}`);

  const raws = corpus.messages.map((m) => m.raw);
  // Load the mailbox over several connections at once.
  const connections = Math.max(1, Math.min(loaders, n));
  t = performance.now();
  await Promise.all(
    Array.from({ length: connections }, async (_, c) => {
      const client = imapClient(box);
      const logout = await connected(client, `loader ${c + 1}`);
      for (let i = c; i < n; i += connections) {
        // Arrival times spread over the month the messages are dated: per-sender limits (one
        // acknowledgement a day, five new cases an hour) see the pace real mail arrives at.
        const { raw, date } = corpus.messages[i]!;
        await bounded(client.append('INBOX', raw, [], date), LATENCY_TIMEOUT_MS, 'APPEND');
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

export function printBacklog(b: BacklogResult): void {
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
