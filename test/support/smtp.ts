import net from 'node:net';
import type { Readable } from 'node:stream';
import nodemailer from 'nodemailer';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type { ImapConfig } from '../../server/config';
import { headerFields, splitRaw } from '../../server/mail/raw';
import { testEnv } from './env';
import { imapClient } from './mail';

/**
 * A real SMTP server for tests that relays into the test Dovecot over LMTP, so mail Tocsin sends
 * through `SMTP_URL` lands in a real mailbox. DATA is answered 250 only once LMTP delivery
 * succeeded: "the relay accepted it" means "it is in the mailbox". Fault modes make it reject,
 * temp-fail or stall.
 */

/** The domain of the Dovecot users newMailbox() creates; only these recipients are delivered. */
export const DOVECOT_DOMAIN = 'example.test';

const HOST = '127.0.0.1';
const MAX_MESSAGE_BYTES = 30 * 1024 * 1024;
// The server's idle timeout: a stalled session must outlast any client timeout a test uses.
const SOCKET_TIMEOUT_MS = 10 * 60_000;
const MAILBOX_POLL_MS = 200;

/**
 * - `accept`: relay as usual.
 * - `reject`: 550 at RCPT TO (and at the end of DATA for a transaction already past RCPT).
 * - `tempfail`: 451 at the end of DATA.
 * - `stall`: read the whole message, then never answer DATA until releaseStalled() or close().
 */
export type RelayMode = 'accept' | 'reject' | 'tempfail' | 'stall';

export interface RelayedMessage {
  envelope: { from: string; to: string[] };
  /** The message exactly as the client sent it (after dot-unstuffing). */
  raw: Buffer;
  at: Date;
  /** The AUTH user name, when the client logged in. */
  user?: string;
  /** The bearer token the client signed in with (AUTH XOAUTH2). */
  accessToken?: string;
  /** The recipients that went into Dovecot over LMTP; the others were only recorded. */
  delivered: string[];
}

export interface SmtpRelay {
  /** A nodemailer connection URL, `smtp://127.0.0.1:<port>`, usable as SMTP_URL. */
  readonly url: string;
  readonly port: number;
  /** Read at each RCPT TO and at the end of each DATA; change it at any time. */
  mode: RelayMode;
  /** Messages answered 250, in order. */
  readonly messages: readonly RelayedMessage[];
  /** Connections seen so far. */
  readonly sessions: number;
  /** DATA replies currently held back by `stall`. */
  readonly stalled: number;
  /** Answers every stalled DATA with 451, so the waiting clients error out. */
  releaseStalled(): void;
  /** Resolves with all messages once at least `n` were accepted. */
  waitForMessages(n: number, timeoutMs?: number): Promise<RelayedMessage[]>;
  /** Stops listening and destroys every connection, stalled ones included. The port is free afterwards. */
  close(): Promise<void>;
}

export interface SmtpRelayOptions {
  /** Fixed port, e.g. to restart a relay where a client expects it; default: a free one. */
  port?: number;
  /** Where to deliver; default: the test Dovecot's LMTP listener. */
  lmtp?: { host: string; port: number };
  /**
   * Require AUTH XOAUTH2 (as Microsoft 365 and Gmail do): a login is accepted only for a token
   * that `isLive` says is live for that user; PLAIN and LOGIN are not offered.
   */
  xoauth2?: { isLive(token: string, user: string): boolean };
}

export async function startSmtpRelay(opts: SmtpRelayOptions = {}): Promise<SmtpRelay> {
  const lmtp = opts.lmtp ?? { host: testEnv().imapHost, port: testEnv().lmtpPort };
  const relay = new Relay(lmtp, opts.xoauth2);
  await relay.listen(opts.port ?? 0);
  return relay;
}

type DataCallback = (err?: Error | null, message?: string) => void;

interface Waiter {
  n: number;
  resolve(messages: RelayedMessage[]): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

class Relay implements SmtpRelay {
  mode: RelayMode = 'accept';
  port = 0;
  readonly messages: RelayedMessage[] = [];
  private connections = 0;
  private readonly sockets = new Set<net.Socket>();
  private readonly held = new Set<DataCallback>();
  private readonly waiters = new Set<Waiter>();
  private readonly server: SMTPServer;
  private closing: Promise<void> | undefined;
  /** The bearer token of each session that signed in with XOAUTH2. */
  private readonly tokens = new Map<string, string>();

  constructor(
    private readonly lmtp: { host: string; port: number },
    xoauth2?: SmtpRelayOptions['xoauth2'],
  ) {
    this.server = new SMTPServer({
      name: 'relay.example.test',
      logger: false,
      disabledCommands: ['STARTTLS'],
      authOptional: !xoauth2,
      allowInsecureAuth: true,
      authMethods: xoauth2 ? ['XOAUTH2'] : ['PLAIN', 'LOGIN'],
      size: MAX_MESSAGE_BYTES,
      disableReverseLookup: true,
      socketTimeout: SOCKET_TIMEOUT_MS,
      onConnect: (_session, callback) => {
        this.connections++;
        callback();
      },
      onAuth: (auth, session, callback) => {
        if (!xoauth2) return callback(null, { user: auth.username });
        const token = auth.accessToken ?? '';
        if (auth.method !== 'XOAUTH2' || !auth.username || !xoauth2.isLive(token, auth.username)) {
          // What Gmail answers: a JSON challenge, then 535 once the client sends the empty line.
          return callback(null, {
            data: { status: '401', schemes: 'bearer', scope: 'https://mail.google.com/' },
          });
        }
        this.tokens.set(session.id, token);
        callback(null, { user: auth.username });
      },
      onClose: (session) => void this.tokens.delete(session.id),
      onRcptTo: (_address, _session, callback) => {
        callback(this.mode === 'reject' ? smtpError(550, 'Recipient rejected (relay in reject mode)') : null);
      },
      onData: (stream, session, callback) => this.onData(stream, session, callback),
    });
    // smtp-server re-emits socket errors (a client that hangs up) here; without a listener they throw.
    this.server.on('error', () => undefined);
    this.server.server.on('connection', (socket: net.Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  get url(): string {
    return `smtp://${HOST}:${this.port}`;
  }

  get sessions(): number {
    return this.connections;
  }

  get stalled(): number {
    return this.held.size;
  }

  async listen(port: number): Promise<void> {
    const listener = this.server.server;
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      this.server.listen(port, HOST, () => {
        listener.off('error', reject);
        resolve();
      });
    });
    this.port = (listener.address() as net.AddressInfo).port;
  }

  releaseStalled(): void {
    const callbacks = [...this.held];
    this.held.clear();
    for (const callback of callbacks) callback(smtpError(451, 'Stalled session released, try again later'));
  }

  waitForMessages(n: number, timeoutMs = 10_000): Promise<RelayedMessage[]> {
    if (this.messages.length >= n) return Promise.resolve([...this.messages]);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        n,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          reject(new Error(`relay accepted ${this.messages.length} of ${n} messages within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      // Stops accepting first, then ends what is open; the callback runs once every socket is gone.
      this.server.close(() => resolve());
      this.held.clear();
      for (const socket of this.sockets) socket.destroy();
      for (const waiter of this.waiters) {
        clearTimeout(waiter.timer);
        waiter.reject(
          new Error(`relay closed after accepting ${this.messages.length} of ${waiter.n} messages`),
        );
      }
      this.waiters.clear();
    });
    return this.closing;
  }

  private onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback: DataCallback): void {
    // Copied now: smtp-server resets the session envelope once DATA is answered.
    const envelope = {
      from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
      to: session.envelope.rcptTo.map((r) => r.address),
    };
    const user = typeof session.user === 'string' ? session.user : undefined;
    const accessToken = this.tokens.get(session.id);
    readAll(stream)
      .then((raw) => {
        if (stream.sizeExceeded) return callback(smtpError(552, 'Message exceeds the size limit'));
        switch (this.mode) {
          case 'reject':
            return callback(smtpError(550, 'Message rejected (relay in reject mode)'));
          case 'tempfail':
            return callback(smtpError(451, 'Try again later (relay in tempfail mode)'));
          case 'stall':
            this.held.add(callback);
            return;
          case 'accept':
            return this.relay({ envelope, raw, at: new Date(), user, accessToken, delivered: [] }).then(
              (message) => callback(null, message),
              (err: unknown) => callback(smtpError(451, `LMTP delivery failed: ${errorText(err)}`)),
            );
        }
      })
      .catch((err: unknown) => callback(smtpError(451, `Could not read the message: ${errorText(err)}`)));
  }

  /** Delivers to the Dovecot recipients, then records the message. Resolves with the 250 text. */
  private async relay(message: RelayedMessage): Promise<string> {
    const local = message.envelope.to.filter(isDovecotAddress);
    if (local.length > 0) {
      const transport = nodemailer.createTransport({
        lmtp: true,
        host: this.lmtp.host,
        port: this.lmtp.port,
      });
      try {
        const info = await transport.sendMail({
          envelope: { from: message.envelope.from, to: local },
          raw: message.raw,
        });
        if (info.rejected.length > 0) {
          throw new Error(`Dovecot refused ${info.rejected.join(', ')}: ${info.response}`);
        }
      } finally {
        transport.close();
      }
    }
    message.delivered = local;
    this.messages.push(message);
    for (const waiter of this.waiters) {
      if (this.messages.length < waiter.n) continue;
      clearTimeout(waiter.timer);
      this.waiters.delete(waiter);
      waiter.resolve([...this.messages]);
    }
    return `OK: delivered to ${local.length} of ${message.envelope.to.length} recipients`;
  }
}

export const isDovecotAddress = (address: string): boolean =>
  address.toLowerCase().endsWith(`@${DOVECOT_DOMAIN}`);

function smtpError(responseCode: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode });
}

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export interface MailboxMessage {
  uid: number;
  raw: Buffer;
  /** Header fields in order, unfolded, values as sent (encoded words are not decoded). */
  headers: { name: string; value: string }[];
}

/** The first value of a header field (case-insensitive name), or undefined. */
export function headerValue(message: MailboxMessage, name: string): string | undefined {
  const wanted = name.toLowerCase();
  return message.headers.find((h) => h.name.toLowerCase() === wanted)?.value;
}

/** Every message in a mailbox's INBOX (where LMTP delivers), oldest first. */
export async function readMailbox(box: ImapConfig, folder = 'INBOX'): Promise<MailboxMessage[]> {
  const client = await imapClient(box);
  try {
    const mailbox = await client.mailboxOpen(folder, { readOnly: true });
    if (mailbox.exists === 0) return [];
    const fetched = await client.fetchAll('1:*', { uid: true, source: true });
    return fetched.map((m) => {
      if (!m.source) throw new Error(`IMAP returned no source for uid ${m.uid} in ${box.user}/${folder}`);
      return { uid: m.uid, raw: m.source, headers: headerFields(splitRaw(m.source).head) };
    });
  } finally {
    await client.logout();
  }
}

/** Polls the INBOX every 200 ms until `predicate` holds, and returns its messages then. */
export async function waitForMailbox(
  box: ImapConfig,
  predicate: (messages: MailboxMessage[]) => boolean,
  timeoutMs = 10_000,
): Promise<MailboxMessage[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const messages = await readMailbox(box);
    if (predicate(messages)) return messages;
    if (Date.now() >= deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${box.user}'s INBOX: ` +
          `it holds ${messages.length} message(s) and the condition is still false`,
      );
    }
    await new Promise((r) => setTimeout(r, MAILBOX_POLL_MS));
  }
}
