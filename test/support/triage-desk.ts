import { addUser, createToken } from '../../server/auth/users';
import { casesTagged } from './conversation';
import { startDesk, type Desk } from './desk';
import { newMailbox, uniqueName } from './env';
import { appendMessages, compose } from './mail';
import { waitFor } from './wait';

/**
 * The triage API against the real server and database, on cases opened by real mail: one desk for
 * a test file, with the reports it names as cases, an admin (the desk's token), a member and a
 * lead, and the calls the triage and register tests make.
 */

export interface Person {
  id: string;
  name: string;
}

export interface Entry {
  id: string;
  kind: string;
  at: string;
  by?: Person;
  change?: { changes: { field: string; from: unknown; to: unknown }[]; reason?: string };
  note?: { text: string };
  vendorUpdate?: { vendor: string; reference?: string; text: string };
  checklist?: { item: string; label: string; done: boolean };
}

export interface Detail {
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

export interface ApiError {
  error: string;
  message: string;
  allowed?: string[];
  missing?: string[];
  current?: { key: string; version: number; hidden?: boolean };
}

/** A write answers the case in full, or an error. */
export type Answer = Detail & ApiError;

/** A closure record that satisfies every requirement of the default playbook. */
export const COMPLETE_CLOSURE = {
  rootCause: 'A DNS record was changed by mistake',
  vendorActions: 'The host restored the record and added a change lock',
  accountChanges: 'Rotated the hosting admin password',
  followUps: [{ task: 'Add DNS monitoring', owner: 'Ana R.', due: '2026-05-01' }],
  lessons: 'Review DNS changes in pairs',
};

/** An ordinary request (SUP): the version races, and the several-field PATCH. */
const DRIVE = {
  subject: 'Shared drive permissions',
  text: 'Can the treasurer get edit rights on the drive?',
};

/** The reports the triage and register tests open cases from, by name; a file names the ones it needs. */
export const REPORTS = {
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
  race: DRIVE,
  fields: DRIVE,
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
export type ReportName = keyof typeof REPORTS;

export const ofKind = (c: Detail, kind: string) => c.timeline.filter((e) => e.kind === kind);

/**
 * Registers the file's beforeAll and afterAll: a desk whose mailbox receives `names` as reports,
 * and the people. The calls, `keys`, `admin`, `member` and `lead` can be taken apart at once (the
 * objects are filled in before the first test); `url` and `token` are getters, read on the
 * returned object (`desk.url`) once the desk has started.
 */
export function triageDesk<N extends ReportName>(prefix: string, names: readonly N[]) {
  let desk: Desk;
  const keys = {} as Record<N, string>;
  const admin = {} as Person;
  const member = {} as Person & { email: string; token: string };
  const lead = {} as Person & { email: string; token: string };

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
    if (res.status !== 200)
      throw new Error(`PATCH ${key} ${JSON.stringify(body)}: ${res.status} ${res.text}`);
    return res.body;
  }

  /** Moves a case along legal moves, one PATCH each. */
  async function walk(key: string, ...statuses: string[]): Promise<Detail> {
    let c = await get(key);
    for (const status of statuses) c = await update(key, { status });
    return c;
  }

  async function listKeys(query: string, token = desk.token): Promise<string[]> {
    const res = await call<{ cases: { key: string }[] }>(token, 'GET', `/api/cases?limit=200&${query}`);
    if (res.status !== 200) throw new Error(`GET /api/cases?${query}: ${res.status} ${res.text}`);
    return res.body.cases.map((c) => c.key);
  }

  beforeAll(async () => {
    const box = await newMailbox(prefix);
    desk = await startDesk({ mailbox: box });
    const tag = uniqueName(prefix);
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
    Object.assign(admin, { id: me.body.id, name: me.body.name });
    const people = async (role: string, name: string) => {
      const email = `${uniqueName(role)}@example.org`;
      const user = await addUser(email, name, role);
      return { id: String(user._id), name, email, token: await createToken(email) };
    };
    Object.assign(member, await people('member', 'Mia Member'));
    Object.assign(lead, await people('lead', 'Leo Lead'));
  }, 120_000);
  afterAll(() => desk.stop());

  return {
    get url() {
      return desk.url;
    },
    get token() {
      return desk.token;
    },
    keys,
    admin,
    member,
    lead,
    call,
    patch,
    get,
    update,
    walk,
    listKeys,
  };
}
