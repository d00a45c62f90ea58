import type { Transporter } from 'nodemailer';
import { LOOP_HEADER } from '../mail/classify';
import { LINK_TTL_MS } from './magic-link';
import type { UserDoc } from './users';

/** Sends a member their sign-in link, straight through the desk's SMTP transport (never queued). */
export type LinkSender = (user: UserDoc, url: string) => Promise<void>;

export function linkSender(transport: Transporter, from: string): LinkSender {
  return async (user, url) => {
    const minutes = LINK_TTL_MS / 60_000;
    await transport.sendMail({
      from,
      to: { name: user.name, address: user.email },
      subject: 'Your Tocsin sign-in link',
      text: [
        `Hello ${user.name},`,
        '',
        `Open this link to sign in to Tocsin. It works once, within ${minutes} minutes:`,
        '',
        url,
        '',
        'If you did not ask to sign in, ignore this message: nothing happens unless the link is used.',
      ].join('\n'),
      headers: { 'Auto-Submitted': 'auto-generated', [LOOP_HEADER]: 'sign-in' },
    });
  };
}
