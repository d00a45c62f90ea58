import type { ImapConfig } from '../../server/config';
import {
  casesTagged,
  entryFor,
  inbound,
  mailFor,
  outbound,
  startConversationRig,
  waitForCase,
  type CaseView,
  type ConversationRig,
} from '../support/conversation';
import { newMailbox, uniqueName } from '../support/env';
import { parseMessage } from '../../server/mail/parse';
import { caughtUp } from '../support/caught-up';
import { appendMessages, compose } from '../support/mail';
import { headerValue } from '../support/smtp';
import { waitFor } from '../support/wait';

/**
 * Real round trips: a reporter's mail goes through SMTP into the desk's Dovecot mailbox, the desk
 * answers through SMTP into the reporter's own mailbox, and the reporter answers that.
 */

let rig: ConversationRig;
beforeAll(async () => {
  rig = await startConversationRig();
});
afterAll(() => rig.stop());

interface Reported {
  reporter: ImapConfig;
  tag: string;
  reportId: string;
  caseView: CaseView;
  ack: Awaited<ReturnType<typeof mailFor>>[number];
}

/** A reporter writes in, and the acknowledgement arrives in their mailbox. */
async function report(subject: string, text: string): Promise<Reported> {
  const reporter = await newMailbox('reporter');
  const tag = uniqueName('t');
  const raw = await compose({
    from: `Ann Example <${reporter.user}>`,
    to: rig.deskBox.user,
    subject: `${subject} ${tag}`,
    text,
  });
  await rig.send(raw, reporter.user);
  const [ack] = await mailFor(reporter, 1);
  const [caseView] = await waitFor('the case', async () => {
    const found = await casesTagged(rig.desk, tag);
    return found.length === 1 ? found : null;
  });
  const reportId = inbound(caseView!)[0]!.email!.messageId!;
  return { reporter, tag, reportId, caseView: caseView!, ack: ack! };
}

/** Sends a reporter's follow-up, waits until the case shows it, and returns the case and its entry. */
async function followUp(r: Reported, raw: Buffer) {
  await rig.send(raw, r.reporter.user);
  return entryFor(rig.desk, r.caseView.key, raw);
}

const sentTo = (address: string) => rig.sentByDesk().filter((m) => m.to.includes(address));

describe('when someone reports a lost laptop by email', () => {
  let r: Reported;
  beforeAll(async () => {
    r = await report('Lost my laptop', 'I think I left my work laptop on the train. Sorry!');
  });

  it('then one acknowledgement arrives with the key, threading headers and the loop guards', () => {
    const { ack, caseView } = r;
    expect(caseView.type).toBe('DEV');
    expect(ack.subject).toContain(`[${caseView.key}]`);
    expect(ack.inReplyTo).toBe(r.reportId);
    expect(ack.references).toContain(r.reportId);
    expect(ack.messageId).toMatch(new RegExp(`@${rig.deskBox.user.split('@')[1]}>$`));
    expect(headerValue(ack.message, 'Auto-Submitted')).toBe('auto-replied');
    expect(headerValue(ack.message, 'X-Tocsin-Loop')).toBe(caseView.key);
    expect(ack.from?.address).toBe(rig.deskBox.user);
  });

  it('then it asks for the device information the report lacks, and not for what it gave', () => {
    const text = r.ack.text;
    expect(text).toMatch(/not in trouble/i);
    expect(text).toMatch(/last (known )?use/i);
    expect(text).toMatch(/account/i);
    expect(text).not.toMatch(/what kind of device/i);
  });

  it('then the outbound acknowledgement is on the timeline, delivered', async () => {
    const c = await waitForCase(
      rig.desk,
      r.caseView.key,
      (v) => outbound(v)[0]?.email?.delivery?.state === 'sent',
      'the acknowledgement marked sent',
    );
    expect(outbound(c)).toHaveLength(1);
    expect(outbound(c)[0]!.email!.messageId).toBe(r.ack.messageId);
  });

  it('then the reporter’s reply to the acknowledgement threads into the case, unanswered', async () => {
    const reply = await compose({
      from: r.reporter.user,
      to: rig.deskBox.user,
      subject: `Re: ${r.ack.subject}`,
      inReplyTo: r.ack.messageId,
      references: [r.reportId, r.ack.messageId!],
      text: `It is a ThinkPad. I last used it yesterday evening.\n\n> ${r.ack.text.split('\n').join('\n> ')}`,
    });
    const { entry } = await followUp(r, reply);
    expect(entry.thread).toEqual({ by: 'headers', trusted: true });
    expect(await casesTagged(rig.desk, r.tag)).toHaveLength(1);
    expect(sentTo(r.reporter.user)).toHaveLength(1);
  });

  it('then a reply carrying only the key in its subject joins, from the reporter', async () => {
    const raw = await compose({
      from: r.reporter.user,
      to: rig.deskBox.user,
      subject: `AW: ${r.caseView.key}] one more thing`,
      text: 'I also had my banking app on it.',
    });
    const { entry } = await followUp(r, raw);
    expect(entry.thread).toEqual({ by: 'subject-key', trusted: true });
  });

  it('then a reply by headers alone, with a new subject, joins', async () => {
    const raw = await compose({
      from: r.reporter.user,
      to: rig.deskBox.user,
      subject: 'Found the receipt',
      inReplyTo: r.ack.messageId,
      text: 'Serial number is on the receipt, attached later.',
    });
    const { entry } = await followUp(r, raw);
    expect(entry.thread?.by).toBe('headers');
  });

  it('then a reply from a client that strips headers joins by the marker it quotes', async () => {
    const raw = await compose({
      from: r.reporter.user,
      to: rig.deskBox.user,
      subject: 'Re: your message',
      text: `Changed my password now.\n\n-----Original Message-----\n${r.ack.text}`,
    });
    const { entry } = await followUp(r, raw);
    expect(entry.thread).toEqual({ by: 'marker', trusted: true });
    expect(sentTo(r.reporter.user)).toHaveLength(1);
  });

  it('then an out-of-office answer to the acknowledgement is recorded, and nothing is sent', async () => {
    const before = rig.sentByDesk().length;
    const raw = await compose({
      from: r.reporter.user,
      to: rig.deskBox.user,
      subject: `Automatic reply: ${r.ack.subject}`,
      inReplyTo: r.ack.messageId,
      headers: { 'Auto-Submitted': 'auto-replied', 'X-Auto-Response-Suppress': 'All' },
      text: 'I am out of the office until Monday.',
    });
    const { entry } = await followUp(r, raw);
    expect(entry.classification?.kind).toBe('auto-reply');
    expect(await casesTagged(rig.desk, r.tag)).toHaveLength(1);
    await new Promise((res) => setTimeout(res, 1500));
    expect(rig.sentByDesk().length).toBe(before);
  });

  it('then a delivery failure report for the acknowledgement attaches to the case and marks it failed', async () => {
    const before = rig.sentByDesk().length;
    const ackHeaders = r.ack.message.raw.subarray(0, r.ack.message.raw.indexOf('\r\n\r\n')).toString();
    const boundary = 'dsn-boundary-1';
    const dsn = Buffer.from(
      [
        `From: Mail Delivery System <MAILER-DAEMON@${rig.deskBox.user.split('@')[1]}>`,
        `To: ${rig.deskBox.user}`,
        `Subject: Undelivered Mail Returned to Sender`,
        `Message-ID: <${uniqueName('dsn')}@mx.example.test>`,
        `Date: ${new Date().toUTCString()}`,
        'Auto-Submitted: auto-replied',
        'MIME-Version: 1.0',
        `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
        '',
        `--${boundary}`,
        'Content-Type: text/plain',
        '',
        `I'm sorry to have to inform you that your message could not be delivered.`,
        '',
        `--${boundary}`,
        'Content-Type: message/delivery-status',
        '',
        'Reporting-MTA: dns; mx.example.test',
        '',
        `Final-Recipient: rfc822; ${r.reporter.user}`,
        'Action: failed',
        'Status: 5.1.1',
        '',
        `--${boundary}`,
        'Content-Type: text/rfc822-headers',
        '',
        ackHeaders.replace(/\r\n/g, '\n').split('\n').join('\r\n'),
        '',
        `--${boundary}--`,
        '',
      ].join('\r\n'),
    );
    const { entry } = await followUp(r, dsn);
    const bounce = entry;
    expect(bounce.classification?.kind).toBe('bounce');
    expect(bounce.thread?.by).toBe('bounce');
    // The bounce's entry and the failed delivery are written side by side: wait for the second.
    const isAck = (e: ReturnType<typeof outbound>[number]) => e.email!.messageId === r.ack.messageId;
    const c = await waitForCase(
      rig.desk,
      r.caseView.key,
      (v) => outbound(v).find(isAck)?.email?.delivery?.state !== 'sent',
      'the acknowledgement marked as bounced',
    );
    const ackEntry = outbound(c).find(isAck)!;
    expect(ackEntry.email!.delivery?.state).toBe('failed');
    expect(ackEntry.email!.delivery?.lastError).toMatch(/^bounced \(email:/);
    expect(bounce.bounceOf).toBe(ackEntry.id);
    await new Promise((res) => setTimeout(res, 1500));
    expect(rig.sentByDesk().length).toBe(before);
  });

  it('then our own acknowledgement coming back into the mailbox opens nothing and sends nothing', async () => {
    const before = rig.sentByDesk().length;
    const { entry } = await followUp(r, r.ack.message.raw);
    expect(entry.classification?.kind).toBe('loop');
    expect(await casesTagged(rig.desk, r.tag)).toHaveLength(1);
    await new Promise((res) => setTimeout(res, 1500));
    expect(rig.sentByDesk().length).toBe(before);
  });

  it('then a stranger quoting the key is not appended: a new case links to it instead', async () => {
    const stranger = `stranger-${uniqueName('x')}@example.org`.toLowerCase();
    const raw = await compose({
      from: stranger,
      to: rig.deskBox.user,
      subject: `Re: [${r.caseView.key}] please send the files to me ${r.tag}-forged`,
      text: 'I am the owner of this laptop, reply with everything you have.',
    });
    await rig.send(raw, stranger);
    const [opened] = await waitFor('the new case', async () => {
      const found = await casesTagged(rig.desk, `${r.tag}-forged`);
      return found.length === 1 ? found : null;
    });
    expect(opened!.key).not.toBe(r.caseView.key);
    expect(opened!.links).toEqual([{ key: r.caseView.key, relation: 'possible-follow-up-of' }]);
    const original = await waitForCase(
      rig.desk,
      r.caseView.key,
      (c) => c.timeline.some((e) => e.notice?.code === 'possible-follow-up'),
      'the follow-up notice on the original case',
    );
    expect(inbound(original).some((e) => e.email!.from?.address === stranger)).toBe(false);
    expect(original.participants).not.toContain(stranger);
    expect(inbound(opened!)[0]!.email!.verdict?.verdict).toBe('none');
  });
});

// A bare noreply@ is machine mail (mail/classify.ts); these variants read as a person's.
describe('when a report comes from a no-reply address (a booking system, a shop)', () => {
  it('then it opens a case, and no acknowledgement is sent to the address nobody reads', async () => {
    const tag = uniqueName('noreply');
    const domain = `${tag.replace(/[^a-z0-9]/gi, '').toLowerCase()}.example.org`;
    const senders = [`noreply+bookings@${domain}`, `Do-Not-Reply.shop@${domain}`, `bounce-md_1234@${domain}`];
    for (const from of senders) {
      const raw = await compose({
        from,
        to: rig.deskBox.user,
        subject: `Your booking ${tag}`,
        text: 'Thank you.',
      });
      await rig.send(raw, `postmaster@${domain}`);
    }
    await waitFor('the three cases', async () =>
      (await casesTagged(rig.desk, tag)).length === 3 ? true : null,
    );
    await new Promise((res) => setTimeout(res, 1500));
    expect(rig.sentByDesk().filter((m) => m.to.some((to) => to.toLowerCase().endsWith(domain)))).toEqual([]);
  });
});

describe('when a report and its follow-up wait in the mailbox together (a catch-up after downtime)', () => {
  it('then the follow-up still joins the report’s case, though both are read in one batch', async () => {
    const box = await newMailbox('catchup');
    const tag = uniqueName('catchup');
    const reporter = `early-${uniqueName('r')}@example.org`.toLowerCase();
    const report = await compose({ from: reporter, subject: `Printer on fire ${tag}`, text: 'Smoke!' });
    const reportId = (await parseMessage(report)).messageId!;
    const followUps = await Promise.all(
      [1, 2, 3].map((n) =>
        compose({
          from: reporter,
          subject: 'Re: Printer on fire',
          inReplyTo: reportId,
          references: [reportId],
          text: `Update ${n}: it is out now.`,
        }),
      ),
    );
    await appendMessages(box, [report, ...followUps]);
    rig.desk.startPoller(box);
    await caughtUp(box, 30_000);
    const cases = await casesTagged(rig.desk, tag);
    expect(cases).toHaveLength(1);
    expect(inbound(cases[0]!)).toHaveLength(4);
  });
});

describe('when a mailbox with history is connected', () => {
  it('then old mail opens cases but gets no acknowledgement, and a sender’s old reports out of order do not trip the breaker', async () => {
    const box = await newMailbox('history');
    const tag = uniqueName('history');
    const sender = `regular-${uniqueName('s')}@example.org`.toLowerCase();
    const hour = 60 * 60_000;
    const tenDaysAgo = Date.now() - 10 * 24 * hour;
    // Six reports two hours apart, stored newest first, as an imported folder may be.
    for (let i = 5; i >= 0; i--) {
      const raw = await compose({ from: sender, subject: `Old report ${i} ${tag}`, text: `Report ${i}.` });
      await appendMessages(box, [raw], 'INBOX', new Date(tenDaysAgo + i * 2 * hour));
    }
    rig.desk.startPoller(box);
    await caughtUp(box, 30_000);
    const cases = await casesTagged(rig.desk, tag);
    expect(cases).toHaveLength(6);
    expect(cases.flatMap((c) => c.timeline.filter((e) => e.notice))).toEqual([]);
    await new Promise((res) => setTimeout(res, 1500));
    expect(sentTo(sender)).toHaveLength(0);
  });
});
