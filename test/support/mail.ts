import { randomBytes } from 'node:crypto';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import MailComposer from 'nodemailer/lib/mail-composer';
import type Mail from 'nodemailer/lib/mailer';
import type { ImapConfig } from '../../server/config';
import { testEnv } from './env';

/**
 * Builds a real RFC 5322 message with nodemailer's composer. Each message has its own sender
 * unless the test names one, so per-sender limits (the circuit breaker, one acknowledgement a
 * day) only come into play where a test means them to.
 */
export function compose(options: Mail.Options): Promise<Buffer> {
  const from = `Reporter <reporter-${randomBytes(4).toString('hex')}@example.org>`;
  return new MailComposer({ from, ...options }).compile().build();
}

/** Puts messages into a mailbox with IMAP APPEND, over one connection. */
export async function appendMessages(
  box: ImapConfig,
  raws: Buffer[],
  folder = box.mailbox,
  internalDate?: Date,
): Promise<void> {
  const client = await imapClient(box);
  try {
    for (const raw of raws) await client.append(folder, raw, [], internalDate);
  } finally {
    await client.logout();
  }
}

/** Delivers a message the way a mail server does, over LMTP. */
export async function deliverLmtp(raw: Buffer, to: string): Promise<void> {
  const transport = nodemailer.createTransport({
    lmtp: true,
    host: testEnv().imapHost,
    port: testEnv().lmtpPort,
  });
  try {
    await transport.sendMail({ envelope: { from: 'mta@example.org', to: [to] }, raw });
  } finally {
    transport.close();
  }
}

/** An IMAP client for a test mailbox (plain IMAP on loopback), not yet connected. */
export function newImapClient(box: ImapConfig, extra: { autoIdleDelay?: number } = {}): ImapFlow {
  return new ImapFlow({
    host: box.host,
    port: box.port,
    secure: false,
    auth: { user: box.user, pass: box.password },
    logger: false,
    ...extra,
  });
}

/** Opens an IMAP client for a test to manage a mailbox directly (create, delete, inspect). */
export async function imapClient(box: ImapConfig): Promise<ImapFlow> {
  const client = newImapClient(box);
  await client.connect();
  return client;
}

/** The highest UID in a mailbox right now (0 when empty). */
export async function lastUid(box: ImapConfig, folder = box.mailbox): Promise<number> {
  const client = await imapClient(box);
  try {
    const status = await client.status(folder, { uidNext: true });
    return status ? (status.uidNext ?? 1) - 1 : 0;
  } finally {
    await client.logout();
  }
}
