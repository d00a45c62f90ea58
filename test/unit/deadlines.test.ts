import type { AlertKind } from '../../server/contract';
import type { CaseDoc } from '../../server/cases/models';
import { loadPlaybook, type Playbook } from '../../server/cases/playbook';
import {
  addBusinessDays,
  breachApplies,
  caseClocks,
  dueAlerts,
  slaBreached,
  type Alert,
  type Audience,
  type ClockKind,
  type ClockState,
  type ClockView,
} from '../../server/cases/deadlines';
import { clockOperators, clockUpdateFor } from '../../server/cases/clock-facts';

const MIN = 60_000;
const HOUR = 60 * MIN;
/** A Monday morning: every case here was first seen then. */
const T0 = new Date('2026-05-04T09:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);
const M = (minutes: number) => at(minutes * MIN);
const H = (hours: number) => at(hours * HOUR);
const iso = (d: Date) => d.toISOString();
const both = 'owner-and-leads';

const playbook: Playbook = loadPlaybook();

type Shape = Partial<{ type: string; severity: string; status: string; personalData: boolean }> & {
  clock?: Record<string, unknown>;
};

/** A CaseDoc-shaped case: a SEV1 INC, New, first seen at T0, with the given facts. */
function caseOf(shape: Shape = {}): CaseDoc {
  const base = { key: 'INC-2026-0001', type: 'INC', severity: 'SEV1', status: 'New', personalData: false };
  const doc = { ...base, owner: { id: 'u-owner', name: 'Ana Owner' }, firstSeenAt: T0, ...shape };
  return { ...doc, clock: { pausedMs: 0, ...shape.clock } } as unknown as CaseDoc;
}

function alert(
  clock: ClockKind,
  kind: AlertKind,
  id: string,
  when: Date,
  audience: Audience,
  urgent: boolean,
) {
  return { id, clock, kind, at: when, audience, urgent } satisfies Alert;
}
function view(kind: ClockKind, state: ClockState, dueAt: Date, doneAt?: Date): ClockView {
  return doneAt ? { kind, state, dueAt, doneAt } : { kind, state, dueAt };
}
const reckoned = (due: Alert[], nextAt?: Date) => ({ due, nextAt });
const alertsAt = (doc: CaseDoc, now: Date) => dueAlerts(doc, playbook, now);
const clockOf = (doc: CaseDoc, kind: ClockKind, now: Date) =>
  caseClocks(doc, playbook, now).find((c) => c.kind === kind);
const stateOf = (doc: CaseDoc, kind: ClockKind, now: Date) => clockOf(doc, kind, now)?.state;
const dueFor = (doc: CaseDoc, kind: ClockKind, now: Date) =>
  alertsAt(doc, now).due.filter((a) => a.clock === kind);
const dueIds = (doc: CaseDoc, kind: ClockKind, now: Date) => dueFor(doc, kind, now).map((a) => a.id);
const kindsOf = (doc: CaseDoc, now: Date) => caseClocks(doc, playbook, now).map((c) => c.kind);

describe('the response clock', () => {
  const SLA = Object.entries({ SEV1: 15, SEV2: 120, SEV3: 1440, SEV4: 4320 });

  it.each(SLA)('when a %s case is unanswered, then it runs %i minutes, then is breached', (sev, m) => {
    const doc = caseOf({ severity: sev, status: 'Monitoring' });

    expect(clockOf(doc, 'response', at(m * MIN - 1))).toEqual(view('response', 'running', M(m)));
    expect(slaBreached(doc, playbook, at(m * MIN - 1))).toBe(false);
    expect(stateOf(doc, 'response', M(m))).toBe('breached');
    expect(slaBreached(doc, playbook, M(m))).toBe(true);
  });

  it.each(['respondedAt', 'acknowledgedAt'])('when the case has %s, then the clock is met', (fact) => {
    const doc = caseOf({ status: 'Monitoring', clock: { [fact]: M(4) } });
    expect(clockOf(doc, 'response', H(3))).toEqual(view('response', 'met', M(15), M(4)));
    expect(alertsAt(doc, H(3))).toEqual(reckoned([]));
  });

  it('when the case waits for a vendor, then the clock is paused, its deadline moves with now, and nothing is sent', () => {
    const doc = caseOf({ status: 'WaitingForVendor', clock: { pausedSince: M(5) } });

    expect(clockOf(doc, 'response', H(1))).toEqual(view('response', 'paused', M(70)));
    expect(clockOf(doc, 'response', H(5))?.dueAt).toEqual(M(5 * 60 + 10));
    expect(slaBreached(doc, playbook, H(5))).toBe(false);
    expect(alertsAt(doc, H(5))).toEqual(reckoned([]));
  });

  it('when the case waited 20 minutes before, then the deadline is 20 minutes later and the escalation names it', () => {
    const doc = caseOf({ status: 'InProgress', clock: { pausedMs: 20 * MIN } });

    expect(stateOf(doc, 'response', at(35 * MIN - 1))).toBe('running');
    expect(dueIds(doc, 'response', at(35 * MIN - 1))).toEqual(['page']);
    expect(dueIds(doc, 'response', M(35))).toEqual([`escalate-1:SEV1:${iso(M(35))}`]);
  });

  it('when the severity changes, then the deadline moves and the alerts get new ids, so none is sent twice', () => {
    const sent = dueIds(caseOf({ severity: 'SEV1' }), 'response', M(20));
    const sev2 = caseOf({ severity: 'SEV2' });

    expect(sent).toEqual([`escalate-1:SEV1:${iso(M(15))}`]);
    // Lowered to SEV2 at 20 minutes: only the page (sent with the case) has passed; the next is new.
    expect(clockOf(sev2, 'response', M(20))?.dueAt).toEqual(M(120));
    expect(alertsAt(sev2, M(20))).toEqual(reckoned([expect.objectContaining({ id: 'page' })], M(120)));
    const later = dueIds(sev2, 'response', M(120));
    expect(later).toEqual([`escalate-1:SEV2:${iso(M(120))}`]);
    expect(sent).not.toContain(later[0]);
  });
});

describe('urgent response alerts', () => {
  it('when a SEV1 case arrives, then it pages at once, the leads hear at the deadline and everyone one SLA later', () => {
    const step = (ms: number) => alertsAt(caseOf(), at(ms));
    const page = alert('response', 'urgent-case', 'page', T0, 'page', true);
    const first = alert('response', 'escalation', `escalate-1:SEV1:${iso(M(15))}`, M(15), 'page', true);
    const second = alert('response', 'escalation', `escalate-2:SEV1:${iso(M(15))}`, M(30), 'members', true);

    expect(step(0)).toEqual(reckoned([page], M(15)));
    expect(step(15 * MIN - 1)).toEqual(reckoned([page], M(15)));
    expect(step(15 * MIN)).toEqual(reckoned([first], M(30)));
    expect(step(30 * MIN)).toEqual(reckoned([second]));
    expect(step(10 * HOUR)).toEqual(reckoned([second]));
  });

  it('when a SEV2 case is unanswered, then everyone hears one SLA after the deadline (4 hours in)', () => {
    const doc = caseOf({ severity: 'SEV2' });
    const second = alert('response', 'escalation', `escalate-2:SEV2:${iso(M(120))}`, M(240), 'members', true);

    expect(alertsAt(doc, M(120)).nextAt).toEqual(M(240));
    expect(alertsAt(doc, M(240))).toEqual(reckoned([second]));
  });

  it('when two clocks run, then each gives its latest passed alert, and nextAt is the earliest of either', () => {
    // The reporter told us 70 hours after they knew: the breach reminders are all but spent.
    const doc = caseOf({ severity: 'SEV2', personalData: true, clock: { awareAt: H(-70) } });
    const { due, nextAt } = alertsAt(doc, M(30));

    expect(due.map((a) => a.id)).toEqual(['page', `breach-4h:${iso(H(-70))}`]);
    expect(nextAt).toEqual(H(1));
  });

  it('when the case is answered after the escalation, then no response alert is due any more', () => {
    const doc = caseOf({ clock: { respondedAt: M(20) } });
    expect(dueFor(doc, 'response', H(2))).toEqual([]);
  });

  it('when a member raises an answered case to SEV1 a day later, then it pages from then, and escalates no more', () => {
    // Answered as a SEV3 within the hour; raised the next day by a member, which is a response too.
    const raised = caseOf({ status: 'InProgress', clock: { respondedAt: M(30), severityAt: H(26) } });
    const page = alert('response', 'urgent-case', 'page', H(26), 'page', true);

    expect(dueFor(raised, 'response', H(26))).toEqual([page]);
    expect(dueFor(raised, 'response', H(40))).toEqual([page]);
    expect(stateOf(raised, 'response', H(26))).toBe('met');
  });

  it('when the raised case was acknowledged, is closed, or waits for a vendor, then nobody is paged', () => {
    const clock = { respondedAt: M(30), severityAt: H(26) };
    const acknowledged = caseOf({ status: 'InProgress', clock: { ...clock, acknowledgedAt: H(27) } });
    const closed = caseOf({ status: 'Closed', clock });
    const waiting = caseOf({ status: 'WaitingForVendor', clock: { ...clock, pausedSince: H(25) } });

    for (const doc of [acknowledged, closed, waiting]) expect(dueFor(doc, 'response', H(28))).toEqual([]);
  });

  it('when an answered case is urgent but its severity was never changed, then it is not paged again', () => {
    // Answered before the page went out (or before paging existed): no page after the fact.
    expect(dueFor(caseOf({ status: 'InProgress', clock: { respondedAt: M(1) } }), 'response', M(2))).toEqual(
      [],
    );
  });
});

describe('non-urgent response alerts', () => {
  const SLA = Object.entries({ SEV3: 1440, SEV4: 4320 });

  it.each(SLA)('when a %s case is unanswered, then the owner hears at 80 %%, the leads at 100', (sev, m) => {
    const doc = caseOf({ severity: sev });
    const [warn, due] = [M(m * 0.8), M(m)];
    const tag = `${sev}:${iso(due)}`;
    const soon = alert('response', 'response-due', `response-due:${tag}`, warn, 'owner', false);
    const late = alert('response', 'response-breached', `response-breached:${tag}`, due, 'leads', false);

    expect(alertsAt(doc, T0)).toEqual(reckoned([], warn));
    expect(alertsAt(doc, warn)).toEqual(reckoned([soon], due));
    expect(alertsAt(doc, due)).toEqual(reckoned([late]));
  });
});

describe('the update clock', () => {
  it.each([
    ['a SEV3 case', { severity: 'SEV3' }],
    ['a SEV4 case', { severity: 'SEV4' }],
    ['a case in Monitoring', { status: 'Monitoring' }],
    ['a Closed case', { status: 'Closed' }],
    ['a case nobody has answered (the response clock escalates instead)', { clock: {} }],
  ])('when it is %s, then no update is owed', (_, shape) => {
    const doc = caseOf({ status: 'InProgress', clock: { respondedAt: T0, resolvedAt: T0 }, ...shape });
    expect(clockOf(doc, 'update', H(1))).toBeUndefined();
  });

  it.each(['New', 'Triage', 'InProgress', 'Escalated'])('when a SEV1 case is %s, then it runs', (status) => {
    const doc = caseOf({ status, clock: { respondedAt: T0 } });
    expect(clockOf(doc, 'update', M(1))).toEqual(view('update', 'running', M(30)));
  });

  it('when the case waits for a vendor, then the update clock is paused and sends nothing however late it is', () => {
    const clock = { respondedAt: T0, lastUpdateAt: T0, pausedSince: M(1) };
    const doc = caseOf({ status: 'WaitingForVendor', clock });

    expect(clockOf(doc, 'update', H(5))).toEqual(view('update', 'paused', M(5 * 60 + 30)));
    expect(alertsAt(doc, H(5))).toEqual(reckoned([]));
  });

  it.each([
    ['the last update', { respondedAt: M(5), lastUpdateAt: M(12) }, 12],
    ['the first response', { respondedAt: M(5) }, 5],
    ['the acknowledgement', { acknowledgedAt: M(7) }, 7],
  ])('when counting, then it counts from %s', (_, clock, base) => {
    expect(clockOf(caseOf({ status: 'Triage', clock }), 'update', M(13))?.dueAt).toEqual(M(base + 30));
  });

  it('when nobody updates, then the owner hears 5 minutes before, the leads at the due time, and so each cycle', () => {
    const clock = { respondedAt: M(2), lastUpdateAt: M(10) };
    const doc = caseOf({ severity: 'SEV2', status: 'InProgress', clock });
    const base = iso(M(10));
    const soon = alert('update', 'update-due', `update-due:${base}:0`, M(35), 'owner', true);
    const missed = alert('update', 'update-missed', `update-missed:${base}:0`, M(40), 'leads', true);

    expect(alertsAt(doc, at(35 * MIN - 1))).toEqual(reckoned([], M(35)));
    expect(alertsAt(doc, M(35))).toEqual(reckoned([soon], M(40)));
    expect(clockOf(doc, 'update', at(40 * MIN - 1))).toEqual(view('update', 'running', M(40)));
    expect(alertsAt(doc, M(40))).toEqual(reckoned([missed], M(65)));
    expect(clockOf(doc, 'update', M(40))).toEqual(view('update', 'breached', M(70)));
    expect(dueIds(doc, 'update', M(65))).toEqual([`update-due:${base}:1`]);
    expect(dueIds(doc, 'update', M(70))).toEqual([`update-missed:${base}:1`]);
    expect(alertsAt(doc, M(70)).nextAt).toEqual(M(95));
  });

  it('when time passes within a cycle, then the ids stay; when an update is made, then the next ones are new', () => {
    const clock = { respondedAt: T0, lastUpdateAt: M(10) };
    const doc = caseOf({ status: 'InProgress', clock });
    const moved = caseOf({ status: 'InProgress', clock: { ...clock, lastUpdateAt: M(38) } });

    expect(dueIds(doc, 'update', M(36))).toEqual([`update-due:${iso(M(10))}:0`]);
    expect(dueIds(doc, 'update', M(39))).toEqual([`update-due:${iso(M(10))}:0`]);
    expect(alertsAt(moved, M(40))).toEqual(reckoned([], M(63)));
    expect(dueIds(moved, 'update', M(63))).toEqual([`update-due:${iso(M(38))}:0`]);
  });

  it('when nobody updates for days, then the reminders stop after 49 missed cycles instead of repeating', () => {
    const doc = caseOf({ severity: 'SEV2', status: 'InProgress', clock: { respondedAt: T0 } });
    const ids = new Set<string>();
    for (let m = 0; m <= 80 * 30; m += 5) for (const id of dueIds(doc, 'update', M(m))) ids.add(id);
    const last = expect.objectContaining({ id: `update-missed:${iso(T0)}:48`, at: M(49 * 30) });

    expect(ids.size).toBe(2 * 49);
    expect(ids).toContain(`update-missed:${iso(T0)}:48`);
    expect(ids).not.toContain(`update-due:${iso(T0)}:49`);
    expect(alertsAt(doc, H(1000))).toEqual(reckoned([last]));
  });
});

describe('the breach clock', () => {
  it.each([
    ['a DAT case', { type: 'DAT' }, true],
    ['a case marked as holding personal data', { personalData: true }, true],
    ['any other case', { type: 'PHI' }, false],
  ])('when it is %s, then the breach clock applies: %s', (_, shape, applies) => {
    const doc = caseOf(shape);

    expect(breachApplies(doc, playbook)).toBe(applies);
    expect(kindsOf(doc, T0).includes('breach')).toBe(applies);
  });

  it('when nobody notifies the authority, then reminders come 24, 4 and 1 hours before 72 hours, then it passes', () => {
    const doc = caseOf({ type: 'DAT', severity: 'SEV2', clock: { respondedAt: T0 } });
    const aware = iso(T0);
    const first = alert('breach', 'breach-deadline', `breach-24h:${aware}`, H(48), both, true);
    const passed = alert('breach', 'breach-deadline-passed', `breach-passed:${aware}`, H(72), both, true);

    expect(dueFor(doc, 'breach', at(48 * HOUR - 1))).toEqual([]);
    expect(dueFor(doc, 'breach', H(48))).toEqual([first]);
    expect(dueIds(doc, 'breach', H(68))).toEqual([`breach-4h:${aware}`]);
    expect(dueIds(doc, 'breach', at(72 * HOUR - 1))).toEqual([`breach-1h:${aware}`]);
    expect(clockOf(doc, 'breach', at(72 * HOUR - 1))).toEqual(view('breach', 'running', H(72)));
    expect(dueFor(doc, 'breach', H(72))).toEqual([passed]);
    expect(stateOf(doc, 'breach', H(72))).toBe('breached');
    expect(dueFor(doc, 'breach', H(500))).toEqual([passed]);
  });

  it('when awareness is recorded a day later, then the deadline and reminders move, with new ids', () => {
    const doc = caseOf({ type: 'DAT', severity: 'SEV3', clock: { respondedAt: T0, awareAt: H(24) } });

    expect(clockOf(doc, 'breach', H(48))?.dueAt).toEqual(H(96));
    expect(alertsAt(doc, H(48))).toEqual(reckoned([], H(72)));
    expect(dueIds(doc, 'breach', H(72))).toEqual([`breach-24h:${iso(H(24))}`]);
  });

  it('when the authority is notified, then the clock stops and sends nothing more', () => {
    const clock = { respondedAt: T0, authorityNotified: { at: H(50), reference: 'DPA-1' } };
    const doc = caseOf({ type: 'DAT', severity: 'SEV3', clock });

    expect(clockOf(doc, 'breach', H(100))).toEqual(view('breach', 'stopped', H(72), H(50)));
    expect(alertsAt(doc, H(100))).toEqual(reckoned([]));
  });

  const URGENT = Object.entries({ SEV1: true, SEV2: true, SEV3: false, SEV4: false });
  it.each(URGENT)('when the case is %s, then the breach alerts are urgent: %s', (severity, urgent) => {
    const doc = caseOf({ personalData: true, severity, clock: { respondedAt: T0 } });
    const passed = expect.objectContaining({ id: `breach-passed:${iso(T0)}`, urgent });
    expect(dueFor(doc, 'breach', H(72))).toEqual([passed]);
  });
});

describe('the review clock', () => {
  const FRIDAY = new Date('2026-05-08T16:00:00.000Z');
  const NEXT_THURSDAY = new Date('2026-05-14T16:00:00.000Z');
  const NEXT_FRIDAY = new Date('2026-05-15T16:00:00.000Z');

  it.each([
    ['a Friday plus one', FRIDAY, 1, '2026-05-11T16:00:00.000Z'],
    ['a Friday plus five', FRIDAY, 5, '2026-05-15T16:00:00.000Z'],
    ['a Thursday plus two', new Date('2026-05-07T08:00:00.000Z'), 2, '2026-05-11T08:00:00.000Z'],
    ['a Saturday plus one', new Date('2026-05-09T10:00:00.000Z'), 1, '2026-05-11T10:00:00.000Z'],
    ['a Sunday plus five', new Date('2026-05-10T23:30:00.000Z'), 5, '2026-05-15T23:30:00.000Z'],
    ['a Friday plus none', FRIDAY, 0, '2026-05-08T16:00:00.000Z'],
  ])('when adding business days to %s, then weekends are skipped', (_, from, days, expected) => {
    expect(addBusinessDays(from, days)).toEqual(new Date(expected));
  });

  it('when a SEV1 case is resolved on a Friday, then its review is due the Friday after, reminded the Thursday', () => {
    const doc = caseOf({ status: 'Monitoring', clock: { respondedAt: T0, resolvedAt: FRIDAY } });
    const soon = alert('review', 'review-due', `review-due:${iso(FRIDAY)}`, NEXT_THURSDAY, 'owner', false);
    const missed = alert('review', 'review-missed', `review-missed:${iso(FRIDAY)}`, NEXT_FRIDAY, both, false);

    expect(clockOf(doc, 'review', FRIDAY)).toEqual(view('review', 'running', NEXT_FRIDAY));
    expect(alertsAt(doc, FRIDAY)).toEqual(reckoned([], NEXT_THURSDAY));
    expect(alertsAt(doc, NEXT_THURSDAY)).toEqual(reckoned([soon], NEXT_FRIDAY));
    expect(stateOf(doc, 'review', new Date(NEXT_FRIDAY.getTime() - 1))).toBe('running');
    expect(alertsAt(doc, NEXT_FRIDAY)).toEqual(reckoned([missed]));
    expect(stateOf(doc, 'review', NEXT_FRIDAY)).toBe('breached');
  });

  it.each([
    ['a SEV3 case resolved', { severity: 'SEV3', clock: { resolvedAt: FRIDAY } }],
    ['a SEV4 case resolved', { severity: 'SEV4', clock: { resolvedAt: FRIDAY } }],
    ['a SEV1 case not yet resolved', { severity: 'SEV1', status: 'InProgress' }],
  ])('when it is %s, then there is no review clock', (_, shape) => {
    expect(clockOf(caseOf({ status: 'Monitoring', ...shape }), 'review', NEXT_FRIDAY)).toBeUndefined();
  });

  it('when the review is recorded, then the clock is met and sends nothing', () => {
    const review = { at: NEXT_THURSDAY, link: 'https://wiki.example/review' };
    const doc = caseOf({ status: 'Closed', clock: { respondedAt: T0, resolvedAt: FRIDAY, review } });

    expect(clockOf(doc, 'review', NEXT_FRIDAY)).toEqual(view('review', 'met', NEXT_FRIDAY, NEXT_THURSDAY));
    expect(alertsAt(doc, NEXT_FRIDAY)).toEqual(reckoned([]));
  });

  it('when an unanswered SEV1 data case is closed, then only its review clock runs', () => {
    const doc = caseOf({ type: 'DAT', status: 'Closed', clock: { resolvedAt: FRIDAY } });
    const soon = expect.objectContaining({ id: `review-due:${iso(FRIDAY)}` });

    expect(kindsOf(doc, FRIDAY)).toEqual(['review']);
    expect(slaBreached(doc, playbook, NEXT_THURSDAY)).toBe(false);
    expect(alertsAt(doc, NEXT_THURSDAY)).toEqual(reckoned([soon], NEXT_FRIDAY));
  });
});

describe('the facts each change records', () => {
  const member = { id: 'u-1', name: 'Bo Member' };
  const change = { kind: 'change', by: member };
  const now = H(1);
  const setOf = (doc: CaseDoc, status: string, when = now) =>
    clockUpdateFor(doc, change, { status }, when)?.set;

  const UPDATES = ['note', 'change', 'vendor-update', 'email'];

  it.each(UPDATES)('when a member adds a %s, then it is a response and an update', (kind) => {
    const update = clockUpdateFor(caseOf(), { kind, by: member }, {}, now);
    expect(update).toEqual({ set: {}, min: { respondedAt: now }, max: { lastUpdateAt: now } });
  });

  it('when a member changes the severity, then the change is timed for the page, and only a change', () => {
    const raised = clockUpdateFor(caseOf({ severity: 'SEV3' }), change, { severity: 'SEV1' }, now);
    const same = clockUpdateFor(caseOf({ severity: 'SEV1' }), change, { severity: 'SEV1' }, now);

    expect(raised?.max).toEqual({ lastUpdateAt: now, severityAt: now });
    expect(same?.max).toEqual({ lastUpdateAt: now });
  });

  it('when a member ticks a checklist item, then it is a response but not an update', () => {
    const tick = clockUpdateFor(caseOf(), { kind: 'checklist', by: member }, {}, now);
    expect(tick).toEqual({ set: {}, min: { respondedAt: now }, max: {} });
    expect(clockOperators(tick)).toEqual({ $min: { 'clock.respondedAt': now } });
  });

  it.each([undefined, null])('when the entry has no person (by: %s), then the clocks learn nothing', (by) => {
    expect(clockUpdateFor(caseOf(), { kind: 'note', by }, { status: 'Closed' }, now)).toBeUndefined();
  });

  it('when a case moves to WaitingForVendor, then the pause starts, and only then', () => {
    const waiting = caseOf({ status: 'WaitingForVendor', clock: { pausedSince: M(20) } });
    expect(setOf(caseOf({ status: 'Triage' }), 'WaitingForVendor')).toEqual({ pausedSince: now });
    expect(setOf(waiting, 'WaitingForVendor')).toEqual({});
  });

  it('when a case moves out of WaitingForVendor, then the pause is added up and cleared', () => {
    const doc = caseOf({ status: 'WaitingForVendor', clock: { pausedSince: M(20), pausedMs: 5 * MIN } });

    expect(clockOperators(clockUpdateFor(doc, change, { status: 'InProgress' }, now))).toEqual({
      $min: { 'clock.respondedAt': now },
      $max: { 'clock.lastUpdateAt': now },
      $set: { 'clock.pausedSince': null, 'clock.pausedMs': 45 * MIN },
    });
  });

  it('when a case first reaches Monitoring or Closed, then it is resolved then, and not again', () => {
    expect(setOf(caseOf({ status: 'InProgress' }), 'Monitoring')).toEqual({ resolvedAt: now });
    expect(setOf(caseOf({ status: 'Triage' }), 'Closed')).toEqual({ resolvedAt: now });
    expect(setOf(caseOf({ status: 'Monitoring', clock: { resolvedAt: M(10) } }), 'Closed')).toEqual({});
  });

  it('when there is nothing to write, then no operator is given', () => {
    expect(clockOperators(undefined)).toEqual({});
    expect(clockOperators({ set: {}, min: {}, max: {} })).toEqual({});
  });

  it('when a case waits 20 minutes for a vendor before any response, then its deadline is 20 minutes later', () => {
    const into = setOf(caseOf(), 'WaitingForVendor', M(5));
    const out = setOf(caseOf({ status: 'WaitingForVendor', clock: into }), 'InProgress', M(25));
    // The pause alone, without the response the move itself made, to see the deadline move.
    const back = caseOf({ status: 'InProgress', clock: { ...into, ...out } });

    expect(clockOf(back, 'response', M(30))).toEqual(view('response', 'running', M(35)));
  });
});
