import {
  casesTagged,
  inbound,
  startConversationRig,
  waitForCase,
  type CaseView,
  type ConversationRig,
} from '../support/conversation';
import { addUser, createToken } from '../../server/auth/users';
import { loadPlaybook } from '../../server/cases/playbook';
import { compilePlaybook } from '../../server/cases/suggest';
import { Intake } from '../../server/intake/ingest';
import { testLog } from '../support/desk';
import { uniqueName } from '../support/env';
import { parseMessage } from '../../server/mail/parse';
import { compose } from '../support/mail';
import { waitFor } from '../support/wait';

/**
 * A sender's storm through the real Dovecot, database and SMTP relay: from their sixth new case
 * within an hour on, their mail goes into one storm case per hour of their own, never into an
 * unrelated case; a report that suggests SEV1–2 still opens its own case; and a member can split
 * any message out of the storm into a case of its own.
 */

let rig: ConversationRig;
beforeAll(async () => {
  rig = await startConversationRig();
});
afterAll(() => rig.stop());

const sentTo = (address: string) => rig.sentByDesk().filter((m) => m.to.includes(address));

/** Every case of this sender (the register searches the reporter's address), once `total` messages are on them. */
async function casesOf(sender: string, total: number): Promise<CaseView[]> {
  return waitFor(
    `${total} messages from ${sender} on cases`,
    async () => {
      const found = await casesTagged(rig.desk, sender);
      const onCases = found.reduce((n, c) => n + inbound(c).length, 0);
      const counted = found.every((c) => !c.storm || c.storm.messages === inbound(c).length);
      return onCases === total && counted ? found : null;
    },
    60_000,
    250,
  );
}

async function sendReports(sender: string, subjects: string[]): Promise<Buffer[]> {
  const raws: Buffer[] = [];
  for (const [i, subject] of subjects.entries()) {
    const raw = await compose({
      from: sender,
      to: rig.deskBox.user,
      subject,
      text: `Message number ${i}: ${subject}.`,
    });
    await rig.send(raw, sender);
    raws.push(raw);
  }
  return raws;
}

type Split = CaseView & { splitFrom: { key: string; version: number } };

/** Asks the desk to split an entry out of a case, as the admin, or as the member with `token`. */
function split<T = Split>(key: string, version: number, entryId: string, token?: string) {
  return rig.desk.api<T>(`/api/cases/${key}/split`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ version, entryId }),
  });
}

/** The sender answers one of their earlier messages (In-Reply-To its Message-ID). */
async function answer(sender: string, original: Buffer, subject: string, text: string): Promise<Buffer> {
  const id = (await parseMessage(original)).messageId!;
  const raw = await compose({
    from: sender,
    to: rig.deskBox.user,
    subject,
    inReplyTo: id,
    references: [id],
    text,
  });
  await rig.send(raw, sender);
  return raw;
}

describe('when one sender sends 20 new reports in a row (a mail loop)', () => {
  it('then five cases open, the other fifteen go into their storm case with its count, none into another case, and one acknowledgement is sent', async () => {
    const sender = `looper-${uniqueName('l')}@example.org`.toLowerCase();
    await sendReports(
      sender,
      Array.from({ length: 20 }, (_, i) => `Ticket ${i} about the printer`),
    );
    const cases = await casesOf(sender, 20);
    const storms = cases.filter((c) => c.storm);
    const own = cases.filter((c) => !c.storm);
    expect(own).toHaveLength(5);
    for (const c of own) expect(inbound(c)).toHaveLength(1);
    // One storm case per UTC hour: a run that crosses the hour has two.
    const hours = new Set(storms.map((c) => c.storm!.hour));
    expect(storms.length).toBe(hours.size);
    expect(storms.length).toBeLessThanOrEqual(2);
    expect(storms.reduce((n, c) => n + c.storm!.messages, 0)).toBe(15);
    for (const c of storms) {
      expect(c.storm!.sender).toBe(sender);
      expect(c.subject).toBe(
        `Storm: mail from ${sender}, ${c.storm!.hour.slice(0, 10)} ${c.storm!.hour.slice(11, 13)}:00–${c.storm!.hour.slice(11, 13)}:59 UTC`,
      );
      expect(c.timeline.filter((e) => e.notice?.code === 'storm')).toHaveLength(1);
      for (const e of inbound(c)) expect(e.email!.thread?.by).toBe('storm');
    }
    // The inbox shows the storm case with how many messages it holds.
    const list = await rig.desk.api<{ cases: { key: string; storm: { messages: number } | null }[] }>(
      `/api/cases?q=${encodeURIComponent(sender)}&limit=50`,
    );
    const listed = list.body.cases.filter((c) => c.storm);
    expect(listed.map((c) => c.storm!.messages).reduce((a, b) => a + b, 0)).toBe(15);
    await new Promise((res) => setTimeout(res, 1500));
    expect(sentTo(sender)).toHaveLength(1);
  }, 120_000);
});

describe('when a busy sender reports the public website down after five small reports', () => {
  let sender: string;
  let storm: CaseView;
  let urgent: CaseView;
  let raws: Buffer[];
  beforeAll(async () => {
    sender = `comms-${uniqueName('c')}@example.org`.toLowerCase();
    raws = await sendReports(sender, [
      'Typo on the about page',
      'Logo is blurry',
      'Footer link broken',
      'Old phone number on contact page',
      'Wrong opening hours',
      'Newsletter image missing',
      'URGENT: the public website is down',
      'Another typo on the blog',
    ]);
    const cases = await casesOf(sender, 8);
    storm = cases.find((c) => c.storm)!;
    urgent = cases.find((c) => c.subject === 'URGENT: the public website is down')!;
  }, 120_000);

  it('then the urgent report opens its own case as urgent, and only the minor overflow goes into the storm case', () => {
    expect(urgent).toBeDefined();
    expect(urgent.storm).toBeNull();
    expect(['SEV1', 'SEV2']).toContain(urgent.severity);
    expect(urgent.status).toBe('New');
    expect(inbound(urgent)).toHaveLength(1);
    expect(storm).toBeDefined();
    expect(
      inbound(storm)
        .map((e) => e.email!.subject)
        .sort(),
    ).toEqual(['Another typo on the blog', 'Newsletter image missing']);
    expect(storm.storm!.messages).toBe(2);
  });

  it('then a member splits a message out of the storm into a case of its own, and the sender’s reply to it threads there', async () => {
    const entry = inbound(storm).find((e) => e.email!.subject === 'Another typo on the blog')!;
    const stale = await split(storm.key, storm.version + 1, entry.id);
    expect(stale.status).toBe(412);

    const res = await split(storm.key, storm.version, entry.id);
    expect(res.status).toBe(201);
    const opened = res.body;
    expect(opened.key).not.toBe(storm.key);
    expect(opened.splitFrom).toEqual({ key: storm.key, version: storm.version + 1 });
    expect(opened.storm).toBeNull();
    expect(opened.status).toBe('New');
    expect(opened.subject).toBe('Another typo on the blog');
    expect(opened.reporter.address).toBe(sender);
    expect(opened.links).toEqual([{ key: storm.key, relation: 'split-from' }]);
    expect(inbound(opened).map((e) => e.id)).toEqual([entry.id]);
    expect(opened.timeline.some((e) => e.notice?.code === 'split-from')).toBe(true);

    const after = (await rig.desk.api<CaseView>(`/api/cases/${storm.key}`)).body;
    expect(inbound(after).map((e) => e.email!.subject)).toEqual(['Newsletter image missing']);
    expect(after.storm!.messages).toBe(1);
    expect(after.timeline.filter((e) => e.notice?.code === 'split')).toHaveLength(1);

    // The same split again (a phone's outbox replaying it): the same case, and nothing more.
    const again = await split(storm.key, storm.version, entry.id);
    expect(again.status).toBe(201);
    expect(again.body.key).toBe(opened.key);
    const unchanged = (await rig.desk.api<CaseView>(`/api/cases/${storm.key}`)).body;
    expect(unchanged.version).toBe(after.version);
    expect(unchanged.timeline.filter((e) => e.notice?.code === 'split')).toHaveLength(1);
    // An entry of another case is not this case's to opened.
    const foreign = await split(storm.key, after.version, inbound(urgent)[0]!.id);
    expect(foreign.status).toBe(404);

    const reply = await answer(
      sender,
      raws[7]!,
      'Re: Another typo on the blog',
      'It is on the second paragraph.',
    );
    const threaded = await waitForCase(
      rig.desk,
      opened.key,
      (c) => inbound(c).length === 2,
      'the reply on the split case',
    );
    const replyId = (await parseMessage(reply)).messageId;
    expect(inbound(threaded).find((e) => e.email!.messageId === replyId)!.email!.thread?.by).toBe('headers');
  }, 60_000);

  it('then a member who may not see restricted cases, splitting a stolen laptop out of a case, is shown only that the new case exists', async () => {
    // A reply on the urgent case that is a report of its own: a stolen laptop (DEV, restricted).
    await answer(
      sender,
      raws[6]!,
      'Re: URGENT: the public website is down',
      'Unrelated, sorry: my work laptop was stolen on the train this morning.',
    );
    const held = await waitForCase(
      rig.desk,
      urgent.key,
      (c) => inbound(c).length === 2,
      'the laptop report on the urgent case',
    );
    const entry = inbound(held).find((e) => e.email!.text.includes('laptop'))!;
    const email = `${uniqueName('member')}@example.org`.toLowerCase();
    await addUser(email, 'Mo Member', 'member');
    const token = await createToken(email);
    const res = await split<Record<string, unknown>>(urgent.key, held.version, entry.id, token);
    expect(res.status).toBe(201);
    const body = res.body;
    expect(body).toMatchObject({ restricted: true, hidden: true, type: 'DEV' });
    expect(JSON.stringify(body)).not.toContain('laptop');
    expect(body).not.toHaveProperty('timeline');
  }, 60_000);

  it('then the first message of another case cannot be split out of it', async () => {
    const { version } = (await rig.desk.api<CaseView>(`/api/cases/${urgent.key}`)).body;
    const res = await split<{ error: { code: string } }>(urgent.key, version, inbound(urgent)[0]!.id);
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toContain('opening-entry');
  });
});

describe('when two instances read one sender’s storm and one alert’s repeats at the same time', () => {
  const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000;
  const other = () =>
    new Intake({
      playbook: compilePlaybook(loadPlaybook()),
      log: testLog,
      alertSources: [{ sender: 'checks@uptime.example' }],
    });

  it('then five cases and one storm case open, holding every message once', async () => {
    const sender = `racer-${uniqueName('r')}@example.org`.toLowerCase();
    const raws = await Promise.all(
      Array.from({ length: 14 }, (_, i) =>
        compose({ from: sender, subject: `Race ${i}`, text: `Report ${i}.` }),
      ),
    );
    const instances = [rig.desk.intake, other()];
    const results = await Promise.all(
      raws.map((raw, i) =>
        instances[i % 2]!.ingestOrQuarantine(raw, { kind: 'file', receivedAt: new Date(hour + i * 1000) }),
      ),
    );
    expect(results.map((r) => r.outcome).filter((o) => o !== 'created' && o !== 'appended')).toEqual([]);
    const cases = await casesOf(sender, 14);
    expect(cases.filter((c) => !c.storm)).toHaveLength(5);
    const storms = cases.filter((c) => c.storm);
    expect(storms).toHaveLength(1);
    expect(storms[0]!.storm!.messages).toBe(9);
  });

  it('then an alert read twice at once opens one case', async () => {
    const tag = uniqueName('race');
    const raws = await Promise.all(
      [0, 1, 2, 3].map((i) =>
        compose({
          from: 'checks@uptime.example',
          subject: `DOWN: ${tag}`,
          text: `Check ${i} failed.`,
          headers: { 'Auto-Submitted': 'auto-generated' },
        }),
      ),
    );
    const instances = [other(), other()];
    const results = await Promise.all(
      raws.map((raw, i) =>
        instances[i % 2]!.ingestOrQuarantine(raw, { kind: 'file', receivedAt: new Date(hour) }),
      ),
    );
    const keys = new Set(results.map((r) => ('caseKey' in r ? r.caseKey : r.outcome)));
    expect(keys.size).toBe(1);
    const [c] = await casesTagged(rig.desk, tag);
    expect(inbound(c!)).toHaveLength(4);
  });
});
