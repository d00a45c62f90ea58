import { acquireLease, releaseLease } from '../db/lease';
import { isTransientDbError } from '../db/connection';
import type { Logger } from '../lib/logger';
import { backoffDelay } from '../lib/backoff';
import { mapPool } from '../lib/pool';
import { mayFollowUp, senderKey, sizeBatches } from '../mail/batching';
import {
  ImapSession,
  isLoginRefused,
  openFailure,
  type ImapCredentials,
  type ListedMessage,
} from '../mail/imap';
import type { AccessTokens } from '../mail/oauth';
import { readingOf, takeHistory } from './history';
import {
  DEFAULT_POLLER_OPTIONS,
  mailboxKey,
  type MailboxSettings,
  type MailIntake,
  type PollerOptions,
  type PollerState,
  type PollerStatus,
} from './poller-settings';
import { MailCursor, type IngestSource, type MailboxHistory } from './store';

/**
 * The watch on the shared mailbox. It holds one IMAP session (mail/imap.ts) on the folder:
 *   - on connect it catches up by UID from the cursor in the database, then waits in IDLE;
 *   - `exists` events are debounced into one sync at a time;
 *   - a changed UIDVALIDITY takes a new baseline (ingest is idempotent, so nothing doubles);
 *   - the cursor advances only past messages whose records are durable;
 *   - a lease in the database keeps a second Tocsin process on standby;
 *   - a broken connection is noticed (NOOP watchdog, socket timeout) and re-made with backoff.
 *
 * What happens on each class of error:
 *   - a message-level failure: retried, then quarantined by the intake; the cursor moves on;
 *   - a database outage (transient): the sync stops, the cursor stays, the session is re-made;
 *   - an IMAP or network failure: the session closes and reconnects with backoff;
 *   - a lost lease: the session closes and the process stands by.
 */

export class MailboxPoller {
  private readonly opts: PollerOptions;
  private readonly leaseName: string;
  private client?: ImapSession;
  private state: PollerState = 'starting';
  private lastSyncAt: Date | null = null;
  private lastError: string | null = null;
  private reconnects = 0;
  private stopped = false;
  private loop?: Promise<void>;
  private wake?: () => void;
  private syncing?: Promise<void>;
  private syncAgain = false;
  private debounce?: NodeJS.Timeout;
  /** What the mailbox held on the first connection, as its cursor keeps it (intake/history.ts). */
  private history?: MailboxHistory;

  constructor(
    private readonly config: MailboxSettings,
    private readonly intake: MailIntake,
    private readonly log: Logger,
    private readonly instanceId: string,
    options: Partial<PollerOptions> = {},
    /** Access tokens for an OAuth mailbox (config.oauth); unused with a password. */
    private readonly tokens?: AccessTokens,
  ) {
    if (config.oauth && !tokens) throw new Error('an OAuth mailbox needs its access tokens');
    this.opts = { ...DEFAULT_POLLER_OPTIONS, leaseTtlMs: config.leaseSeconds * 1000, ...options };
    this.leaseName = mailboxKey(config);
  }

  status(): PollerStatus {
    return {
      state: this.state,
      mailbox: this.config.mailbox,
      lastSyncAt: this.lastSyncAt,
      lastError: this.lastError,
      reconnects: this.reconnects,
    };
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.debounce);
    this.wake?.();
    this.client?.close();
    await this.loop;
    await releaseLease(this.leaseName, this.instanceId).catch(() => undefined);
    this.state = 'stopped';
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      let held = false;
      try {
        held = await acquireLease(this.leaseName, this.instanceId, this.opts.leaseTtlMs);
      } catch (err) {
        this.fail(err, 'lease check failed');
      }
      if (!held) {
        if (this.state !== 'standby')
          this.log.info({ lease: this.leaseName }, 'another instance holds the mailbox; standing by');
        this.state = 'standby';
        await this.sleep(this.opts.leaseTtlMs / 3);
        continue;
      }
      const healthy = await this.session();
      if (this.stopped) break;
      failures = healthy ? 0 : failures + 1;
      this.state = 'backoff';
      this.reconnects++;
      const wait = backoffDelay(failures, this.opts.backoff);
      this.log.warn({ wait, failures }, 'mailbox session ended; reconnecting');
      await this.sleep(wait);
    }
  }

  /** One IMAP session, from connect to close. Returns whether it got as far as a completed sync. */
  private async session(): Promise<boolean> {
    this.state = 'connecting';
    let credentials: ImapCredentials;
    try {
      credentials = await this.credentials();
    } catch (err) {
      this.fail(err, 'could not get an access token for the mailbox');
      return false;
    }
    const client = new ImapSession(
      this.config,
      credentials,
      this.config.mailbox,
      { maxIdleTimeMs: this.opts.maxIdleTimeMs, socketTimeoutMs: this.opts.socketTimeoutMs },
      {
        onNewMail: () => this.scheduleSync(),
        onError: (err) => this.fail(err, 'IMAP connection error'),
      },
    );
    this.client = client;

    let synced = false;
    const timers: NodeJS.Timeout[] = [];
    try {
      try {
        await client.open();
      } catch (err) {
        // A refused token is dropped, so the next attempt (after the backoff) signs in with a new one.
        if (isLoginRefused(err)) this.tokens?.invalidate();
        this.lastError = openFailure(err, this.config);
        this.log.warn({ err }, 'could not open the mailbox');
        return false;
      }
      this.log.info({ mailbox: this.config.mailbox }, 'mailbox connected');
      // Renewal runs from the start: catching up on a long backlog can outlast the lease.
      timers.push(setInterval(() => void this.renewLease(client), this.opts.leaseTtlMs / 3));
      await this.syncNow();
      synced = true;
      timers.push(setInterval(() => void this.healthCheck(client), this.opts.healthCheckMs));
      await client.closed;
      // The server ended the session (a BYE, a dropped socket): say so until the next sync.
      if (!this.stopped)
        this.lastError ??= `The mailbox server closed the session on ${this.config.mailbox}.`;
    } catch (err) {
      this.fail(err, 'mailbox session failed');
    } finally {
      timers.forEach(clearInterval);
      clearTimeout(this.debounce);
      client.close();
      await this.syncing?.catch(() => undefined);
      this.client = undefined;
    }
    return synced;
  }

  private scheduleSync(): void {
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      this.syncNow().catch((err) => {
        this.fail(err, 'sync failed');
        this.client?.close();
      });
    }, this.opts.debounceMs);
  }

  /** Runs one sync at a time; a request that arrives during a sync runs one more afterwards. */
  private syncNow(): Promise<void> {
    if (this.syncing) {
      this.syncAgain = true;
      return this.syncing;
    }
    this.syncing = (async () => {
      try {
        do {
          this.syncAgain = false;
          await this.syncOnce();
        } while (this.syncAgain && !this.stopped);
      } finally {
        this.syncing = undefined;
      }
    })();
    return this.syncing;
  }

  private async syncOnce(): Promise<void> {
    const client = this.client;
    if (!client) return;
    this.state = 'syncing';
    try {
      await client.locked(async () => {
        const uidValidity = client.uidValidity();
        const stored = await MailCursor.findById(this.leaseName).lean();
        let lastUid = stored?.uidValidity === uidValidity ? stored.lastUid : 0;
        if (stored && stored.uidValidity !== uidValidity) {
          this.log.warn(
            { was: stored.uidValidity, now: uidValidity },
            'UIDVALIDITY changed: taking a new baseline; messages already ingested are recognised and skipped',
          );
        }
        let pending = await client.listAfter(lastUid);
        this.history = stored?.history as MailboxHistory | undefined;
        if (!stored) {
          this.history = await takeHistory(
            this.leaseName,
            uidValidity,
            pending,
            this.config.history,
            this.log,
          );
          if (this.history.mode === 'skip') lastUid = this.history.upTo;
          pending = pending.filter((m) => m.uid > lastUid);
        }
        const batches = sizeBatches(pending, {
          maxCount: this.opts.batchMessages,
          maxBytes: this.opts.batchBytes,
          cap: this.config.maxMessageBytes,
        });
        for (const batch of batches) {
          if (this.stopped) break;
          lastUid = await this.ingestBatch(client, batch, uidValidity, lastUid);
        }
        await MailCursor.updateOne(
          { _id: this.leaseName },
          { $set: { uidValidity, lastUid, lastSyncAt: new Date() } },
          { upsert: true },
        );
        this.lastSyncAt = new Date();
        this.lastError = null;
      });
    } finally {
      if (this.state === 'syncing') this.state = 'idle';
    }
  }

  /** Fetches and ingests one batch; returns the highest UID below which everything is durable. */
  private async ingestBatch(
    client: ImapSession,
    batch: ListedMessage[],
    uidValidity: string,
    lastUid: number,
  ): Promise<number> {
    const limit = this.config.maxMessageBytes;
    const reading = new Map(batch.map((m) => [m.uid, readingOf(this.history, uidValidity, m)]));
    const source = (uid: number): IngestSource => ({
      kind: 'imap',
      mailbox: this.config.mailbox,
      uidValidity,
      uid,
      ...(reading.get(uid) === 'archive' ? { history: true } : {}),
    });
    // History the first connection left in the mailbox stays there, unread: the cursor passes it.
    const left = batch.filter((m) => reading.get(m.uid) === 'leave');
    const wanted = batch.filter((m) => reading.get(m.uid) !== 'leave');
    const small = wanted.filter((m) => m.size <= limit).map((m) => m.uid);
    const big = wanted.filter((m) => m.size > limit);

    const fetched = new Map((await client.fetchWhole(small)).map((m) => [m.uid, m]));
    for (const m of big) {
      // RFC822.SIZE is over the cap: only the headers are fetched, and kept with the reason.
      await this.intake.quarantineOversize(await client.fetchHeaders(m.uid), m.size, limit, source(m.uid));
    }

    const done = new Set([...big, ...left].map((m) => m.uid));
    const work = small.filter((uid) => fetched.has(uid));
    let failure: unknown;
    // Messages run a few at a time, in UID order. One that may belong to an earlier message's
    // case (a reply, a forward) first waits for every earlier message of the batch, so a
    // follow-up read in the same catch-up as its report still finds the report's case; one from
    // the sender of earlier ones waits for theirs (an alert's recovery after its firing).
    const settled: Promise<void>[] = [];
    const senders = work.map((uid) => senderKey(fetched.get(uid)!.raw));
    await mapPool(
      work.map((uid, index) => ({ uid, index })),
      this.opts.concurrency,
      async ({ uid, index }) => {
        const { raw, receivedAt } = fetched.get(uid)!;
        const earlier = mayFollowUp(raw)
          ? settled.slice(0, index)
          : settled.filter((_, i) => i < index && senders[i] !== undefined && senders[i] === senders[index]);
        const run = (async () => {
          await Promise.all(earlier);
          if (failure) return;
          await this.intake.ingestOrQuarantine(raw, { ...source(uid), receivedAt });
          done.add(uid);
        })().catch((err: unknown) => {
          failure ??= err;
        });
        settled[index] = run;
        await run;
      },
    );

    let durable = lastUid;
    for (const m of batch) {
      // A message the server listed but did not return (expunged meanwhile) has nothing to keep.
      if (done.has(m.uid) || (!fetched.has(m.uid) && !failure)) durable = m.uid;
      else break;
    }
    if (durable > lastUid) {
      await MailCursor.updateOne(
        { _id: this.leaseName },
        { $set: { uidValidity, lastUid: durable, lastSyncAt: new Date() } },
        { upsert: true },
      );
    }
    if (failure) throw failure;
    return durable;
  }

  private async renewLease(client: ImapSession): Promise<void> {
    try {
      if (!(await acquireLease(this.leaseName, this.instanceId, this.opts.leaseTtlMs))) {
        this.log.warn('mailbox lease lost to another instance; closing the session');
        client.close();
      }
    } catch (err) {
      this.fail(err, 'lease renewal failed');
      if (isTransientDbError(err)) client.close();
    }
  }

  private async healthCheck(client: ImapSession): Promise<void> {
    if (this.syncing) return;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        client.noop(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('NOOP got no answer')), this.opts.noopTimeoutMs);
        }),
      ]);
      // A missed notification is caught here too.
      this.scheduleSync();
    } catch (err) {
      this.fail(err, 'mailbox health check failed; reconnecting');
      client.close();
    } finally {
      clearTimeout(timer);
    }
  }

  /** The mailbox password, or an access token that is good for a while yet. */
  private async credentials(): Promise<ImapCredentials> {
    if (this.config.oauth) return { accessToken: await this.tokens!.get() };
    return { password: this.config.password ?? '' };
  }

  private fail(err: unknown, msg: string): void {
    this.lastError = err instanceof Error ? err.message : String(err);
    this.log.warn({ err }, msg);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }
}
