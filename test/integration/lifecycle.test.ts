import { addUser, createToken } from '../../server/auth/users';
import { STATUSES } from '../../server/cases/lifecycle';
import { casesTagged } from '../support/conversation';
import { startDesk, type Desk } from '../support/desk';
import { newMailbox, uniqueName } from '../support/env';
import { appendMessages, compose } from '../support/mail';
import { waitFor } from '../support/wait';
import { SEED_EDGES, seedNext } from '../support/seed-status-map';

/**
 * The triage API against the real server and database, on cases opened by real mail: the status
 * map, the closure gate, reopening, versioned writes, the timeline, the personal-device checklist,
 * the register's filters and restricted cases.
 */

interface Person {
  id: string;
  name: string;
}

interface Entry {
  id: string;
  kind: string;
  at: string;
  by?: Person;
  change?: { changes: { field: string; from: unknown; to: unknown }[]; reason?: string };
  note?: { text: string };
  vendorUpdate?: { vendor: string; reference?: string; text: string };
  checklist?: { item: string; label: string; done: boolean };
}

interface Detail {
  key: string;
  type: string;
  severity: string;
  status: string;
  version: number;
  subject: string;
  reporter: { name: string; address: string };
  restricted: boolean;
  hidden?: boolean;
  personalData: boolean;
  owner: Person | null;
  vendorContact: Record<string, string> | null;
  vendorInvolved: boolean;
  allowedStatuses: string[];
  reopenTo?: string;
  createdAt: string;
  fields: Record<string, string>;
  missingFields: { id: string; label: string }[];
  checklist: { id: string; label: string; done: boolean; by?: Person; at?: string }[];
  closure: { record: Record<string, unknown> | null; required: string[]; missing: string[] };
  timeline: Entry[];
}

interface ApiError {
  error: string;
  message: string;
  allowed?: string[];
  missing?: string[];
  current?: { key: string; version: number; hidden?: boolean };
}

/** A write answers the case in full, or an error. */
type Answer = Detail & ApiError;

/** A closure record that satisfies every requirement of the default playbook. */
const COMPLETE_CLOSURE = {
  rootCause: 'A DNS record was changed by mistake',
  vendorActions: 'The host restored the record and added a change lock',
  accountChanges: 'Rotated the hosting admin password',
  followUps: [{ task: 'Add DNS monitoring', owner: 'Ana R.', due: '2026-05-01' }],
  lessons: 'Review DNS changes in pairs',
};

/** The reports this suite needs, by name: one mailbox, one wait. */
const REPORTS = {
  walk: { subject: 'Wiki account request', text: 'Please add me to the committee wiki.' },
  supClose: { subject: 'Calendar invite question', text: 'How do I share the committee calendar?' },
  incClose: {
    subject: 'Website is down',
    text: 'The public website is down since 08:15 UTC and shows an error page.',
  },
  datClose: {
    subject: 'Member list sent to the wrong recipient',
    text: 'I sent the member list export to the wrong recipient by mistake this morning.',
  },
  devClose: { subject: 'Lost phone', text: 'I lost my phone on the train; it has the official mail on it.' },
  spam: { subject: 'Cheap watches for everyone', text: 'Best prices on watches, click now.' },
  race: { subject: 'Shared drive permissions', text: 'Can the treasurer get edit rights on the drive?' },
  checklist: { subject: 'Stolen laptop', text: 'My laptop was stolen from my car last night.' },
  notes: { subject: 'Newsletter tool question', text: 'Which newsletter tool do we use now?' },
  r1: { subject: 'Projector flickers', text: 'The projector in room 2 flickers.' },
  r2: { subject: 'Donation receipts', text: 'Donation receipts show the old address.' },
  r3: { subject: 'Intranet bookmark', text: 'The intranet bookmark points at the old host.' },
  r4: { subject: 'Printer toner', text: 'We need toner for the office printer.' },
  rdev: {
    subject: 'Tablet missing, quarantined-zebra',
    text: 'My tablet is missing since yesterday; it has the password manager app.',
  },
  rdat: {
    subject: 'Donor records shared, quarantined-okapi',
    text: 'The donor records spreadsheet was sent to the wrong person.',
  },
} as const;
type ReportName = keyof typeof REPORTS;

let desk: Desk;
let tag: string;
const keys = {} as Record<ReportName, string>;
let admin: Person;
let member: Person & { email: string; token: string };
let lead: Person & { email: string; token: string };

async function call<T = Answer>(token: string, method: string, path: string, body?: unknown) {
  const res = await fetch(desk.url + path, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T, text };
}

const patch = (key: string, body: Record<string, unknown>, token = desk.token) =>
  call(token, 'PATCH', `/api/cases/${key}`, body);

async function get(key: string, token = desk.token): Promise<Detail> {
  const res = await call<Detail>(token, 'GET', `/api/cases/${key}`);
  if (res.status !== 200) throw new Error(`GET ${key}: ${res.status} ${res.text}`);
  return res.body;
}

/** PATCHes with the version the case has now, and insists on success. */
async function update(key: string, body: Record<string, unknown>, token = desk.token): Promise<Detail> {
  const { version } = await get(key, token);
  const res = await patch(key, { version, ...body }, token);
  if (res.status !== 200) throw new Error(`PATCH ${key} ${JSON.stringify(body)}: ${res.status} ${res.text}`);
  return res.body;
}

/** Moves a case along legal moves, one PATCH each. */
async function walk(key: string, ...statuses: string[]): Promise<Detail> {
  let c = await get(key);
  for (const status of statuses) c = await update(key, { status });
  return c;
}

const ofKind = (c: Detail, kind: string) => c.timeline.filter((e) => e.kind === kind);

async function listKeys(query: string, token = desk.token): Promise<string[]> {
  const res = await call<{ cases: { key: string }[] }>(token, 'GET', `/api/cases?limit=200&${query}`);
  if (res.status !== 200) throw new Error(`GET /api/cases?${query}: ${res.status} ${res.text}`);
  return res.body.cases.map((c) => c.key);
}

beforeAll(async () => {
  const box = await newMailbox('lifecycle');
  desk = await startDesk({ mailbox: box });
  tag = uniqueName('life');
  const names = Object.keys(REPORTS) as ReportName[];
  await appendMessages(
    box,
    await Promise.all(
      names.map((name) =>
        compose({ subject: `${REPORTS[name].subject} ${tag}-${name}`, text: REPORTS[name].text }),
      ),
    ),
  );
  const cases = await waitFor(
    'every report as a case',
    async () => {
      const found = await casesTagged(desk, tag);
      return found.length === names.length ? found : null;
    },
    90_000,
  );
  for (const name of names) {
    const c = cases.find((x) => x.subject.endsWith(`${tag}-${name}`));
    if (!c) throw new Error(`no case for ${name}`);
    keys[name] = c.key;
  }

  const me = await desk.api<Person>('/api/me');
  admin = { id: me.body.id, name: me.body.name };
  const people = async (role: string, name: string) => {
    const email = `${uniqueName(role)}@example.org`;
    const user = await addUser(email, name, role);
    return { id: String(user._id), name, email, token: await createToken(email) };
  };
  member = await people('member', 'Mia Member');
  lead = await people('lead', 'Leo Lead');
}, 120_000);
afterAll(() => desk.stop());

describe('when every status is tried against every other status', () => {
  it('then exactly the moves of the seed status map succeed, and every other answers 409 with the allowed moves', async () => {
    const key = keys.walk;
    expect(STATUSES[0]).toBe('New');
    expect([...STATUSES].sort()).toEqual([...new Set(SEED_EDGES.flatMap((e) => e.split(' --> ')))].sort());
    const pairs = STATUSES.flatMap((from) => STATUSES.filter((to) => to !== from).map((to) => [from, to]));
    expect(pairs).toHaveLength(42);

    // Moves out of Closed reopen it, and a close from Triage is a non-case: both carry a reason.
    const extras = (from: string, to: string) =>
      from === 'Closed' || to === 'Closed' ? { reason: `walk ${from} to ${to}` } : {};
    const legal = (from: string, to: string) =>
      from === 'Closed' ? to === 'Triage' : seedNext(from).includes(to);
    // The shortest legal path, reopening included, from one status to another.
    const route = (from: string, to: string): string[] => {
      const previous = new Map<string, string>([[from, '']]);
      const queue = [from];
      while (queue.length) {
        const at = queue.shift()!;
        for (const next of STATUSES.filter((s) => legal(at, s) && !previous.has(s))) {
          previous.set(next, at);
          queue.push(next);
        }
      }
      if (!previous.has(to)) throw new Error(`${to} can not be reached from ${from}`);
      const steps: string[] = [];
      for (let s = to; s !== from; s = previous.get(s)!) steps.unshift(s);
      return steps;
    };
    let current = await get(key);
    expect(current.status).toBe('New');
    // A complete record, so Monitoring → Closed depends on the map alone.
    current = await update(key, { closure: COMPLETE_CLOSURE });
    const bringTo = async (status: string) => {
      for (const step of route(current.status, status)) {
        const res = await patch(key, {
          version: current.version,
          status: step,
          ...extras(current.status, step),
        });
        if (res.status !== 200) throw new Error(`${current.status} → ${step}: ${res.status} ${res.text}`);
        current = res.body;
      }
    };

    const outcomes: unknown[] = [];
    const expected: unknown[] = [];
    for (const from of STATUSES) {
      // Refusals first: they change nothing, so one case in `from` serves them all.
      const targets = STATUSES.filter((to) => to !== from).sort(
        (a, b) => Number(legal(from, a)) - Number(legal(from, b)),
      );
      for (const to of targets) {
        await bringTo(from);
        const before = current;
        const res = await patch(key, { version: before.version, status: to, ...extras(from, to) });
        if (res.status === 200) {
          current = res.body;
          outcomes.push({ from, to, status: 200, now: res.body.status, version: res.body.version });
        } else {
          const after = await get(key);
          outcomes.push({
            from,
            to,
            status: res.status,
            error: res.body.error,
            allowed: [...(res.body.allowed ?? [])].sort(),
            unchanged:
              after.status === before.status &&
              after.version === before.version &&
              after.timeline.length === before.timeline.length,
          });
        }
        expected.push(
          legal(from, to)
            ? { from, to, status: 200, now: to, version: before.version + 1 }
            : {
                from,
                to,
                status: 409,
                error: 'illegal-transition',
                // From Closed the only way out is reopening, to Triage.
                allowed: (from === 'Closed' ? ['Triage'] : seedNext(from)).sort(),
                unchanged: true,
              },
        );
      }
    }
    expect(outcomes).toEqual(expected);
    expect(outcomes.filter((o) => (o as { status: number }).status === 200)).toHaveLength(10);
  });

  it('then a case in Triage offers the client exactly the moves of the map', async () => {
    const spam = await walk(keys.spam, 'Triage');
    expect(spam.allowedStatuses.sort()).toEqual(seedNext('Triage').sort());
    expect(spam.reopenTo).toBeUndefined();
  });
});

describe('when a case is closed, the closure gate depends on its type, severity and vendor', () => {
  const rows = [
    { name: 'supClose', type: 'SUP', severity: 'SEV4', vendor: false, missing: ['rootCause'] },
    {
      name: 'incClose',
      type: 'INC',
      severity: 'SEV1',
      vendor: true,
      missing: ['rootCause', 'vendorActions', 'accountChanges', 'followUps', 'lessons'],
    },
    {
      name: 'datClose',
      type: 'DAT',
      severity: 'SEV3',
      vendor: false,
      missing: ['rootCause', 'accountChanges', 'lessons'],
    },
    {
      name: 'devClose',
      type: 'DEV',
      severity: 'SEV2',
      vendor: false,
      missing: ['rootCause', 'accountChanges', 'followUps', 'lessons'],
    },
  ] as const;

  it('then each report arrived with the type its text suggests', async () => {
    expect((await get(keys.supClose)).type).toBe('SUP');
    expect((await get(keys.incClose)).type).toBe('INC');
    expect((await get(keys.datClose)).type).toBe('DAT');
    expect((await get(keys.devClose)).type).toBe('DEV');
  });

  it.each(rows)(
    'then a $type $severity case (vendor: $vendor) in Monitoring needs exactly $missing, and closes once they are recorded',
    async (row) => {
      const key = keys[row.name];
      await update(key, {
        type: row.type,
        severity: row.severity,
        vendorContact: row.vendor ? { organisation: 'Hosting Co', ticket: 'DO-44391' } : null,
      });
      const inMonitoring = await walk(key, 'Triage', 'InProgress', 'Monitoring');
      expect(inMonitoring).toMatchObject({ status: 'Monitoring', type: row.type, severity: row.severity });
      expect(inMonitoring.vendorInvolved).toBe(row.vendor);
      expect(inMonitoring.closure.required).toEqual(row.missing);
      expect(inMonitoring.closure.missing).toEqual(row.missing);

      const refused = await patch(key, { version: inMonitoring.version, status: 'Closed' });
      expect(refused.status).toBe(409);
      expect(refused.body).toMatchObject({ error: 'closure-incomplete' });
      expect(refused.body.missing).toEqual(row.missing);
      expect((await get(key)).status).toBe('Monitoring');

      // A follow-up without an owner or a due date is named, required or not.
      const record = Object.fromEntries(
        row.missing.filter((f) => f !== 'followUps').map((f) => [f, COMPLETE_CLOSURE[f]]),
      );
      const partial = await update(key, {
        closure: { ...record, followUps: [{ task: 'Review access', owner: '', due: '' }] },
      });
      const stillRefused = await patch(key, { version: partial.version, status: 'Closed' });
      expect(stillRefused.status).toBe(409);
      expect(stillRefused.body.missing).toEqual(['followUps[0].owner', 'followUps[0].due']);

      // The missing piece and the close in one PATCH: one change entry with both.
      const closed = await patch(key, {
        version: partial.version,
        closure: { followUps: COMPLETE_CLOSURE.followUps },
        status: 'Closed',
      });
      expect(closed.status).toBe(200);
      expect(closed.body).toMatchObject({ status: 'Closed', version: partial.version + 1 });
      expect(closed.body.closure.missing).toEqual([]);
      expect(closed.body.closure.record).toMatchObject({
        ...record,
        followUps: COMPLETE_CLOSURE.followUps,
        closedBy: admin,
        closedAt: expect.any(String),
      });
      expect(closed.body.timeline).toHaveLength(partial.timeline.length + 1);
      expect(
        closed.body.timeline
          .at(-1)!
          .change!.changes.map((c) => c.field)
          .sort(),
      ).toEqual(['closure.followUps', 'status']);
    },
  );

  it('then a follow-up saved with a task alone is reported as lacking its owner and due date', async () => {
    // The walk left this case in Triage with a complete record; a SUP SEV3 needs only its root cause.
    const key = keys.walk;
    const inMonitoring = await walk(key, 'InProgress', 'Monitoring');
    expect(inMonitoring.status).toBe('Monitoring');
    const saved = await patch(key, {
      version: inMonitoring.version,
      closure: { followUps: [{ task: 'Check the wiki backups' }] },
    });
    expect({ status: saved.status, error: saved.body.error }).toEqual({ status: 200, error: undefined });
    expect(saved.body.closure.missing).toEqual(['followUps[0].owner', 'followUps[0].due']);
    const refused = await patch(key, { version: saved.body.version, status: 'Closed' });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({
      error: 'closure-incomplete',
      missing: ['followUps[0].owner', 'followUps[0].due'],
    });
  });

  it('then a non-case (spam) closes straight from Triage with a reason alone', async () => {
    const key = keys.spam;
    const inTriage = await get(key);
    expect(inTriage.status).toBe('Triage');
    const refused = await patch(key, { version: inTriage.version, status: 'Closed' });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ error: 'closure-incomplete', missing: ['reason'] });
    expect(refused.body.missing).toEqual(['reason']);

    const closed = await patch(key, {
      version: inTriage.version,
      status: 'Closed',
      reason: 'Spam, not a case',
    });
    expect(closed.status).toBe(200);
    expect(closed.body).toMatchObject({ status: 'Closed', allowedStatuses: [], reopenTo: 'Triage' });
    expect(closed.body.closure.record).toMatchObject({ reason: 'Spam, not a case', closedBy: admin });
    expect(closed.body.closure.record).not.toHaveProperty('rootCause');
  });
});

describe('when a closed case is reopened', () => {
  it('then it needs a reason, goes to Triage only, and the reason is on the timeline', async () => {
    const key = keys.spam;
    const closed = await get(key);
    expect(closed.status).toBe('Closed');

    const noReason = await patch(key, { version: closed.version, status: 'Triage' });
    expect(noReason.status).toBe(400);
    expect(noReason.body.error).toBe('reason-required');

    const elsewhere = await patch(key, { version: closed.version, status: 'InProgress', reason: 'Not spam' });
    expect(elsewhere.status).toBe(409);
    expect(elsewhere.body).toMatchObject({ error: 'illegal-transition', allowed: ['Triage'] });

    const unchanged = await get(key);
    expect(unchanged).toMatchObject({ status: 'Closed', version: closed.version });
    expect(unchanged.timeline).toHaveLength(closed.timeline.length);

    const reason = 'The sender says it was a real question about our shop';
    const reopened = await patch(key, { version: closed.version, status: 'Triage', reason });
    expect(reopened.status).toBe(200);
    expect(reopened.body).toMatchObject({ status: 'Triage', version: closed.version + 1 });
    expect(reopened.body.reopenTo).toBeUndefined();
    expect(reopened.body.closure.record).not.toHaveProperty('closedAt');
    const entry = reopened.body.timeline.at(-1)!;
    expect(entry).toMatchObject({
      kind: 'change',
      by: admin,
      change: { reason, changes: [{ field: 'status', from: 'Closed', to: 'Triage' }] },
    });
  });
});

describe('when several writes carry the same version at once', () => {
  it('then exactly one PATCH wins, the others get 412 with the current case, and one change is recorded', async () => {
    const key = keys.race;
    const before = await get(key);
    const others = ['SEV1', 'SEV2', 'SEV3', 'SEV4'].filter((s) => s !== before.severity);
    const bodies = Array.from({ length: 8 }, (_, i) => ({
      version: before.version,
      severity: others[i % others.length],
      fields: { service: `Drive ${i}` },
    }));
    const answers = await Promise.all(bodies.map((b) => patch(key, b)));

    expect(answers.map((a) => a.status).sort()).toEqual([200, 412, 412, 412, 412, 412, 412, 412]);
    for (const lost of answers.filter((a) => a.status === 412)) {
      expect(lost.body.error).toBe('version-conflict');
      expect(lost.body.current).toMatchObject({ key, version: before.version + 1 });
    }
    const winner = bodies[answers.findIndex((a) => a.status === 200)]!;
    const after = await get(key);
    expect(after.version).toBe(before.version + 1);
    expect(after.severity).toBe(winner.severity);
    expect(after.fields.service).toBe(winner.fields.service);
    expect(ofKind(after, 'change')).toHaveLength(ofKind(before, 'change').length + 1);
    expect(after.timeline).toHaveLength(before.timeline.length + 1);
  });

  it('then exactly one note is added, and the others get 412', async () => {
    const key = keys.race;
    const before = await get(key);
    const texts = Array.from({ length: 8 }, (_, i) => `Racing note ${i}`);
    const answers = await Promise.all(
      texts.map((text) =>
        call(desk.token, 'POST', `/api/cases/${key}/notes`, { version: before.version, text }),
      ),
    );

    expect(answers.map((a) => a.status).sort()).toEqual([201, 412, 412, 412, 412, 412, 412, 412]);
    for (const lost of answers.filter((a) => a.status === 412)) {
      expect(lost.body.error).toBe('version-conflict');
      expect(lost.body.current?.version).toBe(before.version + 1);
    }
    const after = await get(key);
    expect(after.version).toBe(before.version + 1);
    const notes = ofKind(after, 'note');
    expect(notes).toHaveLength(ofKind(before, 'note').length + 1);
    expect(notes.at(-1)!.note!.text).toBe(texts[answers.findIndex((a) => a.status === 201)]);
    expect(after.timeline).toHaveLength(before.timeline.length + 1);
  });
});

describe('when a write carries an older version', () => {
  it('then a PATCH, a note and a tick answer 412 and change nothing', async () => {
    const key = keys.race;
    const before = await get(key);
    expect(before.version).toBeGreaterThan(0);
    const old = before.version - 1;
    const severity = before.severity === 'SEV1' ? 'SEV4' : 'SEV1';

    const stalePatch = await patch(key, { version: old, severity });
    expect(stalePatch.status).toBe(412);
    expect(stalePatch.body).toMatchObject({
      error: 'version-conflict',
      current: { version: before.version },
    });
    const staleNote = await call(desk.token, 'POST', `/api/cases/${key}/notes`, {
      version: old,
      text: 'Too late',
    });
    expect(staleNote.status).toBe(412);
    const staleTick = await call(desk.token, 'PUT', `/api/cases/${key}/checklist/committee-review`, {
      version: old,
      done: true,
    });
    expect(staleTick.status).toBe(412);

    const after = await get(key);
    expect(after.version).toBe(before.version);
    expect(after.severity).toBe(before.severity);
    expect(after.timeline).toEqual(before.timeline);
    expect(after.checklist).toEqual(before.checklist);
  });
});

describe('when one PATCH changes several fields', () => {
  it('then the timeline gets one change entry listing each field from and to, with who and when', async () => {
    const key = keys.race;
    const before = await get(key);
    const severity = before.severity === 'SEV2' ? 'SEV3' : 'SEV2';
    const started = Date.now();
    const res = await patch(key, {
      version: before.version,
      severity,
      owner: member.email,
      personalData: true,
      fields: { service: 'Google Drive' },
    });
    const finished = Date.now();
    expect(res.status).toBe(200);
    expect(res.body.timeline).toHaveLength(before.timeline.length + 1);
    const entry = res.body.timeline.at(-1)!;
    expect(entry.kind).toBe('change');
    expect(entry.by).toEqual(admin);
    expect(entry.by!.name).toBe('Test Admin');
    const at = Date.parse(entry.at);
    expect(at).toBeGreaterThanOrEqual(started - 1000);
    expect(at).toBeLessThanOrEqual(finished + 1000);
    const changes = [...entry.change!.changes].sort((a, b) => a.field.localeCompare(b.field));
    expect(changes).toEqual([
      { field: 'fields.service', from: before.fields.service ?? null, to: 'Google Drive' },
      { field: 'owner', from: null, to: { id: member.id, name: member.name } },
      { field: 'personalData', from: false, to: true },
      { field: 'severity', from: before.severity, to: severity },
    ]);
    expect(res.body).toMatchObject({
      severity,
      personalData: true,
      owner: { id: member.id, name: member.name },
      version: before.version + 1,
    });
  });
});

describe('when the committee works the personal-device checklist of seed 000', () => {
  // The procedure's steps in the seed's order, by a word or two of each.
  const SEED_STEPS = [
    /stop .*work on the device/i,
    /disconnect the device/i,
    /tell the committee the same day/i,
    /clean device, change the passwords/i,
    /revoke active sessions/i,
    /record what data, mailboxes or apps/i,
    /rotate shared credentials/i,
    /decide if this is a data incident/i,
    /restore access only after the review/i,
  ];

  it('then each tick is recorded with who and when, one timeline entry each, and unticking works', async () => {
    const key = keys.checklist;
    let c = await get(key);
    expect(c.type).toBe('DEV');
    expect(c.checklist).toHaveLength(SEED_STEPS.length);
    c.checklist.forEach((item, i) => {
      expect(item.label).toMatch(SEED_STEPS[i]!);
      expect(item.done).toBe(false);
    });
    const ticksBefore = ofKind(c, 'checklist').length;
    expect(ticksBefore).toBe(0);

    const started = Date.now();
    for (const item of c.checklist) {
      const res = await call(desk.token, 'PUT', `/api/cases/${key}/checklist/${item.id}`, {
        version: c.version,
        done: true,
      });
      expect(res.status).toBe(200);
      expect(res.body.version).toBe(c.version + 1);
      c = res.body;
    }

    const after = await get(key);
    for (const item of after.checklist) {
      expect(item).toMatchObject({ done: true, by: admin });
      expect(Date.parse(item.at!)).toBeGreaterThanOrEqual(started - 1000);
    }
    const entries = ofKind(after, 'checklist');
    expect(entries.map((e) => e.checklist)).toEqual(
      after.checklist.map((i) => ({ item: i.id, label: i.label, done: true })),
    );
    for (const e of entries) expect(e.by).toEqual(admin);

    const unknown = await call(desk.token, 'PUT', `/api/cases/${key}/checklist/wipe-the-device`, {
      version: after.version,
      done: true,
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toBe('checklist-item-not-found');

    const first = after.checklist[0]!;
    const unticked = await call(desk.token, 'PUT', `/api/cases/${key}/checklist/${first.id}`, {
      version: after.version,
      done: false,
    });
    expect(unticked.status).toBe(200);
    expect(unticked.body.checklist[0]).toMatchObject({ id: first.id, done: false, by: admin });
    expect(unticked.body.checklist.slice(1).every((i) => i.done)).toBe(true);
    const last = ofKind(unticked.body, 'checklist');
    expect(last).toHaveLength(SEED_STEPS.length + 1);
    expect(last.at(-1)!.checklist).toEqual({ item: first.id, label: first.label, done: false });
  });
});

describe('when notes and vendor updates are recorded', () => {
  it('then a note is on the timeline with who wrote it', async () => {
    const key = keys.notes;
    const before = await get(key);
    const res = await call(desk.token, 'POST', `/api/cases/${key}/notes`, {
      version: before.version,
      text: 'Asked the comms team which tool they use.',
    });
    expect(res.status).toBe(201);
    expect(res.body.version).toBe(before.version + 1);
    expect(res.body.timeline.at(-1)).toMatchObject({
      kind: 'note',
      by: admin,
      note: { text: 'Asked the comms team which tool they use.' },
      at: expect.any(String),
    });
  });

  it('then the first vendor update records the vendor contact, so the closure needs vendor actions', async () => {
    const key = keys.notes;
    const before = await get(key);
    expect(before.vendorInvolved).toBe(false);
    expect(before.closure.required).not.toContain('vendorActions');

    const first = await call(desk.token, 'POST', `/api/cases/${key}/vendor-updates`, {
      version: before.version,
      vendor: 'Mailer Inc',
      reference: 'MI-5521',
      text: 'We are looking into your account settings.',
    });
    expect(first.status).toBe(201);
    expect(first.body.timeline.at(-1)).toMatchObject({
      kind: 'vendor-update',
      by: admin,
      vendorUpdate: {
        vendor: 'Mailer Inc',
        reference: 'MI-5521',
        text: 'We are looking into your account settings.',
      },
    });
    expect(first.body).toMatchObject({
      vendorInvolved: true,
      vendorContact: { organisation: 'Mailer Inc', ticket: 'MI-5521' },
    });
    expect(first.body.closure.required).toContain('vendorActions');

    const second = await call(desk.token, 'POST', `/api/cases/${key}/vendor-updates`, {
      version: first.body.version,
      vendor: 'Other Vendor',
      reference: 'OV-1',
      text: 'Not ours.',
    });
    expect(second.status).toBe(201);
    expect(second.body.vendorContact).toEqual(first.body.vendorContact);
    expect(ofKind(second.body, 'vendor-update')).toHaveLength(2);
  });
});

describe('when the per-type fields, the type or a field id are set', () => {
  it('then a field filled in leaves missingFields, and clearing it puts it back', async () => {
    const key = keys.notes;
    const before = await get(key);
    expect(before.missingFields.map((f) => f.id)).toContain('service');
    const filled = await update(key, { fields: { service: 'Member portal' } });
    expect(filled.fields.service).toBe('Member portal');
    expect(filled.missingFields.map((f) => f.id)).not.toContain('service');
    expect(filled.missingFields.length).toBe(before.missingFields.length - 1);
    expect((await get(key)).missingFields.map((f) => f.id)).not.toContain('service');

    const cleared = await update(key, { fields: { service: null } });
    expect(cleared.missingFields.map((f) => f.id)).toContain('service');
    await update(key, { fields: { service: 'Member portal' } });
  });

  it('then an unknown field id, an unknown type or an empty vendor contact is a 400, changing nothing', async () => {
    const key = keys.notes;
    const before = await get(key);
    const field = await patch(key, { version: before.version, fields: { shoeSize: '42' } });
    expect(field.status).toBe(400);
    expect(field.body.error).toBe('unknown-field');
    const type = await patch(key, { version: before.version, type: 'XYZ' });
    expect(type.status).toBe(400);
    expect(type.body.error).toBe('unknown-type');
    // An empty vendor contact would count as "vendor involved" with nobody named: refused.
    const vendor = await patch(key, { version: before.version, vendorContact: {} });
    expect(vendor.status).toBe(400);
    expect(vendor.body.error).toBe('bad-body');
    const after = await get(key);
    expect(after).toMatchObject({ version: before.version, type: before.type });
    expect(after.fields).toEqual(before.fields);
  });
});

describe('when the register is filtered', () => {
  const R = ['r1', 'r2', 'r3', 'r4'] as const;
  let days: string[];

  beforeAll(async () => {
    await update(keys.r1, { severity: 'SEV4', owner: admin.id, fields: { service: 'Member portal' } });
    await update(keys.r2, {
      type: 'INC',
      severity: 'SEV1',
      owner: member.id,
      vendorContact: { organisation: 'Payments Co', ticket: 'PC-9' },
    });
    await walk(keys.r2, 'Triage');
    await update(keys.r3, { severity: 'SEV2', fields: { service: 'Website' } });
    await walk(keys.r3, 'Triage', 'InProgress');
    days = await Promise.all(R.map(async (r) => (await get(keys[r])).createdAt.slice(0, 10)));
  });

  /** The suite's register cases a query returns, by name, in R's order. */
  async function matching(query: string, token = desk.token) {
    const found = new Set(await listKeys(query, token));
    return R.filter((r) => found.has(keys[r]));
  }

  const dayOffset = (day: string, n: number) =>
    new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);

  it('then type, severity and status each give exactly their cases', async () => {
    expect(await matching('type=INC')).toEqual(['r2']);
    expect(await matching('type=SUP')).toEqual(['r1', 'r3', 'r4']);
    expect(await matching('severity=SEV4')).toEqual(['r1']);
    expect(await matching('severity=SEV1')).toEqual(['r2']);
    expect(await matching('severity=SEV2')).toEqual(['r3']);
    expect(await matching('severity=SEV3')).toEqual(['r4']);
    expect(await matching('status=New')).toEqual(['r1', 'r4']);
    expect(await matching('status=Triage')).toEqual(['r2']);
    expect(await matching('status=InProgress')).toEqual(['r3']);
    expect(await matching('status=Closed')).toEqual([]);
  });

  it('then service, owner and vendor each give exactly their cases', async () => {
    expect(await matching('service=portal')).toEqual(['r1']);
    expect(await matching('service=website')).toEqual(['r3']);
    expect(await matching('owner=me')).toEqual(['r1']);
    expect(await matching('owner=me', member.token)).toEqual(['r2']);
    expect(await matching(`owner=${member.id}`)).toEqual(['r2']);
    expect(await matching(`owner=${admin.id}`)).toEqual(['r1']);
    expect(await matching('owner=none')).toEqual(['r3', 'r4']);
    expect(await matching('vendor=yes')).toEqual(['r2']);
    expect(await matching('vendor=no')).toEqual(['r1', 'r3', 'r4']);
    expect(await matching('type=SUP&owner=none&severity=SEV2')).toEqual(['r3']);
  });

  it('then from and to bound the day each case was created, and q finds key, subject and reporter', async () => {
    const first = [...days].sort()[0]!;
    const last = [...days].sort().at(-1)!;
    expect(await matching(`from=${first}&to=${last}`)).toEqual([...R]);
    expect(await matching(`to=${dayOffset(first, -1)}`)).toEqual([]);
    expect(await matching(`from=${dayOffset(last, 1)}`)).toEqual([]);
    expect(await matching(`from=${last}`)).toEqual(R.filter((_, i) => days[i]! >= last));

    expect(await matching(`q=${encodeURIComponent('donation receipts')}`)).toEqual(['r2']);
    expect(await matching(`q=${keys.r4}`)).toEqual(['r4']);
    const reporter = (await get(keys.r3)).reporter.address;
    expect(await matching(`q=${encodeURIComponent(reporter)}`)).toEqual(['r3']);
  });

  it('then a day that is not a calendar day is refused with 400, by the list and by the export', async () => {
    const bad = ['from=2026-13-01', 'to=2026-00-10', 'from=2026-02-30'];
    const answers: unknown[] = [];
    for (const query of bad) {
      const list = await call(desk.token, 'GET', `/api/cases?${query}`);
      answers.push({ query, list: list.status, error: list.body.error });
      // The export streams: a failure after the headers would cut the response short.
      const csv = await fetch(`${desk.url}/api/cases.csv?${query}`, {
        headers: { authorization: `Bearer ${desk.token}` },
      })
        .then(async (res) => ({ status: res.status, body: await res.text() }))
        .catch((err: unknown) => ({ status: `failed: ${String(err)}`, body: '' }));
      answers.push({ query, csv: csv.status });
    }
    expect(answers).toEqual(
      bad.flatMap((query) => [
        { query, list: 400, error: 'bad-query' },
        { query, csv: 400 },
      ]),
    );
  });
});

describe('when a case holds personal data (DEV, DAT)', () => {
  const word = 'quarantined';

  it('then it is restricted from the start, and a member sees only a stub', async () => {
    for (const name of ['rdev', 'rdat', 'checklist', 'devClose', 'datClose'] as const) {
      const c = await get(keys[name]);
      expect({ name, type: c.type, restricted: c.restricted }).toEqual({
        name,
        type: name === 'rdat' || name === 'datClose' ? 'DAT' : 'DEV',
        restricted: true,
      });
    }
    // Restricted by its suggested type on arrival, not by any later change.
    expect(ofKind(await get(keys.rdev), 'change')).toEqual([]);

    const list = await call<{ cases: Record<string, unknown>[] }>(
      member.token,
      'GET',
      '/api/cases?limit=200',
    );
    expect(list.status).toBe(200);
    for (const name of ['rdev', 'rdat'] as const) {
      const stub = list.body.cases.find((c) => c.key === keys[name])!;
      expect(stub).toMatchObject({ key: keys[name], restricted: true, hidden: true });
      expect(stub).not.toHaveProperty('subject');
      expect(stub).not.toHaveProperty('reporter');
      expect(JSON.stringify(stub)).not.toContain(word);
    }
    // An ordinary case is listed in full to the member.
    expect(list.body.cases.find((c) => c.key === keys.r4)).toMatchObject({ subject: expect.any(String) });

    const detail = await call(member.token, 'GET', `/api/cases/${keys.rdev}`);
    expect(detail.status).toBe(403);
    expect(detail.body.error).toBe('case-restricted');
    expect(detail.text).not.toContain(word);
  });

  it('then a search by a word of its subject does not return it to a member, and the CSV hides its subject', async () => {
    expect((await listKeys(`q=${word}`)).sort()).toEqual([keys.rdat, keys.rdev].sort());
    expect(await listKeys(`q=${word}`, member.token)).toEqual([]);

    const csv = await fetch(`${desk.url}/api/cases.csv`, {
      headers: { authorization: `Bearer ${member.token}` },
    });
    expect(csv.status).toBe(200);
    const text = await csv.text();
    expect(text).not.toContain(word);
    const row = text.split('\r\n').find((l) => l.startsWith(`${keys.rdev},`))!;
    expect(row.split(',')).toContain('(restricted)');
    const adminCsv = await (
      await fetch(`${desk.url}/api/cases.csv`, { headers: { authorization: `Bearer ${desk.token}` } })
    ).text();
    expect(adminCsv.split('\r\n').find((l) => l.startsWith(`${keys.rdev},`))).toContain(word);
  });

  it('then a member may not work on it, nor lift the restriction, even once they own it; a lead may', async () => {
    const key = keys.rdev;
    const before = await get(key);
    const notYet = await patch(key, { version: before.version, severity: 'SEV1' }, member.token);
    expect(notYet.status).toBe(403);
    expect(notYet.body.error).toBe('case-restricted');

    const owned = await update(key, { owner: member.id }, lead.token);
    expect(owned.owner).toEqual({ id: member.id, name: member.name });
    expect(owned.timeline.at(-1)!.by).toEqual({ id: lead.id, name: lead.name });

    const full = await get(key, member.token);
    expect(full).toMatchObject({ key, restricted: true, subject: expect.stringContaining(word) });
    expect(await listKeys(`q=${word}`, member.token)).toEqual([key]);
    const listed = await call<{ cases: Record<string, unknown>[] }>(
      member.token,
      'GET',
      '/api/cases?limit=200',
    );
    expect(listed.body.cases.find((c) => c.key === key)).toMatchObject({
      subject: expect.stringContaining(word),
    });
    expect(listed.body.cases.find((c) => c.key === key)).not.toHaveProperty('hidden');

    const lift = await patch(key, { version: full.version, restricted: false }, member.token);
    expect(lift.status).toBe(403);
    expect(lift.body.error).toBe('forbidden');
    expect((await get(key)).restricted).toBe(true);

    const lifted = await update(key, { restricted: false }, lead.token);
    expect(lifted.restricted).toBe(false);
    expect(lifted.timeline.at(-1)).toMatchObject({
      kind: 'change',
      by: { id: lead.id, name: lead.name },
      change: { changes: [{ field: 'restricted', from: true, to: false }] },
    });
  });
});
