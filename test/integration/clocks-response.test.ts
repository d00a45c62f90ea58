import { uniqueName } from '../support/env';
import {
  at,
  ClockRig,
  eachTestAClockRig,
  clockOf,
  HOUR,
  MINUTE,
  quietAround,
  lines,
} from '../support/clock-rig';

// The response clock through the scheduler, the desk's API and the local push service: the page
// of an urgent case, its escalations while nobody takes it, and quiet hours. The scheduler's clock
// is `now`, moved by the test; each tick is one pass.

let rig: ClockRig;
let now: Date;
eachTestAClockRig((r) => (rig = r));

describe('when an urgent case comes in', () => {
  it('then the members on call and the leads are paged at once, with nothing of the report in the push, and only once', async () => {
    const onRota = await rig.member('On Rota', 'member');
    const offRota = await rig.member('Off Rota', 'member');
    const tag = uniqueName('tag');
    const c = await rig.openCase(`[URGENT] our website is down ${tag}`, `Since 9:00 nothing loads. ${tag}`);
    expect(c.severity).toBe('SEV1');
    now = new Date(c.firstSeenAt);
    // The rota: one member on all of today (UTC), another on a day three days off.
    const today = now.getUTCDay();
    const rota = await rig.call('admin', 'PUT', '/oncall/rota', {
      timeZone: 'UTC',
      slots: [
        { day: today, start: '00:00', end: '00:00', userId: onRota.id },
        { day: (today + 3) % 7, start: '00:00', end: '00:00', userId: offRota.id },
      ],
    });
    expect(rota.status).toBe(200);
    const scheduler = rig.scheduler(() => now);

    const report = await scheduler.tick();
    expect(report.leader).toBe(true);
    const { onCall, leadA, leadB } = rig.cast;
    expect(report.sent).toEqual([
      { caseKey: c.key, alertId: 'page', kind: 'urgent-case', to: expect.any(Array) },
    ]);
    expect([...report.sent[0]!.to].sort()).toEqual([onCall.id, onRota.id, leadA.id, leadB.id].sort());
    expect(rig.newPushes()).toEqual(lines('urgent-case', 'On Call', 'On Rota', 'Lead A', 'Lead B'));
    for (const { payload, delivery } of rig.pushes(c.key)) {
      expect(payload).toEqual({
        alert: 'urgent-case',
        key: c.key,
        severity: 'SEV1',
        url: `/#/case/${c.key}`,
        id: 'page',
      });
      expect(delivery.payload).not.toContain(tag);
      expect(delivery.payload).not.toMatch(/website|loads|reporter|example\.org/i);
      expect(delivery.urgency).toBe('high');
    }
    expect(await rig.alertLog(c.key)).toEqual([
      { kind: 'urgent-case', id: 'page', to: ['Lead A', 'Lead B', 'On Call', 'On Rota'], delivered: 4 },
    ]);

    const again = await scheduler.tick();
    expect(again).toEqual({ leader: true, sent: [], held: [] });
    expect(rig.newPushes()).toEqual([]);
    expect(await rig.alertLog(c.key)).toHaveLength(1);
  });
});

describe('when nobody acknowledges a SEV1 case', () => {
  it('then the on-call member and the leads hear again at its 15 minutes and everyone at 30, each once, and after an acknowledgement nothing more of the response clock', async () => {
    const c = await rig.openCase(`[URGENT] members area is down ${uniqueName('tag')}`, 'Nothing loads.');
    expect(c.severity).toBe('SEV1');
    const t0 = new Date(c.firstSeenAt);
    now = t0;
    const scheduler = rig.scheduler(() => now);
    const tickAt = async (ms: number) => {
      now = at(t0, ms);
      await scheduler.tick();
      return rig.newPushes();
    };

    expect(await tickAt(0)).toEqual(lines('urgent-case', 'On Call', 'Lead A', 'Lead B'));
    for (const m of [1, 5, 10, 14]) expect(await tickAt(m * MINUTE)).toEqual([]);
    expect(await tickAt(15 * MINUTE - 1)).toEqual([]);
    // The page rings again for whoever is on call and every lead, then for everyone.
    expect(await tickAt(15 * MINUTE)).toEqual(lines('escalation', 'On Call', 'Lead A', 'Lead B'));
    expect(await tickAt(15 * MINUTE)).toEqual([]);
    for (const m of [16, 20, 25, 29]) expect(await tickAt(m * MINUTE)).toEqual([]);
    expect(await tickAt(30 * MINUTE)).toEqual(
      lines('escalation', 'On Call', 'Off Call', 'Plain Member', 'Lead A', 'Lead B'),
    );
    expect(await tickAt(30 * MINUTE)).toEqual([]);
    const escalations = rig.pushes(c.key).filter((p) => p.payload.alert === 'escalation');
    expect(new Set(escalations.map((p) => p.payload.id))).toEqual(
      new Set([
        `escalate-1:SEV1:${at(t0, 15 * MINUTE).toISOString()}`,
        `escalate-2:SEV1:${at(t0, 15 * MINUTE).toISOString()}`,
      ]),
    );
    expect(escalations.every((p) => p.delivery.urgency === 'high')).toBe(true);
    const log = await rig.alertLog(c.key);
    expect(log.map(({ kind, to, delivered }) => ({ kind, to, delivered }))).toEqual([
      { kind: 'urgent-case', to: ['Lead A', 'Lead B', 'On Call'], delivered: 3 },
      { kind: 'escalation', to: ['Lead A', 'Lead B', 'On Call'], delivered: 3 },
      {
        kind: 'escalation',
        // The admin is a member too, with no device: recorded, and unreachable.
        to: ['Lead A', 'Lead B', 'Off Call', 'On Call', 'Plain Member', 'Test Admin'],
        delivered: 5,
      },
    ]);

    const { plain } = rig.cast;
    const ack = await rig.call<typeof c>(plain, 'POST', `/cases/${c.key}/ack`);
    expect(ack.status).toBe(200);
    expect(ack.body.acknowledged).toEqual({
      by: { id: plain.id, name: 'Plain Member' },
      at: expect.any(String),
    });
    expect(clockOf(ack.body, 'response')).toMatchObject({ state: 'met', doneAt: ack.body.acknowledged!.at });
    for (const ms of [45 * MINUTE, 2 * HOUR, 10 * HOUR]) await tickAt(ms);
    const responseAlerts = ['urgent-case', 'escalation'];
    expect(rig.pushes(c.key).filter((p) => responseAlerts.includes(p.payload.alert))).toHaveLength(3 + 3 + 5);
    // What comes now is the update clock, reckoned from the acknowledgement.
    const later = rig.pushes(c.key).slice(3 + 3 + 5);
    expect(later.length).toBeGreaterThan(0);
    for (const { payload } of later) {
      expect(payload.alert).toMatch(/^update-(due|missed)$/);
      expect(payload.id).toContain(`:${ack.body.acknowledged!.at}:`);
    }
    const after = await rig.alertLog(c.key);
    expect(after.filter((e) => responseAlerts.includes(e.kind))).toHaveLength(3);
    expect((await rig.caseView(c.key)).acknowledged?.by.id).toBe(plain.id);
  });
});

describe('when a member is in quiet hours', () => {
  it('then the reminders of a SEV3 case wait for them until the quiet hours end, and come once', async () => {
    const c = await rig.openCase(`Phishing email from our "bank" ${uniqueName('tag')}`, 'Suspicious link.');
    expect(c.severity).toBe('SEV3');
    const t0 = new Date(c.firstSeenAt);
    const { onCall, leadA } = rig.cast;
    const scheduler = rig.scheduler(() => now);

    // The reminder at four fifths of the 24 hours goes to whoever is on call (no owner yet).
    now = at(t0, 1152 * MINUTE);
    const quiet = quietAround(now, 30 * MINUTE, 60 * MINUTE);
    await rig.paging(onCall, { quietHours: quiet.hours });
    const dueId = `response-due:SEV3:${at(t0, 24 * HOUR).toISOString()}`;
    let report = await scheduler.tick();
    expect(report.held).toEqual([{ caseKey: c.key, alertId: dueId, userId: onCall.id }]);
    expect(report.sent).toEqual([]);
    now = at(now, 30 * MINUTE);
    expect((await scheduler.tick()).held).toHaveLength(1);
    now = at(quiet.endsAt, -1000);
    expect((await scheduler.tick()).held).toHaveLength(1);
    expect(rig.newPushes()).toEqual([]);
    now = quiet.endsAt;
    report = await scheduler.tick();
    expect(report.held).toEqual([]);
    expect(rig.newPushes()).toEqual(['response-due → On Call']);
    expect(rig.pushes(c.key)[0]!.delivery.urgency).toBe('normal');
    expect(await scheduler.tick()).toEqual({ leader: true, sent: [], held: [] });
    expect(rig.newPushes()).toEqual([]);

    // At 24 hours the leads hear: the one in quiet hours later than the other.
    now = at(t0, 24 * HOUR);
    const leadQuiet = quietAround(now, 10 * MINUTE, 45 * MINUTE);
    await rig.paging(leadA, { quietHours: leadQuiet.hours });
    report = await scheduler.tick();
    const breachedId = `response-breached:SEV3:${at(t0, 24 * HOUR).toISOString()}`;
    expect(report.held).toEqual([{ caseKey: c.key, alertId: breachedId, userId: leadA.id }]);
    expect(rig.newPushes()).toEqual(['response-breached → Lead B']);
    now = at(leadQuiet.endsAt, -1000);
    expect((await scheduler.tick()).sent).toEqual([]);
    now = leadQuiet.endsAt;
    expect((await scheduler.tick()).held).toEqual([]);
    expect(rig.newPushes()).toEqual(['response-breached → Lead A']);
    now = at(now, HOUR);
    await scheduler.tick();
    expect(rig.newPushes()).toEqual([]);

    expect(await rig.alertLog(c.key)).toEqual([
      { kind: 'response-due', id: dueId, to: ['On Call'], delivered: 1 },
      { kind: 'response-breached', id: breachedId, to: ['Lead B'], delivered: 1 },
      { kind: 'response-breached', id: breachedId, to: ['Lead A'], delivered: 1 },
    ]);
  });

  it('then an urgent case rings through them', async () => {
    const c = await rig.openCase(`[URGENT] server down ${uniqueName('tag')}`, 'All of it.');
    expect(c.severity).toBe('SEV1');
    now = new Date(c.firstSeenAt);
    const { hours } = quietAround(now, HOUR, HOUR);
    for (const who of [rig.cast.onCall, rig.cast.leadA]) await rig.paging(who, { quietHours: hours });
    const me = await rig.call<{ inQuietHours: boolean }>(rig.cast.onCall, 'GET', '/me/paging');
    expect(me.body.inQuietHours).toBe(true);

    const report = await rig.scheduler(() => now).tick();
    expect(report.held).toEqual([]);
    expect(rig.newPushes()).toEqual(lines('urgent-case', 'On Call', 'Lead A', 'Lead B'));
    expect(rig.pushes(c.key).every((p) => p.delivery.urgency === 'high')).toBe(true);
  });
});

describe('when a member raises an answered case to SEV1', () => {
  it('then the on-call member and the leads are paged once, though the raise itself answers the case', async () => {
    const c = await rig.openCase(`Phishing email from our "bank" ${uniqueName('tag')}`, 'Suspicious link.');
    expect(c.severity).toBe('SEV3');
    const { plain, onCall, leadA, leadB } = rig.cast;
    const scheduler = rig.scheduler(() => now);

    // Answered as it came, a SEV3: nothing to page.
    await rig.patch(plain, c.key, { status: 'Triage' });
    now = new Date();
    expect((await scheduler.tick()).sent).toEqual([]);

    // Then it turns out to be a breach of the members' accounts: a member raises it.
    await rig.patch(plain, c.key, { severity: 'SEV1' });
    now = new Date();
    const report = await scheduler.tick();
    expect(report.sent).toEqual([
      { caseKey: c.key, alertId: 'page', kind: 'urgent-case', to: expect.any(Array) },
    ]);
    expect([...report.sent[0]!.to].sort()).toEqual([onCall.id, leadA.id, leadB.id].sort());
    expect(rig.newPushes()).toEqual(lines('urgent-case', 'On Call', 'Lead A', 'Lead B'));
    expect(clockOf(await rig.caseView(c.key), 'response').state).toBe('met');

    // Once only, and no escalation: the member who raised it has the case in hand (the update
    // clock, which a SEV1 now runs, reminds of updates instead).
    now = at(now, 2 * HOUR);
    const later = await scheduler.tick();
    expect(later.sent.map((s) => s.kind)).not.toContain('urgent-case');
    expect(later.sent.map((s) => s.kind)).not.toContain('escalation');
    const log = await rig.alertLog(c.key);
    expect(log.filter((a) => a.kind === 'urgent-case' || a.kind === 'escalation')).toHaveLength(1);
  });
});
