import { uniqueName } from '../support/env';
import {
  at,
  ClockRig,
  eachTestAClockRig,
  clockOf,
  HOUR,
  MINUTE,
  type CaseView,
  type Member,
  lines,
} from '../support/clock-rig';

// The update clock of urgent cases (every 30 minutes, a reminder 5 minutes before) and the
// post-incident review (5 business days after resolution), through the scheduler and the API.
// What members do is stamped by the wall clock, so each step reads the time it was recorded at
// from the case and sets the scheduler's clock from there.

let rig: ClockRig;
let now: Date;
eachTestAClockRig((r) => (rig = r));

/** An urgent case, taken by `owner`: acknowledged, owned and moved through `statuses`. */
async function takenCase(owner: Member, statuses: string[]): Promise<CaseView> {
  const c = await rig.openCase(`[URGENT] website is down ${uniqueName('tag')}`, 'It does not load.');
  expect(c.severity).toBe('SEV1');
  expect((await rig.call(owner, 'POST', `/cases/${c.key}/ack`)).status).toBe(200);
  await rig.patch(owner, c.key, { owner: owner.id });
  for (const status of statuses) await rig.patch(owner, c.key, { status });
  return rig.caseView(c.key);
}

/** When the latest change to `field` (or any note) was recorded. */
const changedAt = (view: CaseView, kind: 'change' | 'note', to?: string) =>
  new Date(
    view.timeline
      .filter((e) => e.kind === kind && (!to || e.change?.changes.some((ch) => ch.to === to)))
      .at(-1)!.at,
  );

describe('when an urgent case is being worked', () => {
  it('then the owner is reminded at 25 minutes after the last update and the leads told at 30, each once, and a note starts the count again', async () => {
    const { plain } = rig.cast;
    const c = await takenCase(plain, ['Triage', 'InProgress']);
    const base = changedAt(c, 'change', 'InProgress');
    expect(clockOf(c, 'update')).toEqual({
      kind: 'update',
      state: 'running',
      dueAt: at(base, 30 * MINUTE).toISOString(),
    });
    const scheduler = rig.scheduler(() => now);
    const tickAt = async (from: Date, ms: number) => {
      now = at(from, ms);
      await scheduler.tick();
      return rig.newPushes();
    };

    expect(await tickAt(base, 0)).toEqual([]);
    expect(await tickAt(base, 25 * MINUTE - 1)).toEqual([]);
    expect(await tickAt(base, 25 * MINUTE)).toEqual(['update-due → Plain Member']);
    expect(await tickAt(base, 25 * MINUTE)).toEqual([]);
    expect(await tickAt(base, 30 * MINUTE - 1)).toEqual([]);
    expect(await tickAt(base, 30 * MINUTE)).toEqual(lines('update-missed', 'Lead A', 'Lead B'));
    expect(await tickAt(base, 31 * MINUTE)).toEqual([]);
    // Another half hour without an update: the owner and the leads hear again.
    expect(await tickAt(base, 55 * MINUTE)).toEqual(['update-due → Plain Member']);
    expect(await tickAt(base, 60 * MINUTE)).toEqual(lines('update-missed', 'Lead A', 'Lead B'));
    const pushes = rig.pushes(c.key);
    expect(pushes.map((p) => p.payload.id)).toEqual([
      `update-due:${base.toISOString()}:0`,
      `update-missed:${base.toISOString()}:0`,
      `update-missed:${base.toISOString()}:0`,
      `update-due:${base.toISOString()}:1`,
      `update-missed:${base.toISOString()}:1`,
      `update-missed:${base.toISOString()}:1`,
    ]);
    expect(pushes.every((p) => p.delivery.urgency === 'high')).toBe(true);

    const note = await rig.call<CaseView>(plain, 'POST', `/cases/${c.key}/notes`, {
      version: (await rig.caseView(c.key)).version,
      text: 'Hosting provider is restoring the database.',
    });
    expect(note.status).toBe(201);
    const noted = changedAt(note.body, 'note');
    expect(clockOf(note.body, 'update')).toMatchObject({
      state: 'running',
      dueAt: at(noted, 30 * MINUTE).toISOString(),
    });
    // The note was written at wall-clock time: the scheduler's clock goes back there.
    expect(await tickAt(noted, 25 * MINUTE - 1)).toEqual([]);
    expect(await tickAt(noted, 25 * MINUTE)).toEqual(['update-due → Plain Member']);
    expect(await tickAt(noted, 30 * MINUTE)).toEqual(lines('update-missed', 'Lead A', 'Lead B'));
    expect(rig.pushes(c.key).at(-1)!.payload.id).toBe(`update-missed:${noted.toISOString()}:0`);

    const log = await rig.alertLog(c.key);
    expect(log.map((e) => `${e.kind} → ${e.to.join(', ')} (${e.delivered})`)).toEqual([
      'update-due → Plain Member (1)',
      'update-missed → Lead A, Lead B (2)',
      'update-due → Plain Member (1)',
      'update-missed → Lead A, Lead B (2)',
      'update-due → Plain Member (1)',
      'update-missed → Lead A, Lead B (2)',
    ]);
  });

  it('then while it waits for a vendor no update is asked for, and back in progress the next is due 30 minutes later', async () => {
    const { plain } = rig.cast;
    const c = await takenCase(plain, ['Triage', 'WaitingForVendor']);
    expect(clockOf(c, 'update').state).toBe('paused');
    const waiting = changedAt(c, 'change', 'WaitingForVendor');
    const scheduler = rig.scheduler(() => now);
    for (const ms of [25 * MINUTE, 30 * MINUTE, 5 * HOUR, 72 * HOUR]) {
      now = at(waiting, ms);
      expect((await scheduler.tick()).sent).toEqual([]);
    }
    expect(rig.newPushes()).toEqual([]);

    const back = await rig.patch(plain, c.key, { status: 'InProgress' });
    const resumed = changedAt(back, 'change', 'InProgress');
    expect(clockOf(back, 'update')).toMatchObject({
      state: 'running',
      dueAt: at(resumed, 30 * MINUTE).toISOString(),
    });
    for (const [ms, expected] of [
      [25 * MINUTE - 1, []],
      [25 * MINUTE, ['update-due → Plain Member']],
      [30 * MINUTE - 1, []],
      [30 * MINUTE, lines('update-missed', 'Lead A', 'Lead B')],
    ] as const) {
      now = at(resumed, ms);
      await scheduler.tick();
      expect(rig.newPushes()).toEqual(expected);
    }
    expect(rig.pushes(c.key)[0]!.payload.id).toBe(`update-due:${resumed.toISOString()}:0`);
  });
});

/** The same time of day, on the weekday before. */
function weekdayBefore(d: Date): Date {
  const day = new Date(d);
  do day.setUTCDate(day.getUTCDate() - 1);
  while (day.getUTCDay() === 0 || day.getUTCDay() === 6);
  return day;
}

describe('when an urgent case is resolved', () => {
  it('then the owner is reminded of the review a business day before it is due and, unless it is recorded, owner and leads told when it is missed', async () => {
    const { plain, offCall } = rig.cast;
    const reviewed = await takenCase(plain, ['Triage', 'InProgress', 'Monitoring']);
    const forgotten = await takenCase(offCall, ['Triage', 'InProgress', 'Monitoring']);
    const deadlines = [reviewed, forgotten].map((c) => {
      const resolved = changedAt(c, 'change', 'Monitoring');
      const review = clockOf(c, 'review');
      expect(review.state).toBe('running');
      const due = new Date(review.dueAt);
      // Five business days: a weekday at the same time of day, 5 to 7 days on.
      expect([0, 6]).not.toContain(due.getUTCDay());
      expect((due.getTime() - resolved.getTime()) % (24 * HOUR)).toBe(0);
      expect(due.getTime() - resolved.getTime()).toBeGreaterThanOrEqual(5 * 24 * HOUR);
      expect(due.getTime() - resolved.getTime()).toBeLessThanOrEqual(7 * 24 * HOUR);
      return { due, reminder: weekdayBefore(due) };
    });
    const [first, last] = deadlines as [(typeof deadlines)[0], (typeof deadlines)[0]];
    const scheduler = rig.scheduler(() => now);

    now = at(first.reminder, -1000);
    expect((await scheduler.tick()).sent).toEqual([]);
    now = last.reminder;
    await scheduler.tick();
    expect(rig.newPushes()).toEqual(['review-due → Off Call', 'review-due → Plain Member']);
    expect(rig.pushes().every((p) => p.delivery.urgency === 'normal')).toBe(true);

    const recorded = await rig.call<CaseView>(plain, 'PUT', `/cases/${reviewed.key}/review`, {
      version: (await rig.caseView(reviewed.key)).version,
      link: 'https://wiki.example.org/pir/website-down',
    });
    expect(recorded.status).toBe(200);
    expect(recorded.body.review).toMatchObject({ link: 'https://wiki.example.org/pir/website-down' });
    expect(clockOf(recorded.body, 'review').state).toBe('met');

    now = at(first.due, -1000);
    expect((await scheduler.tick()).sent).toEqual([]);
    now = last.due;
    await scheduler.tick();
    expect(rig.newPushes()).toEqual(lines('review-missed', 'Off Call', 'Lead A', 'Lead B'));
    now = at(last.due, 10 * 24 * HOUR);
    await scheduler.tick();
    expect(rig.newPushes()).toEqual([]);

    const kinds = async (key: string) =>
      (await rig.alertLog(key)).map((e) => `${e.kind} → ${e.to.join(', ')} (${e.delivered})`);
    expect(await kinds(reviewed.key)).toEqual(['review-due → Plain Member (1)']);
    expect(await kinds(forgotten.key)).toEqual([
      'review-due → Off Call (1)',
      'review-missed → Lead A, Lead B, Off Call (3)',
    ]);
  });
});
