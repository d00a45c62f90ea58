import { parseThreadIndex } from '../../server/mail/outgoing-headers';
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
import { compose } from '../support/mail';
import { headerValue, readMailbox } from '../support/smtp';
import { waitFor } from '../support/wait';

/** The committee answers from the desk: the mail goes out threaded, and the answers thread back. */

let rig: ConversationRig;
beforeAll(async () => {
  rig = await startConversationRig();
});
afterAll(() => rig.stop());

// An Outlook Thread-Index as Outlook writes it on a new message (22 bytes, base64).
const OUTLOOK_THREAD_INDEX = 'AdqHnl7L0Zs3m1b2TxyXkVb2Xo0eAA==';

async function reportFromOutlook() {
  const reporter = await newMailbox('reporter');
  const tag = uniqueName('r');
  const raw = await compose({
    from: `Bo Reporter <${reporter.user}>`,
    to: rig.deskBox.user,
    subject: `The wiki shows an error ${tag}`,
    text: 'Since this morning the members wiki shows "500 Internal Server Error".',
    headers: { 'Thread-Index': OUTLOOK_THREAD_INDEX, 'Thread-Topic': 'The wiki shows an error' },
  });
  await rig.send(raw, reporter.user);
  await mailFor(reporter, 1); // the acknowledgement
  const [c] = await waitFor('the case', async () => {
    const found = await casesTagged(rig.desk, tag);
    return found.length === 1 ? found : null;
  });
  return { reporter, tag, c: c! };
}

const postReply = (key: string, body: unknown, headers: Record<string, string> = {}) =>
  rig.desk.api<{ id: string; email: { messageId: string; delivery: { state: string } } }>(
    `/api/cases/${key}/replies`,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    },
  );

describe('when a committee member replies to the reporter from the desk', () => {
  let reporter: Awaited<ReturnType<typeof reportFromOutlook>>['reporter'];
  let c: CaseView;
  let reply: Awaited<ReturnType<typeof mailFor>>[number];

  beforeAll(async () => {
    ({ reporter, c } = await reportFromOutlook());
    const res = await postReply(c.key, {
      text: 'Thanks, we are looking at the wiki now. Did you change anything?',
    });
    expect(res.status).toBe(202);
    expect(res.body.id).toMatch(/^email:out:reply:/);
    reply = (await mailFor(reporter, 2))[1]!;
  });

  it('then it arrives with our Message-ID, the threading headers and the case key', () => {
    const report = inbound(c)[0]!.email!;
    expect(reply.subject).toMatch(new RegExp(`^Re: \\[${c.key}\\] The wiki shows an error`));
    expect(reply.inReplyTo).toBe(report.messageId);
    expect(reply.references).toContain(report.messageId);
    expect(reply.references.some((r) => r.includes(`${c.key.toLowerCase()}.case@`))).toBe(true);
    expect(reply.text).toContain('Did you change anything?');
    expect(headerValue(reply.message, 'Auto-Submitted')).toBeUndefined();
    expect(headerValue(reply.message, 'X-Tocsin-Loop')).toBe(c.key);
  });

  it('then Outlook’s Thread-Index is extended by one child block, not copied', () => {
    const sent = headerValue(reply.message, 'Thread-Index')!;
    expect(sent).not.toBe(OUTLOOK_THREAD_INDEX);
    const original = Buffer.from(OUTLOOK_THREAD_INDEX, 'base64');
    const extended = Buffer.from(sent, 'base64');
    expect(extended.length).toBe(original.length + 5);
    expect(extended.subarray(0, original.length).equals(original)).toBe(true);
    expect(parseThreadIndex(sent)?.children).toHaveLength(1);
  });

  it('then the reply is on the timeline as sent, with its Message-ID', async () => {
    const now = await waitForCase(
      rig.desk,
      c.key,
      (v) =>
        outbound(v).some(
          (e) => e.email!.messageId === reply.messageId && e.email!.delivery?.state === 'sent',
        ),
      'the reply marked sent',
    );
    const entry = outbound(now).find((e) => e.email!.messageId === reply.messageId)!;
    expect(entry.email!.to.map((a) => a.address)).toEqual([reporter.user]);
  });

  it('then the reporter’s answer to it threads back into the case', async () => {
    const answer = await compose({
      from: reporter.user,
      to: rig.deskBox.user,
      subject: `RE: ${reply.subject}`,
      inReplyTo: reply.messageId,
      references: [...reply.references, reply.messageId!],
      text: 'No, I did not change anything.',
    });
    await rig.send(answer, reporter.user);
    const { entry } = await entryFor(rig.desk, c.key, answer);
    expect(entry.thread).toEqual({ by: 'headers', trusted: true });
  });

  it('then a reply to a vendor contact goes to the vendor, and the vendor’s answer threads back', async () => {
    const vendor = await newMailbox('vendor');
    const res = await postReply(c.key, {
      to: [{ name: 'Wiki Hosting Support', address: vendor.user }],
      text: 'Our wiki returns 500 since this morning; can you check the host?',
    });
    expect(res.status).toBe(202);
    const [toVendor] = await mailFor(vendor, 1);
    expect(toVendor!.subject).toContain(`[${c.key}]`);
    const answer = await compose({
      from: vendor.user,
      to: rig.deskBox.user,
      subject: 'Ticket #88123 opened',
      inReplyTo: toVendor!.messageId,
      text: 'We restarted the PHP workers.',
    });
    await rig.send(answer, vendor.user);
    const { entry } = await entryFor(rig.desk, c.key, answer);
    expect(entry.from?.address).toBe(vendor.user);
    expect(entry.thread?.by).toBe('headers');
    const now = (await rig.desk.api<CaseView>(`/api/cases/${c.key}`)).body;
    expect(now.participants).toContain(vendor.user);
  });

  it('then the same Idempotency-Key sends one mail however often the phone retries', async () => {
    const before = rig.sentByDesk().length;
    const body = { text: 'One more question: which page did you open?' };
    const first = await postReply(c.key, body, { 'Idempotency-Key': 'tap-42' });
    const second = await postReply(c.key, body, { 'Idempotency-Key': 'tap-42' });
    expect(second.body.id).toBe(first.body.id);
    await rig.relay.waitForMessages(before + 1);
    await new Promise((r) => setTimeout(r, 1500));
    expect(rig.sentByDesk().length).toBe(before + 1);
  });

  it('then a reply SMTP refuses for good is marked failed on the timeline, with the reason', async () => {
    rig.relay.mode = 'reject';
    try {
      const res = await postReply(c.key, { text: 'This one will bounce at the relay.' });
      expect(res.status).toBe(202);
      const now = await waitForCase(
        rig.desk,
        c.key,
        (v) => outbound(v).some((e) => e.id === res.body.id && e.email!.delivery?.state === 'failed'),
        'the reply marked failed',
      );
      const delivery = outbound(now).find((e) => e.id === res.body.id)!.email!.delivery!;
      expect(delivery.attempts).toBe(1);
      expect(delivery.lastError).toMatch(/550/);
    } finally {
      rig.relay.mode = 'accept';
    }
  });

  it('then bad requests get a clear error, and a case that does not exist gets 404', async () => {
    expect((await postReply(c.key, { text: '' })).status).toBe(400);
    expect((await postReply(c.key, { text: 'x', to: [{ address: 'not an address' }] })).status).toBe(400);
    const missing = await postReply('SUP-1999-999', { text: 'hello' });
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ error: 'case-not-found' });
  });
});

describe('when case data tries to smuggle headers into our mail', () => {
  it('then a subject with CR LF Bcc: given to the reply API injects nothing', async () => {
    const { reporter, c } = await reportFromOutlook();
    const victim = await newMailbox('victim');
    const res = await postReply(c.key, {
      subject: `Update\r\nBcc: ${victim.user}\r\nX-Evil: 1`,
      text: 'Status update.',
    });
    expect(res.status).toBe(202);
    const [, sent] = await mailFor(reporter, 2);
    expect(headerValue(sent!.message, 'Bcc')).toBeUndefined();
    expect(headerValue(sent!.message, 'X-Evil')).toBeUndefined();
    expect(sent!.subject).toBe(`Update Bcc: ${victim.user} X-Evil: 1`);
    const relayed = rig.sentByDesk().find((m) => m.raw.includes(Buffer.from('Status update.')))!;
    expect(relayed.to).toEqual([reporter.user]);
    expect(await readMailbox(victim)).toHaveLength(0);
  });

  it('then an encoded subject that decodes to CR LF Bcc: injects nothing into the acknowledgement', async () => {
    const reporter = await newMailbox('reporter');
    const victim = await newMailbox('victim');
    const tag = uniqueName('inj');
    const qp = (s: string) => s.replace(/_/g, '=5F');
    const encoded = `=?UTF-8?Q?Help_${qp(tag)}=0D=0ABcc:_${qp(victim.user)}?=`;
    const raw = Buffer.from(
      [
        `From: ${reporter.user}`,
        `To: ${rig.deskBox.user}`,
        `Subject: ${encoded}`,
        `Message-ID: <${tag}@example.org>`,
        `Date: ${new Date().toUTCString()}`,
        'MIME-Version: 1.0',
        'Content-Type: text/plain; charset=utf-8',
        '',
        'The printer on floor 2 is broken.',
        '',
      ].join('\r\n'),
    );
    await rig.send(raw, reporter.user);
    const [ack] = await mailFor(reporter, 1);
    expect(headerValue(ack!.message, 'Bcc')).toBeUndefined();
    expect(ack!.subject).toContain(`Help ${tag}`);
    expect(ack!.subject).not.toMatch(/[\r\n]/);
    const relayed = rig.sentByDesk().filter((m) => m.to.includes(victim.user));
    expect(relayed).toHaveLength(0);
    expect(await readMailbox(victim)).toHaveLength(0);
  });
});
