import { uniqueName } from '../support/env';
import {
  at,
  ClockRig,
  eachTestAClockRig,
  clockOf,
  HOUR,
  MINUTE,
  type CaseView,
  lines,
} from '../support/clock-rig';

// The 72-hour personal-data breach deadline (GDPR Art. 33) with its reminders, the breach record,
// and the register's filter for cases whose clocks ran out.

let rig: ClockRig;
let now: Date;
eachTestAClockRig((r) => (rig = r));

const ownerAndLeads = (kind: string) => lines(kind, 'Plain Member', 'Lead A', 'Lead B');

/** A SEV3 case the plain member owns and marks as involving personal data. */
async function personalDataCase(): Promise<CaseView> {
  const c = await rig.openCase(`Phishing mail with our logo ${uniqueName('tag')}`, 'A fake login page.');
  expect(c.severity).toBe('SEV3');
  const { plain } = rig.cast;
  const marked = await rig.patch(plain, c.key, { owner: plain.id, personalData: true });
  expect(marked.breach).toEqual({ awareAt: c.firstSeenAt, authorityNotified: null });
  return marked;
}

const putBreach = (key: string, version: number, body: Record<string, unknown>, who = rig.cast.plain) =>
  rig.call<CaseView & { error?: string }>(who, 'PUT', `/cases/${key}/breach`, { version, ...body });

describe('when a case involves personal data', () => {
  it('then owner and leads are reminded 24, 4 and 1 hours before the 72 hours from awareness run out, and told when they have, each once', async () => {
    const c = await personalDataCase();
    // Awareness came ten hours before the report: the deadline follows it.
    const aware = at(c.firstSeenAt, -10 * HOUR);
    const moved = await putBreach(c.key, c.version, { awareAt: aware.toISOString() });
    expect(moved.status).toBe(200);
    expect(moved.body.breach.awareAt).toBe(aware.toISOString());
    expect(clockOf(moved.body, 'breach')).toEqual({
      kind: 'breach',
      state: 'running',
      dueAt: at(aware, 72 * HOUR).toISOString(),
    });
    const scheduler = rig.scheduler(() => now);
    const steps: [number, string[]][] = [
      [48 * HOUR - 1000, []],
      [48 * HOUR, ownerAndLeads('breach-deadline')],
      [48 * HOUR, []],
      // Where the reminder would have been, reckoned from the report: nothing.
      [58 * HOUR, []],
      [68 * HOUR - 1000, []],
      [68 * HOUR, ownerAndLeads('breach-deadline')],
      [70 * HOUR, []],
      [71 * HOUR, ownerAndLeads('breach-deadline')],
      [72 * HOUR - 1000, []],
      [72 * HOUR, ownerAndLeads('breach-deadline-passed')],
      [80 * HOUR, []],
    ];
    for (const [ms, expected] of steps) {
      now = at(aware, ms);
      await scheduler.tick();
      expect({ at: ms / HOUR, pushes: rig.newPushes() }).toEqual({ at: ms / HOUR, pushes: expected });
    }
    const ids = [...new Set(rig.pushes(c.key).map((p) => p.payload.id))];
    const a = aware.toISOString();
    expect(ids).toEqual([`breach-24h:${a}`, `breach-4h:${a}`, `breach-1h:${a}`, `breach-passed:${a}`]);
    // A SEV3 case: the reminders can wait out quiet hours.
    expect(rig.pushes(c.key).every((p) => p.delivery.urgency === 'normal')).toBe(true);
    const log = await rig.alertLog(c.key);
    expect(log.map((e) => [e.id, e.to, e.delivered])).toEqual(
      ids.map((id) => [id, ['Lead A', 'Lead B', 'Plain Member'], 3]),
    );
  });

  it('then recording the authority’s notification stops the reminders', async () => {
    const c = await personalDataCase();
    const t0 = new Date(c.firstSeenAt);
    const scheduler = rig.scheduler(() => now);
    now = at(t0, 48 * HOUR);
    await scheduler.tick();
    expect(rig.newPushes()).toEqual(ownerAndLeads('breach-deadline'));

    const notifiedAt = new Date().toISOString();
    const res = await putBreach(c.key, (await rig.caseView(c.key)).version, {
      authorityNotified: { at: notifiedAt, reference: 'DPA-2024-0042' },
    });
    expect(res.status).toBe(200);
    expect(res.body.breach.authorityNotified).toMatchObject({ at: notifiedAt, reference: 'DPA-2024-0042' });
    expect(clockOf(res.body, 'breach')).toMatchObject({ state: 'stopped', doneAt: notifiedAt });
    for (const h of [68, 71, 72, 100]) {
      now = at(t0, h * HOUR);
      expect((await scheduler.tick()).sent).toEqual([]);
    }
    expect(rig.newPushes()).toEqual([]);
  });

  it('then a notification more than 72 hours after awareness is refused without the reasons for the delay, and taken with them', async () => {
    // A data incident: the breach clock runs without anyone marking it; restricted, so a lead records it.
    const c = await rig.openCase(
      `Member list sent to the wrong recipient ${uniqueName('tag')}`,
      'The spreadsheet with email addresses went to the wrong person.',
    );
    expect(c).toMatchObject({ severity: 'SEV1', breach: { awareAt: c.firstSeenAt } });
    const aware = new Date(Date.now() - 73 * HOUR).toISOString();
    const { leadA } = rig.cast;
    const moved = await putBreach(c.key, c.version, { awareAt: aware }, leadA);
    expect(moved.status).toBe(200);
    expect(clockOf(moved.body, 'breach')).toMatchObject({ state: 'breached' });

    const notice = { at: new Date().toISOString(), reference: 'DPA-2024-0043' };
    const refused = await putBreach(c.key, moved.body.version, { authorityNotified: notice }, leadA);
    expect(refused).toMatchObject({ status: 400, body: { error: 'reason-required' } });
    expect((await rig.caseView(c.key)).breach.authorityNotified).toBeNull();

    const reason = 'The processor told us only on the third day.';
    const taken = await putBreach(
      c.key,
      moved.body.version,
      { authorityNotified: { ...notice, reason } },
      leadA,
    );
    expect(taken.status).toBe(200);
    expect(taken.body.breach).toMatchObject({ awareAt: aware, authorityNotified: { ...notice, reason } });
    expect(clockOf(taken.body, 'breach').state).toBe('stopped');
  });
});

interface ListedCase {
  key: string;
  clocks: { kind: string; state: string; dueAt: string; late?: boolean }[];
}

describe('when the register is filtered by sla=breached', () => {
  it('then it lists exactly the cases with a clock run out, and each case shows its clocks', async () => {
    const hourAgo = new Date(Date.now() - HOUR);
    const unanswered = await rig.openCase(`[URGENT] site is down ${uniqueName('a')}`, '.', hourAgo);
    const answered = await rig.openCase(`[URGENT] site is down ${uniqueName('b')}`, '.');
    expect((await rig.call(rig.cast.plain, 'POST', `/cases/${answered.key}/ack`)).status).toBe(200);
    // Taken, but only after its 15 minutes had run out: still a breached SLA.
    const answeredLate = await rig.openCase(`[URGENT] site is down ${uniqueName('e')}`, '.', hourAgo);
    expect((await rig.call(rig.cast.plain, 'POST', `/cases/${answeredLate.key}/ack`)).status).toBe(200);
    const twoDaysAgo = new Date(Date.now() - 48 * HOUR);
    const old = await rig.openCase(`Phishing mail ${uniqueName('c')}`, '.', twoDaysAgo);
    const fresh = await rig.openCase(`Phishing mail ${uniqueName('d')}`, '.');
    const late = await personalDataCase();
    const aware = new Date(Date.now() - 73 * HOUR).toISOString();
    expect((await putBreach(late.key, late.version, { awareAt: aware })).status).toBe(200);

    const breached = await rig.call<{ cases: ListedCase[] }>('admin', 'GET', '/cases?sla=breached&limit=200');
    expect(breached.status).toBe(200);
    expect(breached.body.cases.map((c) => c.key).sort()).toEqual(
      [unanswered.key, answeredLate.key, old.key, late.key].sort(),
    );

    const all = await rig.call<{ cases: ListedCase[] }>('admin', 'GET', '/cases?limit=200');
    const clocks = (key: string) => all.body.cases.find((c) => c.key === key)!.clocks;
    expect(all.body.cases).toHaveLength(6);
    expect(clocks(unanswered.key)).toEqual([
      { kind: 'response', state: 'breached', dueAt: at(hourAgo, 15 * MINUTE).toISOString() },
    ]);
    expect(clocks(answered.key)).toEqual([
      expect.objectContaining({ kind: 'response', state: 'met' }),
      expect.objectContaining({ kind: 'update', state: 'running' }),
    ]);
    expect(clocks(answered.key)[0]!).not.toHaveProperty('late');
    expect(clocks(answeredLate.key)[0]!).toMatchObject({ kind: 'response', state: 'met', late: true });
    expect(clocks(old.key)).toEqual([
      { kind: 'response', state: 'breached', dueAt: at(twoDaysAgo, 24 * HOUR).toISOString() },
    ]);
    expect(clocks(fresh.key)).toEqual([
      { kind: 'response', state: 'running', dueAt: at(fresh.firstSeenAt, 24 * HOUR).toISOString() },
    ]);
    expect(clocks(late.key)).toEqual([
      expect.objectContaining({ kind: 'response', state: 'met' }),
      { kind: 'breach', state: 'breached', dueAt: at(aware, 72 * HOUR).toISOString() },
    ]);
  });
});
