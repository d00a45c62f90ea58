import nodemailer from 'nodemailer';
import type { AccessTokens } from './oauth';

/**
 * The one way mail leaves the desk: an SMTP transport (nodemailer) behind a small interface, so
 * that the outbox and the member mailer never import nodemailer. It signs in with the password in
 * SMTP_URL, or with an OAuth 2.0 access token (XOAUTH2), as Microsoft 365 and Google require.
 */

export interface Address {
  name: string;
  address: string;
}

export interface OutgoingMessage {
  from: Address | string;
  to: Address[];
  cc?: Address[];
  subject: string;
  text: string;
  html?: string;
  /** Our own Message-ID; nodemailer makes one when it is not given. */
  messageId?: string;
  headers?: { name: string; value: string }[];
  /** The SMTP envelope, when it differs from the headers (bounces come back to `from`). */
  envelope?: { from: string; to: string[] };
}

export interface MailTransport {
  send(message: OutgoingMessage): Promise<void>;
  close(): void;
}

export interface SmtpOptions {
  /** SMTP_AUTH=oauth2: sign in with XOAUTH2 as `user`, with a token from `tokens`. */
  oauth?: { user: string; tokens: AccessTokens };
  timeouts?: { connectionMs: number; greetingMs: number; socketMs: number };
}

const TIMEOUTS = { connectionMs: 30_000, greetingMs: 30_000, socketMs: 60_000 };

/**
 * A transport for a nodemailer connection URL (SMTP_URL). With OAuth, the URL names the server
 * only: a user name in it is the account to sign in as, and a password in it is ignored.
 */
export function smtpTransport(smtpUrl: string, opts: SmtpOptions = {}): MailTransport {
  const timeouts = opts.timeouts ?? TIMEOUTS;
  const oauth = opts.oauth;
  const transport = nodemailer.createTransport({
    url: oauth ? withoutCredentials(smtpUrl) : smtpUrl,
    connectionTimeout: timeouts.connectionMs,
    greetingTimeout: timeouts.greetingMs,
    socketTimeout: timeouts.socketMs,
    ...(oauth ? { auth: { type: 'OAuth2', user: oauth.user } } : {}),
  });
  if (oauth) {
    // nodemailer asks for a token at each login, with renew set after the server refused one.
    transport.set(
      'oauth2_provision_cb',
      (_user: string, renew: boolean, done: (err: Error | null, token?: string) => void) => {
        if (renew) oauth.tokens.invalidate();
        oauth.tokens.get().then(
          (token) => done(null, token),
          (err: Error) => done(err),
        );
      },
    );
  }
  return {
    async send(message) {
      await transport.sendMail({
        ...message,
        headers: message.headers?.map((h) => ({ key: h.name, value: h.value })),
      });
    },
    close: () => transport.close(),
  };
}

/** The user name of a connection URL, if it has one (`smtp://desk%40example.org@host`). */
export function urlUser(smtpUrl: string): string | undefined {
  try {
    return decodeURIComponent(new URL(smtpUrl).username) || undefined;
  } catch {
    return undefined;
  }
}

function withoutCredentials(smtpUrl: string): string {
  const url = new URL(smtpUrl);
  url.username = '';
  url.password = '';
  return url.toString();
}

/**
 * A refusal that trying again will not change: the server answered 5xx (RFC 5321 §4.2.1). A
 * network error or a 4xx is worth another try.
 */
export function isPermanentRefusal(err: unknown): boolean {
  const code = (err as { responseCode?: unknown } | null)?.responseCode;
  return typeof code === 'number' && code >= 500 && code < 600;
}
