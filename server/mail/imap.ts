import { ImapFlow, type MailboxObject } from 'imapflow';

/**
 * The only module that speaks IMAP: one ImapFlow session on one folder of an account. It knows
 * nothing of cursors, leases or cases (intake/poller.ts keeps those); it connects, lists and
 * fetches by UID, answers NOOP, tells of new mail, and closes.
 */

export interface ImapAccount {
  host: string;
  port: number;
  secure: boolean;
  user: string;
}

/** A password (LOGIN or AUTH=PLAIN), or an OAuth 2.0 access token (OAUTHBEARER or XOAUTH2). */
export type ImapCredentials = { password: string } | { accessToken: string };

export interface ImapSessionOptions {
  /** IDLE is re-issued this often (RFC 2177 allows 29 minutes). */
  maxIdleTimeMs: number;
  /** A socket silent this long is dead. */
  socketTimeoutMs: number;
}

export interface ImapEvents {
  /** The server says the folder has more messages (EXISTS). */
  onNewMail(): void;
  onError(err: Error): void;
}

export interface ListedMessage {
  uid: number;
  /** RFC822.SIZE. */
  size: number;
  /** INTERNALDATE: when the mailbox received the message. */
  receivedAt?: Date;
}

export interface FetchedMessage {
  uid: number;
  raw: Buffer;
  /** INTERNALDATE: when the mailbox received the message. */
  receivedAt?: Date;
}

export class ImapSession {
  /** Resolves once the connection has closed, for whatever reason. */
  readonly closed: Promise<void>;
  private readonly client: ImapFlow;

  constructor(
    account: ImapAccount,
    credentials: ImapCredentials,
    readonly folder: string,
    opts: ImapSessionOptions,
    events: ImapEvents,
  ) {
    this.client = new ImapFlow({
      host: account.host,
      port: account.port,
      secure: account.secure,
      auth:
        'accessToken' in credentials
          ? { user: account.user, accessToken: credentials.accessToken }
          : { user: account.user, pass: credentials.password },
      logger: false,
      autoIdleDelay: 50,
      maxIdleTime: opts.maxIdleTimeMs,
      socketTimeout: opts.socketTimeoutMs,
      connectionTimeout: 30_000,
    });
    // Handlers go on before connect(): an error with no listener would end the process.
    this.client.on('error', (err: Error) => events.onError(err));
    this.closed = new Promise<void>((resolve) => this.client.once('close', () => resolve()));
    this.client.on('exists', () => events.onNewMail());
  }

  /** Connects, signs in and opens the folder. */
  async open(): Promise<void> {
    await this.signIn();
    try {
      await this.openFolder();
    } catch (err) {
      throw new FolderOpenError(this.folder, err);
    }
  }

  /** Connects and signs in. */
  async signIn(): Promise<void> {
    await this.client.connect();
  }

  async openFolder(): Promise<void> {
    await this.client.mailboxOpen(this.folder);
  }

  /** A folder's message count and UIDVALIDITY (IMAP STATUS), without opening it. */
  async folderStatus(folder: string): Promise<{ messages: number; uidValidity: string }> {
    const status = await this.client.status(folder, { messages: true, uidValidity: true });
    if (!status) throw new Error(`the server answered no STATUS for ${folder}`);
    return { messages: status.messages ?? 0, uidValidity: String(status.uidValidity ?? '') };
  }

  /** The server's greeting, its capabilities, and the SASL mechanism (or LOGIN) that signed in. */
  describe(): { greeting: string; capabilities: string[]; signedInWith?: string } {
    const auth = (this.client as unknown as { authCapabilities: Map<string, boolean> }).authCapabilities;
    const used = [...auth].find(([, ok]) => ok)?.[0];
    return {
      greeting: this.client.greeting ?? '',
      capabilities: [...this.client.capabilities.keys()],
      signedInWith: used?.replace(/^AUTH=/, ''),
    };
  }

  /** Runs `fn` holding the folder's lock, so that no IDLE or other command runs in between. */
  async locked<T>(fn: () => Promise<T>): Promise<T> {
    const lock = await this.client.getMailboxLock(this.folder);
    try {
      return await fn();
    } finally {
      lock.release();
    }
  }

  /** The folder's UIDVALIDITY: when it changes, every UID the desk has seen means something else. */
  uidValidity(): string {
    return String((this.client.mailbox as MailboxObject).uidValidity);
  }

  /** The messages after `lastUid`, in UID order, with their sizes and arrival times. */
  async listAfter(lastUid: number): Promise<ListedMessage[]> {
    if ((this.client.mailbox as MailboxObject).exists === 0) return [];
    const listed = await this.client.fetchAll(
      `${lastUid + 1}:*`,
      { uid: true, size: true, internalDate: true },
      { uid: true },
    );
    return listed
      .filter((m) => m.uid > lastUid)
      .map((m) => ({ uid: m.uid, size: m.size ?? 0, receivedAt: internalDate(m.internalDate) }))
      .sort((a, b) => a.uid - b.uid);
  }

  /** These messages, whole. One expunged meanwhile is simply not in the answer. */
  async fetchWhole(uids: number[]): Promise<FetchedMessage[]> {
    if (uids.length === 0) return [];
    const fetched = await this.client.fetchAll(
      uids.join(','),
      { uid: true, source: true, internalDate: true },
      { uid: true },
    );
    return fetched.flatMap((m) =>
      m.source ? [{ uid: m.uid, raw: m.source, receivedAt: internalDate(m.internalDate) }] : [],
    );
  }

  /** The header block of one message (for one too big to fetch whole). */
  async fetchHeaders(uid: number): Promise<Buffer> {
    const head = await this.client.fetchOne(String(uid), { uid: true, headers: true }, { uid: true });
    return (head && head.headers) || Buffer.alloc(0);
  }

  async noop(): Promise<void> {
    await this.client.noop();
  }

  close(): void {
    this.client.close();
  }
}

function internalDate(value: Date | string | undefined): Date | undefined {
  const date = value === undefined ? undefined : new Date(value);
  return date && !Number.isNaN(date.getTime()) ? date : undefined;
}

/** The server refused the credentials (as opposed to a network or protocol failure). */
export const isLoginRefused = (err: unknown): boolean =>
  Boolean((err as { authenticationFailed?: boolean } | null)?.authenticationFailed);

/** The account signed in, but its folder could not be opened (deleted, renamed, no rights). */
export class FolderOpenError extends Error {
  constructor(
    readonly folder: string,
    readonly reason: unknown,
  ) {
    const r = (reason ?? {}) as { serverResponseCode?: string; response?: unknown; message?: string };
    const words = typeof r.response === 'string' ? serverWords(r.response) : '';
    const said = words || (r.message ?? String(reason));
    super(
      `The folder ${folder} could not be opened${r.serverResponseCode ? ` (${r.serverResponseCode})` : ''}: ${oneLine(said)}.`,
    );
    this.name = 'FolderOpenError';
  }
}

/**
 * One sentence for the admin on why a session could not be opened: the login refused, the
 * connection refused, a name that does not resolve, TLS, a timeout, or what the server said.
 */
export function openFailure(err: unknown, account: ImapAccount): string {
  if (err instanceof FolderOpenError) return err.message;
  const e = (err ?? {}) as {
    code?: unknown;
    serverResponseCode?: string;
    response?: unknown;
    message?: string;
  };
  const where = `${account.host}:${account.port}`;
  const words = typeof e.response === 'string' ? serverWords(e.response) : '';
  const said = words ? `: ${oneLine(words)}` : '';
  if (isLoginRefused(err))
    return `The mailbox server ${where} refused the login for ${account.user}${
      e.serverResponseCode ? ` (${e.serverResponseCode})` : ''
    }${said}.`;
  const code = typeof e.code === 'string' ? e.code : '';
  if (code === 'ECONNREFUSED') return `The mailbox server ${where} refused the connection.`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
    return `The mailbox server name ${account.host} does not resolve.`;
  if (code === 'ETIMEDOUT' || /timeout/i.test(code))
    return `The mailbox server ${where} did not answer in time.`;
  if (code.startsWith('ERR_TLS') || /certificate|ssl|tls/i.test(e.message ?? ''))
    return `The TLS connection to the mailbox server ${where} failed: ${oneLine(e.message ?? code)}.`;
  return `The mailbox session with ${where} failed: ${oneLine(e.message ?? String(err))}.`;
}

/** A tagged response's text without its tag, status and [CODE] (imapflow gives the whole line). */
const serverWords = (response: string) =>
  response.replace(/^[A-Za-z0-9.]+ (?:NO|BAD|OK) /i, '').replace(/^\[[^\]]*\] ?/, '');

const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim().replace(/\.$/, '').slice(0, 300);
