import nodemailer from 'nodemailer';

/**
 * The one way mail leaves the desk: an SMTP transport (nodemailer) behind a small interface, so
 * that the outbox and the member mailer never import nodemailer, and a later transport (OAuth 2.0
 * for SMTP, say) changes this file alone.
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

/** A transport for a nodemailer connection URL (SMTP_URL). */
export function smtpTransport(smtpUrl: string): MailTransport {
  const transport = nodemailer.createTransport(smtpUrl, {
    connectionTimeout: 30_000,
    greetingTimeout: 30_000,
    socketTimeout: 60_000,
  } as object);
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

/**
 * A refusal that trying again will not change: the server answered 5xx (RFC 5321 §4.2.1). A
 * network error or a 4xx is worth another try.
 */
export function isPermanentRefusal(err: unknown): boolean {
  const code = (err as { responseCode?: unknown } | null)?.responseCode;
  return typeof code === 'number' && code >= 500 && code < 600;
}
