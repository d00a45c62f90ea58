import mongoose from 'mongoose';
import type { TickReport } from '../../server/clocks/scheduler';
import { uniqueName } from '../support/env';
import { at, ClockRig, eachTestAClockRig, MINUTE, type CaseView, lines } from '../support/clock-rig';

// Each alert reaches each device once: across a restart, with two instances ticking at once, and
// when the instance that was sending died before it finished.

let rig: ClockRig;
let now: Date;
eachTestAClockRig((r) => (rig = r));

const everyone = ['On Call', 'Off Call', 'Plain Member', 'Lead A', 'Lead B'];

async function urgentCase(): Promise<CaseView> {
  const c = await rig.openCase(`[URGENT] website is down ${uniqueName('tag')}`, 'Nothing loads.');
  expect(c.severity).toBe('SEV1');
  return c;
}

interface ClaimDoc {
  _id: string;
  caseKey: string;
  alertId: string;
  userId: string;
  state: 'sending' | 'sent';
  holder: string;
  at: Date;
}
const claims = () => mongoose.connection.collection<ClaimDoc>('alert_claims');

describe('when the scheduler restarts mid-schedule', () => {
  it('then the new instance sends nothing already sent, and the next alert once', async () => {
    const c = await urgentCase();
    const t0 = new Date(c.firstSeenAt);
    now = t0;
    const first = rig.scheduler(() => now, uniqueName('before'));
    expect((await first.tick()).leader).toBe(true);
    expect(rig.newPushes()).toEqual(lines('urgent-case', 'On Call', 'Lead A', 'Lead B'));
    now = at(t0, 15 * MINUTE);
    await first.tick();
    expect(rig.newPushes()).toEqual(lines('escalation', 'On Call', 'Lead A', 'Lead B'));
    await first.stop();

    const second = rig.scheduler(() => now, uniqueName('after'));
    expect(await second.tick()).toEqual({ leader: true, sent: [], held: [] });
    expect(rig.newPushes()).toEqual([]);
    now = at(t0, 20 * MINUTE);
    expect((await second.tick()).sent).toEqual([]);
    now = at(t0, 30 * MINUTE);
    await second.tick();
    expect(rig.newPushes()).toEqual(lines('escalation', ...everyone));
    await second.tick();
    expect(rig.newPushes()).toEqual([]);
    expect((await rig.alertLog(c.key)).map((e) => [e.kind, e.delivered])).toEqual([
      ['urgent-case', 3],
      ['escalation', 3],
      ['escalation', 5],
    ]);
  });
});

describe('when two instances tick at the same time', () => {
  it('then one holds the lease and every alert reaches every device exactly once', async () => {
    await rig.addDevice(rig.cast.leadB, 'Lead B laptop');
    const cases = [await urgentCase(), await urgentCase(), await urgentCase()];
    const t0 = new Date(Math.max(...cases.map((c) => +new Date(c.firstSeenAt))));
    const pair = [rig.scheduler(() => now, uniqueName('one')), rig.scheduler(() => now, uniqueName('two'))];
    const leaders = new Set<number>();
    for (const m of [0, 1, 5, 14, 15, 16, 20, 29, 30, 31, 45, 60]) {
      now = at(t0, m * MINUTE);
      for (let round = 0; round < 3; round++) {
        const reports: TickReport[] = await Promise.all(pair.map((s) => s.tick()));
        expect(reports.filter((r) => r.leader)).toHaveLength(1);
        leaders.add(reports.findIndex((r) => r.leader));
      }
    }
    expect(leaders.size).toBe(1);

    const copies = new Map<string, number>();
    for (const { payload, delivery } of rig.pushes()) {
      const id = `${payload.key}|${payload.id}|${delivery.endpoint}`;
      copies.set(id, (copies.get(id) ?? 0) + 1);
    }
    expect([...copies.values()].every((n) => n === 1)).toBe(true);
    const devices = (...names: string[]) =>
      names.flatMap((n) => (n === 'Lead B' ? [n, 'Lead B laptop'] : [n]));
    for (const c of cases) {
      const got = rig
        .pushes(c.key)
        .map((p) => `${p.payload.alert} → ${p.to}`)
        .sort();
      expect(got).toEqual(
        [
          ...lines('urgent-case', ...devices('On Call', 'Lead A', 'Lead B')),
          ...lines('escalation', ...devices('On Call', 'Lead A', 'Lead B')),
          ...lines('escalation', ...devices(...everyone)),
        ].sort(),
      );
      expect((await rig.alertLog(c.key)).map((e) => [e.kind, e.delivered])).toEqual([
        ['urgent-case', 4],
        ['escalation', 4],
        ['escalation', 6],
      ]);
    }
  });
});

describe('when the instance holding the lease died while sending', () => {
  it('then the next holder sends what it had claimed but not sent, once, and marks it sent', async () => {
    const c = await urgentCase();
    now = new Date(c.firstSeenAt);
    const { onCall, leadA, leadB } = rig.cast;
    const dead = uniqueName('dead');
    // Its lease ran out; it had sent the page to Lead A, and was sending it to the member on call.
    await mongoose.connection
      .collection<{ _id: string; name: string; epoch: number; holder: string; expiresAt: Date }>('leases')
      .insertOne({
        _id: 'clock-scheduler#1',
        name: 'clock-scheduler',
        epoch: 1,
        holder: dead,
        expiresAt: new Date(Date.now() - 1000),
      });
    const claim = (userId: string, state: ClaimDoc['state']): ClaimDoc => ({
      _id: `${c.key}|page|${userId}`,
      caseKey: c.key,
      alertId: 'page',
      userId,
      state,
      holder: dead,
      at: new Date(),
    });
    await claims().insertMany([claim(leadA.id, 'sent'), claim(onCall.id, 'sending')]);

    const scheduler = rig.scheduler(() => now, uniqueName('next'));
    const report = await scheduler.tick();
    expect(report.leader).toBe(true);
    expect(rig.newPushes()).toEqual(lines('urgent-case', 'On Call', 'Lead B'));
    expect(report.sent).toEqual([
      { caseKey: c.key, alertId: 'page', kind: 'urgent-case', to: [onCall.id] },
      { caseKey: c.key, alertId: 'page', kind: 'urgent-case', to: [leadB.id] },
    ]);
    const states = await claims().find({ caseKey: c.key }).sort({ _id: 1 }).toArray();
    expect(states.map((s) => [s.userId, s.state]).sort()).toEqual(
      [
        [leadA.id, 'sent'],
        [leadB.id, 'sent'],
        [onCall.id, 'sent'],
      ].sort(),
    );

    expect(await scheduler.tick()).toEqual({ leader: true, sent: [], held: [] });
    expect(rig.newPushes()).toEqual([]);
    expect((await rig.alertLog(c.key)).map((e) => [e.kind, e.to])).toEqual([
      ['urgent-case', ['On Call']],
      ['urgent-case', ['Lead B']],
    ]);
  });
});
