/**
 * Part (d) of the benchmark: the register under load. `GET /api/cases` (the page a member opens
 * first: newest first, 50 a page) at 10,000 cases, from 50 concurrent keep-alive clients, against
 * Tocsin as users run it (server/main.ts in a process of its own, so that the clients here do not
 * share its event loop), signed in with a bearer token. Two filtered forms (`?status=Triage` and a
 * text search `?q=…`) are measured the same way, with fewer requests.
 *
 * Baselines in the same run, so the reader sees where the time goes:
 *   - GET /healthz under the same load: HTTP and Express and these clients, nothing else (the floor);
 *   - GET /api/ of no route (404): the floor plus the bearer-token check;
 *   - listCases() called directly in this process, 50 calls at a time, for each form: the
 *     domain's share (the register cache and its feed check on the database) without HTTP; and
 *     one at a time: its service time without queueing;
 *   - the page as a plain database query (find, sort newest first, limit 51), one at a time: what
 *     each request would cost if the register were read from the database;
 *   - JSON.stringify of one page: the serialisation's share;
 *   - CPU seconds of Tocsin, the database and these clients over the default-page requests.
 *
 * Seeding is not what is measured: the cases go in with Case.insertMany, shaped as ensureCase
 * writes them, and the newest goes through ensureCase itself, so the seed can check that both
 * have the same fields. The part uses a database of its own, dropped afterwards, and needs only a
 * database (no Dovecot): the rig's when the other parts run, else MONGODB_URI or a FerretDB of its own.
 *
 * Run only this part:  BENCH_LATENCY_N=0 BENCH_REPLY_N=0 BENCH_BACKLOG_N=0 BENCH_PWA=0 BENCH_PUSH_FANOUT=0
 *      BENCH_PUSH_LATENCY_N=0 npm run bench
 * Env: BENCH_REGISTER_N (default 5000 requests of the default page; 0 skips the part),
 *      BENCH_REGISTER_CASES (10000), BENCH_REGISTER_CLIENTS (50), BENCH_REGISTER_WARMUP (200),
 *      BENCH_REGISTER_FILTERED_N (1000: each filtered form and the 404; at most 100 and 20 calls for
 *      the one-at-a-time rows),
 *      BENCH_REGISTER_TIMEOUT_S (90): how long one form may run before it is cut short (the warm-up
 *      gets at most half of it).
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import mongoose from 'mongoose';
import pino from 'pino';
import { addUser, createToken } from '../../server/auth/users';
import { formatCaseKey } from '../../server/cases/keys';
import { Case } from '../../server/cases/models';
import { loadPlaybook, type Playbook, type SeverityId } from '../../server/cases/playbook';
import { listCases, type CaseFilter } from '../../server/cases/register';
import { ensureCase } from '../../server/cases/service';
import type { Suggestion } from '../../server/cases/suggest';
import { connectDatabase } from '../../server/db/connection';
import { startTocsin } from '../support/tocsin-process';
import { rng } from './corpus';
import { cpuSeconds, noise, pidsWithCmdline } from './proc';
import { round, spread, table, type Spread } from './stats';
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

export const REGISTER_TARGET_P99_MS = 25;
/** The word the text-search form looks for; some subjects of SUP and PHI cases carry it. */
const SEARCH_WORD = 'invoice';
/**
 * Generous: when the list was read from FerretDB (every case read and sorted per request), one
 * under this load waited over a minute. A request without an answer by then counts at this value.
 */
const REQUEST_TIMEOUT_MS = 180_000;
const SEED_BATCH = 1000;

export interface RegisterOptions {
  cases: number;
  requests: number;
  filteredRequests: number;
  clients: number;
  warmup: number;
  timeLimitS: number;
}

export interface LoadFigures {
  name: string;
  /** Requests (or calls) asked for, and made before the time limit. */
  n: number;
  done: number;
  concurrency: number;
  latencyMs: Spread;
  perS: number;
  /** Mean response body size (HTTP forms). */
  bytes?: number;
  /** Counted at REQUEST_TIMEOUT_MS in the percentiles. */
  timedOut: number;
  cutShort: boolean;
}

export interface RegisterResult {
  cases: number;
  clients: number;
  seed: { ms: number; casesPerS: number; matching: { triage: number; search: number } };
  http: {
    api: LoadFigures;
    triage: LoadFigures;
    search: LoadFigures;
    healthz: LoadFigures;
    auth: LoadFigures;
  };
  db: {
    api: LoadFigures;
    triage: LoadFigures;
    search: LoadFigures;
    single: LoadFigures;
    /** Case.find().sort({ createdAt: -1, key: -1 }).limit(51): the page straight from the database. */
    query: LoadFigures;
  };
  json: { pageBytes: number; stringifyMs: number };
  /** CPU seconds each process used during the default-page load. */
  cpuS: { tocsin: number; database: number | null; bench: number; wallS: number };
  p99TargetMs: number;
  p99Met: boolean;
  noise: ReturnType<typeof noise>;
  tocsinLog: string[];
}

const ms1 = (v: number) => `${round(v, Math.abs(v) < 1 ? 2 : 1)} ms`;

// ---------------------------------------------------------------------------------------------
// Seed: a year of reports, varied as a committee's desk would see them

const FIRST = [
  'Anna',
  'Ben',
  'Chloé',
  'David',
  'Emma',
  'Farid',
  'Greta',
  'Hugo',
  'Inès',
  'Jonas',
  'Kai',
  'Lena',
];
const LAST = [
  'Müller',
  'Martin',
  'Rossi',
  'Nowak',
  'García',
  'Jansen',
  'Dubois',
  'Novák',
  'Larsen',
  'Kowalski',
];
const DOMAINS = ['example.org', 'example.net', 'mail.example.com', 'uni.example.edu', 'club.example.org'];
const FILL: Record<string, string[]> = {
  svc: [
    'Nextcloud',
    'webmail',
    'the members portal',
    'Zoom',
    'the wiki',
    'Mailchimp',
    'the bank app',
    'WordPress',
  ],
  vendor: ['Acme Hosting', 'Globex', 'Initech', 'Umbrella Print', 'Hooli Cloud'],
  team: ['board', 'events', 'finance', 'outreach'],
  social: ['Facebook', 'Instagram', 'LinkedIn', 'YouTube'],
  file: ['a .docm attachment', 'invoice.zip', 'members.xlsx', 'the budget sheet'],
  event: ['AGM', 'summer camp', 'conference', 'general assembly'],
};

/** Subjects by type, with the hint words the playbook's rules would have matched. */
const SUBJECTS: Record<string, string[]> = {
  SUP: [
    'Password reset for {svc} not arriving',
    "Can't log in to {svc}",
    'Request: access to the {team} shared drive',
    'How do I set up 2FA on {svc}?',
    'Question about invoice {num} from {vendor}',
    'Mailing list: please add {name}',
    'Forgot my {svc} password again',
    '[urgent] {svc} locked me out before the {event}',
  ],
  PHI: [
    "Suspicious email: 'Your {svc} account will be closed'",
    'Phishing? Unpaid invoice {num} attached',
    'Fwd: Urgent wire transfer request',
    'Fwd: {vendor} invoice {num} overdue',
    "Is this phishing? 'Verify your mailbox'",
    'Suspicious message pretending to be {name}',
    'Fwd: Shared document from {name}',
  ],
  INC: [
    'Website is down since this morning',
    '{svc} very slow for everyone',
    'Intermittent errors on {svc}',
    'Site down: 502 on the members page',
    '{svc} partially down after the update',
  ],
  ABU: [
    'Someone impersonating our {social} page',
    'Unauthorized post on the official {social} account',
    'Our {social} channel was taken over',
    'Newsletter misuse: spam sent in our name',
  ],
  DEV: [
    'Lost my laptop on the train',
    'Phone stolen with {svc} signed in',
    'Laptop infected with malware after opening {file}',
    'Tablet missing after the {event}',
  ],
  DAT: [
    'Member list sent to the wrong recipient',
    'Spreadsheet with phone numbers shared by mistake',
    'Export of {svc} records publicly accessible',
    'Email addresses exposed in CC of the {event} mail',
    'Possible data leak: {file} on a public link',
  ],
};
const TYPE_WEIGHTS: [string, number][] = [
  ['SUP', 35],
  ['PHI', 30],
  ['INC', 12],
  ['ABU', 8],
  ['DEV', 8],
  ['DAT', 7],
];
const RULE_OF: Record<string, string> = {
  PHI: "PHI SEV3 (phishing-words): matched 'phishing'",
  INC: "INC SEV2 (degradation): matched 'very slow'",
  ABU: "ABU SEV2 (official-account-misuse): matched 'impersonating', 'page'",
  DEV: "DEV SEV2 (device-lost-or-compromised): matched 'lost', 'laptop'",
  DAT: "DAT SEV1 (data-exposure): matched 'wrong recipient', 'member list'",
};
const COMMITTEE = ['Ada Lovelace', 'Grace Hopper', 'Alan Turing', 'Edsger Dijkstra'].map((name, i) => ({
  id: `66a0c0ffee0000000000000${i + 1}`,
  name,
}));
const SEVERITIES: SeverityId[] = ['SEV1', 'SEV2', 'SEV3', 'SEV4'];

interface SeedCase {
  _id: string;
  key: string;
  source: string;
  type: string;
  severity: string;
  status: string;
  subject: string;
  reporter: { name: string; address: string };
  suggestion: Suggestion;
  restricted: boolean;
  firstSeenAt: Date;
  participants: string[];
  links: { key: string; relation: string }[];
  version: number;
  /** What triage adds to a worked case (ensureCase writes them empty). */
  owner?: { id: string; name: string };
  fields?: Record<string, string>;
  vendorContact?: { name: string; organisation: string; email: string; ticket: string };
  closure?: { rootCause: string; lessons: string; closedAt: Date; closedBy: { id: string; name: string } };
  createdAt: Date;
  updatedAt: Date;
}

/** The status a case of this age is likely in: recent ones open, old ones mostly closed. */
function statusFor(ageDays: number, r: () => number): string {
  const pick = (options: [string, number][]) => {
    let x = r() * options.reduce((s, [, w]) => s + w, 0);
    for (const [s, w] of options) if ((x -= w) < 0) return s;
    return options[0]![0];
  };
  if (ageDays < 3)
    return pick([
      ['New', 40],
      ['Triage', 40],
      ['InProgress', 20],
    ]);
  if (ageDays < 30)
    return pick([
      ['Triage', 20],
      ['InProgress', 25],
      ['WaitingForVendor', 10],
      ['Monitoring', 10],
      ['Escalated', 5],
      ['Closed', 30],
    ]);
  return pick([
    ['Closed', 90],
    ['Monitoring', 4],
    ['WaitingForVendor', 3],
    ['Triage', 3],
  ]);
}

/** `count` cases over the past year, oldest first, numbered per type and year as keys are. */
export function seedCases(count: number, playbook: Playbook, now: number): SeedCase[] {
  const r = rng(20_000_814);
  const oneOf = <T>(list: T[]): T => list[Math.floor(r() * list.length)]!;
  const total = TYPE_WEIGHTS.reduce((s, [, w]) => s + w, 0);
  const typeOf = () => {
    let x = r() * total;
    for (const [t, w] of TYPE_WEIGHTS) if ((x -= w) < 0) return t;
    return 'SUP';
  };
  const people = Array.from({ length: 400 }, () => {
    const first = oneOf(FIRST);
    const last = oneOf(LAST);
    const address = `${first}.${last}${Math.floor(r() * 90) + 10}@${oneOf(DOMAINS)}`
      .normalize('NFD')
      .replace(/[\u0300-\u036f]/g, '')
      .toLowerCase();
    return { name: r() < 0.1 ? '' : `${first} ${last}`, address };
  });
  const year = 365 * 24 * 3600_000;
  const times = Array.from({ length: count }, () => now - 3600_000 - r() * year).sort((a, b) => a - b);
  const seq = new Map<string, number>();
  const keys: string[] = [];
  return times.map((t) => {
    const suggested = typeOf();
    const type = r() < 0.05 ? typeOf() : suggested; // triage re-typed a few
    const def = playbook.types[suggested]!.defaultSeverity;
    const severity = r() < 0.25 ? oneOf(SEVERITIES) : def;
    const createdAt = new Date(t);
    const y = createdAt.getUTCFullYear();
    const n = (seq.get(`${suggested}-${y}`) ?? 0) + 1;
    seq.set(`${suggested}-${y}`, n);
    const key = formatCaseKey(suggested, y, n);
    const reporter = oneOf(people);
    const subject = oneOf(SUBJECTS[suggested]!).replace(/\{(\w+)\}/g, (_, slot: string) =>
      slot === 'num'
        ? String(10_000 + Math.floor(r() * 90_000))
        : slot === 'name'
          ? oneOf(FIRST)
          : oneOf(FILL[slot]!),
    );
    const ageDays = (now - t) / 86_400_000;
    const status = statusFor(ageDays, r);
    const touched = status === 'New' ? 0 : r() * Math.min(now - t, 20 * 86_400_000);
    const participants = [
      reporter.address,
      ...(r() < 0.2 ? [`${oneOf(FIRST)}@partner.example.net`.toLowerCase()] : []),
    ];
    const links =
      keys.length && r() < 0.03 ? [{ key: oneOf(keys.slice(-200)), relation: 'possible-follow-up-of' }] : [];
    keys.push(key);
    const member = oneOf(COMMITTEE);
    const worked =
      status === 'New'
        ? {}
        : { owner: member, ...(r() < 0.6 ? { fields: { service: oneOf(FILL.svc!) } } : {}) };
    const vendor = oneOf(FILL.vendor!);
    return {
      _id: key,
      ...worked,
      ...(status === 'WaitingForVendor'
        ? {
            vendorContact: {
              name: 'Support desk',
              organisation: vendor,
              email: `support@${vendor.split(' ')[0]!.toLowerCase()}.example.com`,
              ticket: `T-${Math.floor(r() * 1e6)}`,
            },
          }
        : {}),
      ...(status === 'Closed'
        ? {
            closure: {
              rootCause: oneOf(['User error', 'Phishing campaign', 'Vendor outage', 'Misconfigured sharing']),
              lessons: oneOf([
                'Remind members of the reporting address',
                'None',
                'Add to the onboarding checklist',
              ]),
              closedAt: new Date(t + touched),
              closedBy: member,
            },
          }
        : {}),
      key,
      source: `mid:${createHash('sha256').update(`${RUN_ID}:${key}`).digest('hex')}`,
      type,
      severity,
      status,
      subject: r() < 0.08 ? `Re: ${subject}` : subject,
      reporter,
      suggestion: {
        type: suggested,
        severity: def,
        reasons: [RULE_OF[suggested] ?? `no rule matched: default type ${suggested}`],
      },
      restricted: !!playbook.types[suggested]?.restricted || !!playbook.types[type]?.restricted,
      firstSeenAt: new Date(t - 1000 - r() * 90_000),
      participants,
      links,
      version: status === 'New' ? 0 : 1 + Math.floor(r() * 4),
      createdAt,
      updatedAt: new Date(t + touched),
    };
  });
}

/**
 * The field names of a stored document, nested ones as `a.b`, sorted. Empty values (null, [], {})
 * count as absent: the model's defaults fill them on insert, and the API reads them alike.
 */
function shape(doc: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(doc)
    .filter(([, v]) => v !== null && v !== undefined && !(Array.isArray(v) && v.length === 0))
    .flatMap(([k, v]) =>
      v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date)
        ? shape(v as Record<string, unknown>, `${prefix}${k}.`)
        : [`${prefix}${k}`],
    )
    .sort();
}

async function seed(count: number, playbook: Playbook): Promise<number> {
  const cases = seedCases(count, playbook, Date.now());
  const newest = cases.pop()!;
  const t0 = performance.now();
  for (let i = 0; i < cases.length; i += SEED_BATCH) {
    await bounded(Case.insertMany(cases.slice(i, i + SEED_BATCH)), STEP_TIMEOUT_MS, 'Case.insertMany');
  }
  // The newest as intake writes it, then the check that a seeded new case looks the same.
  await ensureCase(
    {
      key: newest.key,
      suggestion: newest.suggestion,
      subject: newest.subject,
      reporter: newest.reporter,
      firstSeenAt: new Date(),
      source: newest.source,
      participants: newest.participants,
    },
    playbook,
  );
  const elapsed = performance.now() - t0;
  const fresh = cases.findLast((c) => c.status === 'New');
  if (fresh) {
    const [written, seeded] = await Promise.all(
      [newest.key, fresh.key].map((key) => Case.findById(key).lean<Record<string, unknown>>()),
    );
    const a = shape(written ?? {}).join(',');
    const b = shape(seeded ?? {}).join(',');
    if (a !== b)
      throw new Error(`seeded cases differ from ensureCase's:\n  ensureCase: ${a}\n  seeded:     ${b}`);
  }
  const stored = await Case.countDocuments();
  if (stored !== count) throw new Error(`seeded ${stored} cases, wanted ${count}`);
  return elapsed;
}

// ---------------------------------------------------------------------------------------------
// Load: N requests (or calls) from C concurrent clients, each timed from send to last byte

/** A request (or call) that got no answer in REQUEST_TIMEOUT_MS: counted at that value, not an error. */
class TimedOut extends Error {}

/**
 * Runs `once` n times, `concurrency` at a time; stops starting new ones at `deadline`, and stops
 * at the first error. With `progress`, says every 30 s how far it got.
 */
async function underLoad(
  name: string,
  n: number,
  concurrency: number,
  deadline: number,
  once: () => Promise<number>,
  progress = false,
): Promise<LoadFigures> {
  const latencies: number[] = [];
  let started = 0;
  let bytes = 0;
  let timedOut = 0;
  let cutShort = false;
  let failure: Error | undefined;
  const t0 = performance.now();
  const ticker = progress
    ? setInterval(
        () =>
          note(`  ${name}: ${latencies.length}/${n} after ${round((performance.now() - t0) / 1000, 0)} s`),
        30_000,
      )
    : undefined;
  ticker?.unref();
  const client = async () => {
    while (started < n && !failure) {
      if (performance.now() > deadline) {
        cutShort = true;
        return;
      }
      started++;
      const sent = performance.now();
      try {
        const size = await once(); // not `bytes += await …`: the clients would overwrite each other's sums
        latencies.push(performance.now() - sent);
        bytes += size;
      } catch (err) {
        if (err instanceof TimedOut) {
          latencies.push(REQUEST_TIMEOUT_MS);
          timedOut++;
        } else failure ??= err as Error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, client)).finally(() =>
    clearInterval(ticker),
  );
  const wallMs = performance.now() - t0;
  if (failure) throw new Error(`${name}: ${failure.message}`);
  return {
    name,
    n,
    done: latencies.length,
    concurrency,
    latencyMs: spread(latencies),
    perS: round((latencies.length / wallMs) * 1000, 0),
    bytes: latencies.length > timedOut ? Math.round(bytes / (latencies.length - timedOut)) : 0,
    timedOut,
    cutShort,
  };
}

/** One GET over a keep-alive agent; resolves with the body's size once it is all read. */
function get(agent: http.Agent, base: URL, pathname: string, token: string, expect: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      {
        agent,
        host: base.hostname,
        port: base.port,
        path: pathname,
        headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
      },
      (res) => {
        let size = 0;
        res.on('data', (chunk: Buffer) => (size += chunk.length));
        res.on('error', reject);
        res.on('end', () =>
          res.statusCode === expect
            ? resolve(size)
            : reject(new Error(`GET ${pathname} answered ${res.statusCode}, expected ${expect}`)),
        );
      },
    );
    req.setTimeout(REQUEST_TIMEOUT_MS, () =>
      req.destroy(new TimedOut(`GET ${pathname}: no answer in ${REQUEST_TIMEOUT_MS / 1000} s`)),
    );
    req.on('error', reject);
  });
}

// ---------------------------------------------------------------------------------------------
// The part

export async function partRegister(rigUri: string | undefined, o: RegisterOptions): Promise<RegisterResult> {
  out(
    `\n(d) Register: GET /api/cases at ${o.cases} cases, ${o.clients} concurrent clients ` +
      `(${o.requests} requests, ${o.warmup} warm-up; filtered forms ${o.filteredRequests} each)`,
  );
  const base = new URL(await databaseBase(rigUri));
  const uri = new URL(base);
  uri.pathname = `/bench_register_${RUN_ID}`;
  const log = pino({ level: 'warn' });
  await bounded(connectDatabase(uri.toString(), log), STEP_TIMEOUT_MS, 'connect to the database');
  const closeDb = onCleanup(`drop ${uri.pathname} and disconnect`, async () => {
    await mongoose.connection.dropDatabase();
    await mongoose.disconnect();
  });

  const playbook = loadPlaybook();
  const seedMs = await seed(o.cases, playbook);
  const [triage, search] = await Promise.all([
    Case.countDocuments({ status: 'Triage' }),
    Case.countDocuments({ subject: new RegExp(SEARCH_WORD, 'i') }),
  ]);
  note(
    `seeded ${o.cases} cases in ${round(seedMs / 1000, 1)} s (${round((o.cases / seedMs) * 1000, 0)} cases/s); ` +
      `${triage} in Triage, ${search} with '${SEARCH_WORD}' in the subject`,
  );
  const email = `bench-register-${RUN_ID}@example.org`;
  const user = await addUser(email, 'Bench Admin', 'admin');
  const token = await createToken(email);

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
  const server = new URL(tocsin.url);
  const dbPid = pidsWithCmdline(`--listen-addr=127.0.0.1:${base.port}`)[0];
  note(`Tocsin pid ${tocsin.pid} on ${tocsin.url}; database pid ${dbPid ?? '? (external)'}`);

  const page = { limit: 50, offset: 0 };
  const forms: Record<'api' | 'triage' | 'search', { path: string; filter: CaseFilter }> = {
    api: { path: '/api/cases', filter: {} },
    triage: { path: '/api/cases?status=Triage', filter: { status: 'Triage' } },
    search: { path: `/api/cases?q=${SEARCH_WORD}`, filter: { q: SEARCH_WORD } },
  };
  // What each form answers, once, before it is timed: a full page, the right cases.
  for (const [name, f] of Object.entries(forms)) {
    const res = await fetch(tocsin.url + f.path, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const body = (await res.json()) as { cases?: { status: string; subject: string }[]; next?: number };
    const ok =
      res.status === 200 &&
      body.cases?.length === 50 &&
      body.next === 50 &&
      (name !== 'triage' || body.cases.every((c) => c.status === 'Triage')) &&
      (name !== 'search' || body.cases.every((c) => c.subject.toLowerCase().includes(SEARCH_WORD)));
    if (!ok) throw new Error(`GET ${f.path} did not answer a full page of the right cases (${res.status})`);
  }

  /** A warm-up (at most half the time limit, and 60 s), then the timed run, then a line of figures. */
  const timed = async (
    name: string,
    n: number,
    concurrency: number,
    warmup: number,
    once: () => Promise<number>,
    afterWarmup?: () => void,
  ) => {
    const now = performance.now();
    await underLoad(
      `${name} warm-up`,
      warmup,
      concurrency,
      now + Math.min(60, o.timeLimitS / 2) * 1000,
      once,
    );
    afterWarmup?.();
    const figures = await underLoad(
      name,
      n,
      concurrency,
      performance.now() + o.timeLimitS * 1000,
      once,
      true,
    );
    note(
      `${name}: p50 ${ms1(figures.latencyMs.p50)}, p99 ${ms1(figures.latencyMs.p99)}, ${figures.perS}/s` +
        (figures.cutShort ? ` (cut short at the ${o.timeLimitS} s limit: ${figures.done}/${n})` : '') +
        (figures.timedOut ? ` (${figures.timedOut} got no answer in ${REQUEST_TIMEOUT_MS / 1000} s)` : ''),
    );
    return figures;
  };
  /** One HTTP form over a fresh keep-alive agent of `clients` sockets. */
  const overHttp = async (
    name: string,
    pathname: string,
    n: number,
    warmup: number,
    expect = 200,
    afterWarmup?: () => void,
  ) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: o.clients });
    try {
      const once = () => get(agent, server, pathname, token, expect);
      return await timed(name, n, o.clients, warmup, once, afterWarmup);
    } finally {
      agent.destroy();
    }
  };
  /** Calls in this process: no HTTP, no token, no JSON. */
  const direct = async (name: string, n: number, concurrency: number, query: () => Promise<unknown>) => {
    const once = async () => {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new TimedOut(`${name}: no answer`)), REQUEST_TIMEOUT_MS);
      });
      await Promise.race([query(), late]).finally(() => clearTimeout(timer));
      return 0;
    };
    const figures = await timed(name, n, concurrency, Math.min(20, n), once);
    delete figures.bytes;
    return figures;
  };
  const list = (filter: CaseFilter) => () => listCases(user, filter, page, playbook);

  const healthz = await overHttp('GET /healthz (baseline)', '/healthz', o.requests, o.warmup);
  const auth = await overHttp(
    'GET /api/ of no route, 404 (token check)',
    '/api/bench-none',
    o.filteredRequests,
    50,
    404,
  );
  // CPU of each process over the timed default-page requests (after their warm-up).
  let cpu0 = { tocsin: cpuSeconds(tocsin.pid), db: dbPid && cpuSeconds(dbPid), bench: process.cpuUsage() };
  let wall0 = performance.now();
  const api = await overHttp('GET /api/cases', forms.api.path, o.requests, o.warmup, 200, () => {
    cpu0 = { tocsin: cpuSeconds(tocsin.pid), db: dbPid && cpuSeconds(dbPid), bench: process.cpuUsage() };
    wall0 = performance.now();
  });
  const cpuS = {
    tocsin: round((cpuSeconds(tocsin.pid) ?? NaN) - (cpu0.tocsin ?? NaN), 2),
    database: dbPid && cpu0.db !== undefined ? round((cpuSeconds(dbPid) ?? NaN) - cpu0.db, 1) : null,
    bench: round((process.cpuUsage(cpu0.bench).user + process.cpuUsage(cpu0.bench).system) / 1e6, 1),
    wallS: round((performance.now() - wall0) / 1000, 1),
  };
  const triageHttp = await overHttp(
    'GET /api/cases?status=Triage',
    forms.triage.path,
    o.filteredRequests,
    50,
  );
  const searchHttp = await overHttp(
    `GET /api/cases?q=${SEARCH_WORD}`,
    forms.search.path,
    o.filteredRequests,
    50,
  );
  await stopTocsin();

  const dbApi = await direct('listCases({}) direct', o.requests, o.clients, list({}));
  const dbTriage = await direct(
    'listCases({status}) direct',
    o.filteredRequests,
    o.clients,
    list(forms.triage.filter),
  );
  const dbSearch = await direct(
    'listCases({q}) direct',
    o.filteredRequests,
    o.clients,
    list(forms.search.filter),
  );
  const oneByOne = Math.min(o.filteredRequests, 100);
  const single = await direct('listCases({}) one at a time', oneByOne, 1, list({}));
  // The page as a database query (how the register was read before it was kept in memory):
  // FerretDB reads and sorts every case for it, so a few calls tell enough.
  const query = await direct('the page as a query, one at a time', Math.min(o.filteredRequests, 20), 1, () =>
    Case.find()
      .sort({ createdAt: -1, key: -1 })
      .limit(page.limit + 1)
      .lean(),
  );

  const onePage = await listCases(user, {}, page, playbook);
  const reps = 500;
  const s0 = performance.now();
  let pageBytes = 0;
  for (let i = 0; i < reps; i++) pageBytes = JSON.stringify(onePage).length;
  const json = { pageBytes, stringifyMs: round((performance.now() - s0) / reps, 3) };
  await closeDb();

  return {
    cases: o.cases,
    clients: o.clients,
    seed: {
      ms: Math.round(seedMs),
      casesPerS: round((o.cases / seedMs) * 1000, 0),
      matching: { triage, search },
    },
    http: { api, triage: triageHttp, search: searchHttp, healthz, auth },
    db: { api: dbApi, triage: dbTriage, search: dbSearch, single, query },
    json,
    cpuS,
    p99TargetMs: REGISTER_TARGET_P99_MS,
    p99Met: api.done === api.n && api.timedOut === 0 && api.latencyMs.p99 <= REGISTER_TARGET_P99_MS,
    noise: noise(),
    tocsinLog: tocsinLogSummary(tocsin),
  };
}

export function printRegister(r: RegisterResult): void {
  const row = (what: string, f: LoadFigures, unit = 'req/s') => [
    what,
    `${f.done}${f.done < f.n ? `/${f.n}` : ''}${f.timedOut ? ` (${f.timedOut} timed out)` : ''}`,
    String(f.concurrency),
    ms1(f.latencyMs.p50),
    ms1(f.latencyMs.p99),
    ms1(f.latencyMs.max),
    `${f.perS} ${unit}`,
    f.bytes ? `${round(f.bytes / 1024, 1)} KB` : '',
  ];
  out(
    table(
      ['', 'n', 'conc.', 'p50', 'p99', 'max', 'throughput', 'body'],
      [
        row('GET /api/cases (default page, 50)', r.http.api),
        row('GET /api/cases?status=Triage', r.http.triage),
        row(`GET /api/cases?q=${SEARCH_WORD}`, r.http.search),
        row('baseline: GET /healthz (HTTP floor)', r.http.healthz),
        row('baseline: GET /api/<none> 404 (floor + token)', r.http.auth),
        row('baseline: listCases({}) direct (no HTTP)', r.db.api, 'calls/s'),
        row('          listCases({status: Triage}) direct', r.db.triage, 'calls/s'),
        row(`          listCases({q: ${SEARCH_WORD}}) direct`, r.db.search, 'calls/s'),
        row('          listCases({}) one at a time', r.db.single, 'calls/s'),
        row('          Case.find().sort(newest).limit(51), one at a time', r.db.query, 'calls/s'),
      ],
    ),
  );
  note(
    `JSON.stringify of one page (${round(r.json.pageBytes / 1024, 1)} KB): ${r.json.stringifyMs} ms; ` +
      `CPU during the default-page load (${r.cpuS.wallS} s): Tocsin ${r.cpuS.tocsin} s, ` +
      `database ${r.cpuS.database ?? '?'} s, bench clients ${r.cpuS.bench} s, on ${os.cpus().length} cores`,
  );
  const a = r.http.api.latencyMs;
  const cpuPerRequest = (r.cpuS.tocsin * 1000) / r.http.api.done;
  note(
    `where the time goes (p50): HTTP floor ${ms1(r.http.healthz.latencyMs.p50)}, with the token check ` +
      `${ms1(r.http.auth.latencyMs.p50)}, listCases() alone ${ms1(r.db.api.latencyMs.p50)} ` +
      `(by itself ${ms1(r.db.single.latencyMs.p50)}), JSON ${ms1(r.json.stringifyMs)}; end to end ${ms1(a.p50)}`,
  );
  note(
    `Tocsin spent ${round(cpuPerRequest, 2)} ms of CPU per request: one core serves at most ` +
      `${round(1000 / cpuPerRequest, 0)} req/s, and ${r.clients} clients that send again at once wait ` +
      `about ${r.clients} × ${round(cpuPerRequest, 2)} ms = ${ms1(r.clients * cpuPerRequest)} each (queueing, not work)`,
  );
  if (r.noise.jestProcesses > 0)
    note(`${r.noise.jestProcesses} jest process(es) running: timings may be noisy`);
  out(
    `GET /api/cases p99 ${round(a.p99, 1)} ms (target ≤ ${r.p99TargetMs} ms): ${r.p99Met ? 'met' : 'missed'}` +
      (r.http.api.cutShort ? ` (cut short: ${r.http.api.done}/${r.http.api.n} requests)` : ''),
  );
}
