import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import nodemailer from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer';
import { newMailbox, uniqueName } from '../support/env';
import { headerValue, readMailbox, startSmtpRelay, waitForMailbox, type SmtpRelay } from '../support/smtp';
import { waitFor } from '../support/wait';

let relay: SmtpRelay;
beforeEach(async () => {
  relay = await startSmtpRelay();
});
afterEach(async () => {
  await relay.close();
});

/** Sends one message the way Tocsin does: a nodemailer transport made from a connection URL. */
async function send(url: string, options: Mail.Options) {
  const transport = nodemailer.createTransport(url);
  try {
    return await transport.sendMail({ from: 'Tocsin <desk@example.test>', text: 'body', ...options });
  } finally {
    transport.close();
  }
}

/** 'pending' when the promise has not settled within `ms`. */
const stateAfter = (promise: Promise<unknown>, ms: number) =>
  Promise.race([
    promise.then(
      () => 'resolved',
      () => 'rejected',
    ),
    sleep(ms).then(() => 'pending'),
  ]);

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('when nodemailer sends to a Dovecot user through the relay', () => {
  it('then the message is in that INBOX once sendMail resolves, headers and body intact', async () => {
    const box = await newMailbox('smtprig');
    const marker = uniqueName('ack');
    const withAuth = new URL(relay.url);
    withAuth.username = 'tocsin';
    withAuth.password = 'secret';

    const info = await send(withAuth.toString(), {
      to: box.user,
      subject: `[C-17] Received: ${marker}`,
      messageId: `<${marker}@tocsin.example.test>`,
      inReplyTo: `<report-${marker}@example.org>`,
      headers: { 'Auto-Submitted': 'auto-replied' },
      text: `We have your report.\r\n.\r\nA line that is only a dot survives. ${marker}\r\n`,
    });

    expect(info.accepted).toEqual([box.user]);
    // No waiting: 250 from the relay means LMTP has already delivered.
    const [inbox] = await readMailbox(box);
    expect(inbox).toBeDefined();
    const [sent] = relay.messages;
    expect(sent?.envelope).toEqual({ from: 'desk@example.test', to: [box.user] });
    expect(sent?.user).toBe('tocsin');
    expect(sent?.delivered).toEqual([box.user]);
    // Dovecot only prepends its trace headers (Return-Path, Delivered-To, Received).
    const raw = inbox!.raw;
    expect(raw.subarray(raw.length - sent!.raw.length).equals(sent!.raw)).toBe(true);
    expect(headerValue(inbox!, 'subject')).toBe(`[C-17] Received: ${marker}`);
    expect(headerValue(inbox!, 'message-id')).toBe(`<${marker}@tocsin.example.test>`);
    expect(headerValue(inbox!, 'in-reply-to')).toBe(`<report-${marker}@example.org>`);
    expect(headerValue(inbox!, 'auto-submitted')).toBe('auto-replied');
    expect(headerValue(inbox!, 'delivered-to')).toBe(box.user);
    expect(raw.toString('utf8')).toContain(`\r\n.\r\nA line that is only a dot survives. ${marker}\r\n`);
  });

  it('then waitForMailbox sees it, and reports the count when the condition never holds', async () => {
    const box = await newMailbox('smtprig');
    await send(relay.url, { to: box.user, subject: 'one' });
    const messages = await waitForMailbox(box, (m) => m.some((x) => headerValue(x, 'subject') === 'one'));
    expect(messages).toHaveLength(1);
    await expect(waitForMailbox(box, (m) => m.length >= 2, 500)).rejects.toThrow(/holds 1 message/);
  });

  it('then waitForMessages resolves once enough messages were accepted', async () => {
    const box = await newMailbox('smtprig');
    const waiting = relay.waitForMessages(2, 10_000);
    await send(relay.url, { to: box.user, subject: 'first' });
    await send(relay.url, { to: box.user, subject: 'second' });
    expect((await waiting).map((m) => m.envelope.to)).toEqual([[box.user], [box.user]]);
    expect(relay.sessions).toBe(2);
    await expect(relay.waitForMessages(3, 200)).rejects.toThrow(/accepted 2 of 3/);
  });
});

describe('when a recipient is outside example.test', () => {
  it('then it is recorded but only the Dovecot user gets the message', async () => {
    const box = await newMailbox('smtprig');
    await send(relay.url, { to: box.user, cc: 'someone@example.org', subject: 'mixed' });
    await send(relay.url, { to: 'outside@example.org', subject: 'outside only' });

    expect(relay.messages.map((m) => [m.envelope.to, m.delivered])).toEqual([
      [[box.user, 'someone@example.org'], [box.user]],
      [['outside@example.org'], []],
    ]);
    const inbox = await readMailbox(box);
    expect(inbox.map((m) => headerValue(m, 'subject'))).toEqual(['mixed']);
  });
});

describe('when LMTP delivery fails', () => {
  it('then a Dovecot address with no such user gets 451 and nothing is recorded', async () => {
    await expect(send(relay.url, { to: `${uniqueName('nobody')}@example.test` })).rejects.toMatchObject({
      responseCode: 451,
    });
    expect(relay.messages).toHaveLength(0);
  });

  it('then an unreachable LMTP server gets 451', async () => {
    const broken = await startSmtpRelay({ lmtp: { host: '127.0.0.1', port: await closedPort() } });
    try {
      const box = await newMailbox('smtprig');
      await expect(send(broken.url, { to: box.user })).rejects.toMatchObject({ responseCode: 451 });
      expect(broken.messages).toHaveLength(0);
      expect(await readMailbox(box)).toHaveLength(0);
    } finally {
      await broken.close();
    }
  });
});

describe('when the relay is in a fault mode', () => {
  it('then reject makes sendMail fail with a 5xx and delivers nothing', async () => {
    const box = await newMailbox('smtprig');
    relay.mode = 'reject';
    const err: unknown = await send(relay.url, { to: box.user }).catch((e: unknown) => e);
    expect(err).toMatchObject({ responseCode: 550 });
    expect(relay.messages).toHaveLength(0);
    expect(await readMailbox(box)).toHaveLength(0);
  });

  it('then tempfail makes sendMail fail with 451 and delivers nothing', async () => {
    const box = await newMailbox('smtprig');
    relay.mode = 'tempfail';
    await expect(send(relay.url, { to: box.user })).rejects.toMatchObject({ responseCode: 451 });
    expect(relay.messages).toHaveLength(0);
    expect(await readMailbox(box)).toHaveLength(0);
  });

  it('then stall leaves sendMail pending until releaseStalled, and delivers nothing', async () => {
    const box = await newMailbox('smtprig');
    relay.mode = 'stall';
    const sending = send(relay.url, { to: box.user });
    sending.catch(() => undefined);
    await waitFor('the relay to hold the DATA reply', () => relay.stalled === 1, 10_000);

    expect(await stateAfter(sending, 1_000)).toBe('pending');
    expect(relay.messages).toHaveLength(0);
    expect(await readMailbox(box)).toHaveLength(0);

    relay.releaseStalled();
    await expect(sending).rejects.toMatchObject({ responseCode: 451 });
    expect(relay.stalled).toBe(0);
    expect(await readMailbox(box)).toHaveLength(0);
  });

  it('then close ends a stalled session, and a new relay starts on the same port', async () => {
    const box = await newMailbox('smtprig');
    relay.mode = 'stall';
    const sending = send(relay.url, { to: box.user, subject: 'stalled' });
    sending.catch(() => undefined);
    await waitFor('the relay to hold the DATA reply', () => relay.stalled === 1, 10_000);

    const { port } = relay;
    await relay.close();
    await expect(sending).rejects.toThrow();
    expect(await readMailbox(box)).toHaveLength(0);

    relay = await startSmtpRelay({ port });
    expect(relay.port).toBe(port);
    await send(relay.url, { to: box.user, subject: 'after restart' });
    expect(relay.sessions).toBe(1);
    const inbox = await readMailbox(box);
    expect(inbox.map((m) => headerValue(m, 'subject'))).toEqual(['after restart']);
  });
});
