import { LOOP_HEADER } from '../mail/classify';
import type { MailTransport } from '../mail/transport';
import { LINK_TTL_MS } from './magic-link';
import type { UserDoc } from './users';

/**
 * Mail from the desk to one of its members about their own account (a sign-in link, a new
 * passkey), sent straight through the desk's SMTP transport, never queued: a link in a queue
 * would sit in the database in the clear.
 */
export type MemberMailer = (user: UserDoc, mail: { subject: string; text: string }) => Promise<void>;

export function memberMailer(transport: MailTransport, from: string): MemberMailer {
  return async (user, mail) => {
    await transport.send({
      from,
      to: [{ name: user.name, address: user.email }],
      subject: mail.subject,
      text: mail.text,
      headers: [
        { name: 'Auto-Submitted', value: 'auto-generated' },
        { name: LOOP_HEADER, value: 'account' },
      ],
    });
  };
}

export function linkMail(user: UserDoc, url: string) {
  return {
    subject: 'Your Tocsin sign-in link',
    text: [
      `Hello ${user.name},`,
      '',
      `Open this link to sign in to Tocsin. It works once, within ${LINK_TTL_MS / 60_000} minutes:`,
      '',
      url,
      '',
      'If you did not ask to sign in, ignore this message: nothing happens unless the link is used.',
    ].join('\n'),
  };
}

/** Tells a member a way to sign in was added, so that one they did not add is noticed. */
export function passkeyAddedMail(user: UserDoc, passkey: string, publicUrl: string) {
  return {
    subject: 'A passkey was added to your Tocsin account',
    text: [
      `Hello ${user.name},`,
      '',
      `A passkey ("${passkey}") can now sign in to Tocsin as you.`,
      '',
      `If you did not add it, remove it under Settings at ${publicUrl}, end your other sessions there, and tell an admin.`,
    ].join('\n'),
  };
}
