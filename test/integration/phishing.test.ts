import {
  casesTagged,
  inbound,
  mailFor,
  startConversationRig,
  waitForCase,
  type ConversationRig,
} from '../support/conversation';
import { Inbound, type InboundRecord } from '../../server/intake/store';
import { parseMessage } from '../../server/mail/parse';
import { newMailbox, uniqueName } from '../support/env';
import { compose } from '../support/mail';
import { waitFor } from '../support/wait';

/** Seed 003: report phishing by forwarding it. Two colleagues forward the same one. */

let rig: ConversationRig;
beforeAll(async () => {
  rig = await startConversationRig();
});
afterAll(() => rig.stop());

describe('when two people forward the same phishing email as an attachment', () => {
  it('then there is one phishing case with both reporters, its indicators, and an acknowledgement each', async () => {
    const tag = uniqueName('phish');
    const phishUrl = `https://login-${tag.toLowerCase().replace(/_/g, '-')}.example.net/verify?u=42`;
    const invoice = Buffer.from(`%PDF-1.4 fake invoice ${tag}\n`);
    const phish = await compose({
      from: 'IT Service Desk <it-support@paypa1-security.example.com>',
      replyTo: 'collect@evil-drop.example.org',
      to: 'everyone@example.org',
      subject: 'Your mailbox is full: verify now',
      messageId: `<${tag}@mailer.paypa1-security.example.com>`,
      html: `<p>Dear user, <a href="${phishUrl}">click here to keep your mailbox</a>.</p><img src="https://track.evil-drop.example.org/p.gif">`,
      text: `Dear user, visit ${phishUrl} to keep your mailbox.`,
      attachments: [{ filename: 'invoice.pdf', content: invoice, contentType: 'application/pdf' }],
      headers: { Received: 'from mailer.paypa1-security.example.com ([203.0.113.66]) by mx.example.org' },
    });

    const reporters = [await newMailbox('alice'), await newMailbox('bob')];
    for (const [i, reporter] of reporters.entries()) {
      const forward = await compose({
        from: reporter.user,
        to: rig.deskBox.user,
        subject: `Fwd: suspicious email ${tag}`,
        text: i === 0 ? 'This looks like phishing, I did not click.' : 'Got this too. Phishing?',
        attachments: [{ filename: 'phish.eml', content: phish, contentType: 'message/rfc822' }],
      });
      await rig.send(forward, reporter.user);
      // The second report must find the first one's case: let the first land, done (its
      // indicators are claimed for the case after the case is written and listed).
      if (i === 0) {
        const messageId = (await parseMessage(forward)).messageId;
        await waitFor('the first report, done', async () => {
          const record = await Inbound.findOne({ messageId }).lean<InboundRecord>();
          return (record?.state === 'done' && (await casesTagged(rig.desk, tag)).length === 1) || null;
        });
      }
    }

    const acks = await Promise.all(reporters.map((r) => mailFor(r, 1)));
    const cases = await casesTagged(rig.desk, tag);
    expect(cases).toHaveLength(1);
    // The second report's entry, its reporter joining the case and its indicators are separate
    // writes: wait for all of them.
    const c = await waitForCase(
      rig.desk,
      cases[0]!.key,
      (v) => inbound(v).length === 2 && v.participants.length === 2 && v.relatedReports.length === 1,
      'both reports, both reporters',
    );
    expect(c.type).toBe('PHI');
    for (const [i, reporter] of reporters.entries()) {
      expect(c.participants).toContain(reporter.user);
      expect(acks[i]![0]!.subject).toContain(`[${c.key}]`);
    }
    expect(c.relatedReports.map((r) => r.from.address)).toEqual([reporters[1]!.user]);

    const has = (type: string, value: string) =>
      c.indicators.find((i) => i.type === type && i.value.toLowerCase() === value.toLowerCase());
    expect(has('url', phishUrl)?.display).toMatch(/^hxxps:\/\/.*\[\.\]/);
    expect(has('url', phishUrl)?.reports).toBe(2);
    expect(has('reply-to', 'collect@evil-drop.example.org')).toBeDefined();
    expect(has('domain', 'paypa1-security.example.com')).toBeDefined();
    expect(has('ip', '203.0.113.66')).toBeDefined();
    expect(c.indicators.some((i) => i.type === 'attachment-sha256')).toBe(true);
    expect(has('message-id', `<${tag}@mailer.paypa1-security.example.com>`)).toBeDefined();
  });
});
