import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_PLAYBOOK_FILE } from '../../server/cases/playbook';
import { parseMessage } from '../../server/mail/parse';
import { Quarantine } from '../../server/intake/store';
import {
  casesTagged,
  inbound,
  startConversationRig,
  waitForCase,
  type CaseView,
  type ConversationRig,
} from '../support/conversation';
import { uniqueName } from '../support/env';
import { compose } from '../support/mail';
import { waitFor } from '../support/wait';

/**
 * Monitoring alerts through the real Dovecot, database and SMTP relay: a monitoring system's
 * machine mail opens a case instead of being quarantined, is never answered, repeats and recoveries
 * join the alert's open case, and every other sender's machine mail is held as before.
 */

const UPTIME = 'alerts@uptime.example';
const GRAFANA = 'grafana@ops.example';

let rig: ConversationRig;
let playbookDir: string;
beforeAll(async () => {
  playbookDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tocsin-alerts-'));
  const playbook = JSON.parse(fs.readFileSync(DEFAULT_PLAYBOOK_FILE, 'utf8'));
  playbook.alertSources = [{ sender: UPTIME, type: 'INC', severity: 'SEV2' }];
  const playbookFile = path.join(playbookDir, 'playbook.json');
  fs.writeFileSync(playbookFile, JSON.stringify(playbook));
  rig = await startConversationRig({
    playbookFile,
    alertSenders: ['@ops.example'],
    authservIds: ['mx.desk.test'],
  });
});
afterAll(async () => {
  await rig.stop();
  fs.rmSync(playbookDir, { recursive: true, force: true });
});

/** Machine mail as monitoring tools write it. */
async function alert(from: string, subject: string, extra: Record<string, string> = {}): Promise<Buffer> {
  const raw = await compose({
    from: `Monitor <${from}>`,
    to: rig.deskBox.user,
    subject,
    text: `${subject}\n\nThis is an automated message.`,
    headers: { 'Auto-Submitted': 'auto-generated', Precedence: 'bulk', ...extra },
  });
  await rig.send(raw, from);
  return raw;
}

async function casesWith(tag: string, messages: number): Promise<CaseView[]> {
  return waitFor(`${messages} messages tagged ${tag} on cases`, async () => {
    const found = await casesTagged(rig.desk, tag);
    return found.reduce((n, c) => n + inbound(c).length, 0) === messages ? found : null;
  });
}

/** The quarantine record of the message with this subject (Dovecot's copy has more headers). */
const quarantined = async (subject: string) =>
  waitFor(`the quarantine record of "${subject}"`, async () => {
    const held = await Quarantine.find().lean();
    return held.find((q) =>
      q.headers.some((h) => h.name?.toLowerCase() === 'subject' && h.value === subject),
    );
  });

describe('when an uptime check mails that a site is down, then again, then that it is up', () => {
  let tag: string;
  let opened: CaseView;
  beforeAll(async () => {
    tag = uniqueName('shop');
    await alert(UPTIME, `DOWN: shop ${tag} is not responding`);
    opened = (await casesWith(tag, 1))[0]!;
  });

  it('then the alert opens a case of the source’s type and severity, flagged, and nobody is answered', async () => {
    expect(opened.alert).toBe(true);
    expect(opened.type).toBe('INC');
    expect(opened.severity).toBe('SEV2');
    expect(opened.status).toBe('New');
    expect(inbound(opened)[0]!.email!.classification?.kind).not.toBe('human');
    expect(inbound(opened)[0]!.email!.thread?.by).toBe('alert');
    await new Promise((res) => setTimeout(res, 1500));
    expect(rig.sentByDesk().filter((m) => m.to.includes(UPTIME))).toEqual([]);
  });

  it('then a repeat joins the open case, and the recovery goes on its timeline suggesting Monitoring', async () => {
    await alert(UPTIME, `DOWN: shop ${tag} is not responding`);
    await alert(UPTIME, `UP: shop ${tag} is not responding`);
    const cases = await casesWith(tag, 3);
    expect(cases.map((c) => c.key)).toEqual([opened.key]);
    const recovered = cases[0]!.timeline.filter((e) => e.notice?.code === 'alert-recovered');
    expect(recovered).toHaveLength(1);
    expect(recovered[0]!.notice!.message).toContain('move the case to Monitoring');
    expect(rig.sentByDesk().filter((m) => m.to.includes(UPTIME))).toEqual([]);
  });

  it('then, once the case is closed, the next firing opens a new case', async () => {
    for (const body of [{ status: 'Triage' }, { status: 'Closed', reason: 'A test of the monitor.' }]) {
      const { version } = (await rig.desk.api<CaseView>(`/api/cases/${opened.key}`)).body;
      const res = await rig.desk.api(`/api/cases/${opened.key}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ version, ...body }),
      });
      expect(res.status).toBe(200);
    }
    // A late recovery goes on the closed case's timeline, and suggests nothing.
    await alert(UPTIME, `UP: shop ${tag} is not responding`);
    const closed = await waitForCase(
      rig.desk,
      opened.key,
      (c) => inbound(c).length === 4,
      'the late recovery',
    );
    expect(closed.status).toBe('Closed');
    expect(closed.timeline.filter((e) => e.notice?.code === 'alert-recovered')).toHaveLength(1);
    await alert(UPTIME, `DOWN: shop ${tag} is not responding`);
    const cases = await casesWith(tag, 5);
    expect(cases).toHaveLength(2);
    const fresh = cases.find((c) => c.key !== opened.key)!;
    expect(fresh.status).toBe('New');
    expect(fresh.alert).toBe(true);
    expect(inbound(fresh)).toHaveLength(1);
  });
});

describe('when Alertmanager mail fires and resolves two alerts (a sender of an ALERT_SENDERS domain)', () => {
  it('then each alert has its own case, and each [RESOLVED] joins its own', async () => {
    const tag = uniqueName('alertname');
    await alert(GRAFANA, `[FIRING:1] HighLatency api ${tag}`);
    await alert(GRAFANA, `[FIRING:2] DiskFull db ${tag}`);
    await alert(GRAFANA, `[RESOLVED] HighLatency api ${tag}`);
    await alert(GRAFANA, `[FIRING:1] HighLatency api ${tag}`);
    const cases = await casesWith(tag, 4);
    expect(cases).toHaveLength(2);
    const latency = cases.find((c) => c.subject.includes('HighLatency'))!;
    const disk = cases.find((c) => c.subject.includes('DiskFull'))!;
    // Mail of one second sorts by entry id on the timeline: compare the set.
    expect(
      inbound(latency)
        .map((e) => e.email!.subject)
        .sort(),
    ).toEqual([
      `[FIRING:1] HighLatency api ${tag}`,
      `[FIRING:1] HighLatency api ${tag}`,
      `[RESOLVED] HighLatency api ${tag}`,
    ]);
    expect(inbound(disk)).toHaveLength(1);
    expect(latency.timeline.filter((e) => e.notice?.code === 'alert-recovered')).toHaveLength(1);
    expect(disk.timeline.filter((e) => e.notice)).toEqual([]);
  });

  it('then a recovery of an alert that opened no case is held in quarantine with that reason', async () => {
    const subject = `[RESOLVED] NeverFired ${uniqueName('x')}`;
    await alert(GRAFANA, subject);
    const held = await quarantined(subject);
    expect(held.reason).toBe(
      `a recovery notice from the alert sender ${GRAFANA}, for an alert that opened no case`,
    );
  });
});

describe('when machine mail comes from anyone else, or forged from an alert sender', () => {
  it('then an auto-reply from a stranger is quarantined as before, and gets no answer', async () => {
    const stranger = `${uniqueName('ooo')}@example.org`.toLowerCase();
    const subject = `Out of office: back on Monday ${uniqueName('ooo')}`;
    await alert(stranger, subject);
    const held = await quarantined(subject);
    expect(held.reason).toMatch(/^machine-written message/);
    expect(rig.sentByDesk().filter((m) => m.to.includes(stranger))).toEqual([]);
  });

  it('then an alert whose sender fails DMARC at the mailbox provider is judged as anyone’s machine mail', async () => {
    const subject = `DOWN: forged ${uniqueName('f')}`;
    await alert(UPTIME, subject, {
      'Authentication-Results': 'mx.desk.test; dmarc=fail (p=reject) header.from=uptime.example',
    });
    const held = await quarantined(subject);
    expect(held.reason).toMatch(/^machine-written message/);
  });

  it('then a person’s reply to an alert case threads to it by its headers, not as a new alert', async () => {
    const tag = uniqueName('thread');
    await alert(UPTIME, `DOWN: api ${tag}`);
    const [c] = await casesWith(tag, 1);
    const first = inbound(c!)[0]!.email!;
    const reply = await compose({
      from: UPTIME,
      to: rig.deskBox.user,
      subject: `Re: DOWN: api ${tag}`,
      inReplyTo: first.messageId,
      references: [first.messageId!],
      text: 'Acknowledged by the on-call engineer.',
    });
    await rig.send(reply, UPTIME);
    const threaded = await waitForCase(rig.desk, c!.key, (v) => inbound(v).length === 2, 'the reply');
    const replyId = (await parseMessage(reply)).messageId;
    expect(inbound(threaded).find((e) => e.email!.messageId === replyId)!.email!.thread?.by).toBe('headers');
  });
});
