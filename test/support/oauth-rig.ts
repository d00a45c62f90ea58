import nodemailer from 'nodemailer';
import type { ImapConfig } from '../../server/config';
import { startDovecot, type DovecotRig } from './dovecot';
import { uniqueName } from './env';
import { startOAuthProvider, type OAuthProvider, type OAuthProviderOptions } from './oauth-provider';

/**
 * A mailbox that signs in with OAuth 2.0, as Microsoft 365 and Gmail do: a local provider
 * (oauth-provider.ts) issues the tokens, and a Dovecot of its own checks them against the
 * provider's introspection endpoint. Mail reaches the mailbox over LMTP, as from an MTA.
 */
export interface OAuthMailbox {
  provider: OAuthProvider;
  dovecot: DovecotRig;
  /** The mailbox's IMAP settings with the client-credentials grant (IMAP_AUTH=oauth2). */
  box: ImapConfig;
  /** Delivers a message into the mailbox's INBOX over the rig's LMTP. */
  deliver(raw: Buffer): Promise<void>;
  stop(): Promise<void>;
}

export async function startOAuthMailbox(
  prefix: string,
  opts: Omit<OAuthProviderOptions, 'user'> = {},
): Promise<OAuthMailbox> {
  const user = `${uniqueName(prefix)}@example.test`.toLowerCase();
  const provider = await startOAuthProvider({ user, ...opts });
  let dovecot: DovecotRig;
  try {
    dovecot = await startDovecot({ oauth2: { introspectionUrl: provider.introspectionUrl } });
  } catch (err) {
    await provider.close();
    throw err;
  }
  const box: ImapConfig = {
    host: dovecot.host,
    port: dovecot.imapPort,
    secure: false,
    user,
    oauth: { tokenUrl: provider.tokenUrl, clientId: provider.clientId, clientSecret: provider.clientSecret },
    mailbox: 'INBOX',
    history: { mode: 'open' },
    maxMessageBytes: 25 * 1024 * 1024,
    leaseSeconds: 5,
  };
  return {
    provider,
    dovecot,
    box,
    async deliver(raw) {
      const transport = nodemailer.createTransport({
        lmtp: true,
        host: dovecot.host,
        port: dovecot.lmtpPort,
      });
      try {
        const info = await transport.sendMail({ envelope: { from: 'mta@example.org', to: [user] }, raw });
        if (info.rejected.length > 0) throw new Error(`Dovecot refused ${user}: ${info.response}`);
      } finally {
        transport.close();
      }
    },
    async stop() {
      await dovecot.stop();
      await provider.close();
    },
  };
}
