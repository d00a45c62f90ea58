import { uniqueName } from '../support/env';
import { ClockRig, eachTestAClockRig, lines } from '../support/clock-rig';
import { compose } from '../support/mail';

// Pages for what the storm guard and the alert senders let in, through the desk's intake, the
// scheduler and the local push service: an urgent report in a sender's storm pages as any urgent
// report does, the storm case itself does not, and an urgent monitoring alert pages too.

let rig: ClockRig;
eachTestAClockRig((r) => (rig = r), { alertSenders: ['@monitor.example'] });

async function ingest(from: string, subject: string, headers: Record<string, string> = {}) {
  const raw = await compose({ from, subject, text: `${subject}.`, headers });
  return rig.desk.intake.ingestOrQuarantine(raw, { kind: 'file' });
}

describe('when a busy sender’s sixth report of the hour says the public website is down', () => {
  it('then it opens its own urgent case and the on-call members are paged, while the storm case pages nobody', async () => {
    const sender = `comms-${uniqueName('c')}@example.org`;
    for (let i = 0; i < 5; i++) expect((await ingest(sender, `Small fix ${i}`)).outcome).toBe('created');
    const overflow = await ingest(sender, 'Another small fix');
    const urgent = await ingest(sender, '[URGENT] the public website is down');
    expect(overflow.outcome).toBe('created');
    expect(urgent.outcome).toBe('created');
    if (overflow.outcome !== 'created' || urgent.outcome !== 'created') return;
    const storm = await rig.caseView(overflow.caseKey);
    expect(storm.severity).not.toMatch(/SEV[12]/);
    const own = await rig.caseView(urgent.caseKey);
    expect(own.severity).toBe('SEV1');

    const report = await rig.scheduler().tick();
    const paged = report.sent.filter((s) => s.kind === 'urgent-case').map((s) => s.caseKey);
    expect(paged).toEqual([urgent.caseKey]);
    expect(rig.newPushes()).toEqual(lines('urgent-case', 'On Call', 'Lead A', 'Lead B'));
  });
});

describe('when a monitoring system mails an urgent alert', () => {
  it('then it opens a case and pages as a person’s urgent report does, with no acknowledgement', async () => {
    const result = await ingest('checks@monitor.example', '[URGENT] DOWN: payments api', {
      'Auto-Submitted': 'auto-generated',
    });
    expect(result.outcome).toBe('created');
    if (result.outcome !== 'created') return;
    const c = await rig.caseView(result.caseKey);
    expect(['SEV1', 'SEV2']).toContain(c.severity);
    const report = await rig.scheduler().tick();
    expect(report.sent.map((s) => [s.caseKey, s.kind])).toEqual([[result.caseKey, 'urgent-case']]);
    expect(rig.newPushes()).toEqual(lines('urgent-case', 'On Call', 'Lead A', 'Lead B'));
  });
});
