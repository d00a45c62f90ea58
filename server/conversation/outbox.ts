import { isDuplicateKey, isTransientDbError } from '../db/connection';
import { acquireLease, releaseLease } from '../db/lease';
import { recordTimelineEntry } from '../cases/service';
import { TimelineEntry, type TimelineDoc } from '../cases/models';
import type { Logger } from '../lib/logger';
import { backoffDelay } from '../lib/backoff';
import { isPermanentRefusal, type MailTransport } from '../mail/transport';
import { Outbox, OutboxDue, type DeliveryState, type OutboxDoc } from './models';
import { claimThreadRef } from './thread-refs';

/**
 * The durable outbox. Mail is written to the outbox, then to the timeline, and only then sent:
 * a crash at any point before SMTP accepts the message leaves a pending record that the next
 * run sends, once. (A crash in the instant after SMTP accepted and before the record is marked
 * sent would send it again, with the same Message-ID, which mail clients show once.)
 *
 * One instance sends at a time, under a lease. Failures are retried with backoff; a permanent
 * refusal (5xx) or too many failures mark the mail failed, and the timeline shows it.
 */

/** With the backoff below, about three hours of trying before a message is marked failed. */
export const MAX_ATTEMPTS = 14;

export interface OutboxOptions {
  pollMs: number;
  leaseTtlMs: number;
  backoff: { baseMs: number; maxMs: number };
}

export const DEFAULT_OUTBOX_OPTIONS: OutboxOptions = {
  pollMs: 15_000,
  leaseTtlMs: 30_000,
  backoff: { baseMs: 5_000, maxMs: 30 * 60_000 },
};

/**
 * Queues a message (a no-op if it is queued already) and shows it on the case's timeline. The
 * record is written first: its _id is what makes queueing the same mail twice harmless.
 */
export async function enqueueMail(
  doc: Omit<OutboxDoc, 'state' | 'attempts' | 'nextAttemptAt' | 'createdAt'>,
): Promise<boolean> {
  let created = true;
  try {
    await Outbox.create({ ...doc, state: 'pending', attempts: 0, nextAttemptAt: new Date() });
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
    created = false;
  }
  const stored = (await Outbox.findById(doc._id).lean<OutboxDoc>())!;
  if (stored.state === 'pending')
    await OutboxDue.updateOne(
      { _id: stored._id },
      { $setOnInsert: { nextAttemptAt: stored.nextAttemptAt } },
      { upsert: true },
    ).catch((err: unknown) => {
      if (!isDuplicateKey(err)) throw err;
    });
  await Promise.all([
    recordTimelineEntry(outboundEntry(stored)),
    claimThreadRef(stored.messageId, stored.caseKey, 'out', stored._id),
  ]);
  return created;
}

/** The timeline entry that shows an outbound mail. */
export function outboundEntry(doc: OutboxDoc): TimelineDoc {
  const header = (name: string) => doc.headers.find((h) => h.name.toLowerCase() === name)?.value;
  return {
    _id: doc.entryId,
    caseKey: doc.caseKey,
    kind: 'email',
    at: doc.createdAt,
    email: {
      direction: 'out',
      messageId: doc.messageId,
      from: doc.from,
      to: doc.to,
      cc: doc.cc,
      subject: doc.subject,
      text: doc.text,
      attachments: [],
      flags: [doc.kind],
      inReplyTo: header('in-reply-to'),
      references: header('references')?.split(/\s+/).filter(Boolean) ?? [],
      threadIndex: header('thread-index'),
      delivery: { state: doc.state, attempts: doc.attempts, outboxId: doc._id },
    },
  };
}

/** Records a delivery outcome on the outbox record and on the timeline entry that shows it. */
export async function setDelivery(
  doc: Pick<OutboxDoc, '_id' | 'entryId'>,
  state: DeliveryState,
  fields: { attempts?: number; lastError?: string; sentAt?: Date; nextAttemptAt?: Date },
): Promise<void> {
  const entry: Record<string, unknown> = { 'email.delivery.state': state };
  for (const [k, v] of Object.entries(fields))
    if (v !== undefined && k !== 'nextAttemptAt') entry[`email.delivery.${k}`] = v;
  await Promise.all([
    Outbox.updateOne({ _id: doc._id }, { $set: { state, ...fields } }),
    TimelineEntry.updateOne({ _id: doc.entryId }, { $set: entry }),
  ]);
  // Off the queue once nothing more will be tried; a retry moves its place in it.
  if (state === 'pending') {
    if (fields.nextAttemptAt)
      await OutboxDue.updateOne({ _id: doc._id }, { $set: { nextAttemptAt: fields.nextAttemptAt } });
  } else await OutboxDue.deleteOne({ _id: doc._id });
}

export class OutboxWorker {
  private readonly opts: OutboxOptions;
  private stopped = false;
  private loop?: Promise<void>;
  private wakeUp?: () => void;
  private pendingWake = false;

  constructor(
    private readonly transport: MailTransport,
    private readonly log: Logger,
    private readonly instanceId: string,
    options: Partial<OutboxOptions> = {},
  ) {
    this.opts = { ...DEFAULT_OUTBOX_OPTIONS, ...options };
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** New mail is queued: look now rather than at the next poll. */
  wake(): void {
    this.pendingWake = true;
    this.wakeUp?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeUp?.();
    await this.loop;
    await releaseLease('outbox', this.instanceId).catch(() => undefined);
    this.transport.close();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let wait = this.opts.pollMs;
      try {
        if (await acquireLease('outbox', this.instanceId, this.opts.leaseTtlMs)) wait = await this.drain();
        else wait = this.opts.leaseTtlMs / 3;
      } catch (err) {
        this.log.warn({ err }, 'outbox: could not read the queue; trying again');
      }
      await this.sleep(wait);
    }
  }

  /** Sends everything due, oldest first; returns how long to wait for the next due message. */
  private async drain(): Promise<number> {
    for (let round = 0; round < 100 && !this.stopped; round++) {
      this.pendingWake = false;
      const due = await OutboxDue.find({ nextAttemptAt: { $lte: new Date() } })
        .sort({ nextAttemptAt: 1 })
        .limit(20)
        .lean<{ _id: string }[]>();
      if (due.length === 0) break;
      for (const { _id } of due) {
        if (this.stopped) return 0;
        const doc = await Outbox.findById(_id).lean<OutboxDoc>();
        // Sent already (a queue entry put back by a re-run), or gone: nothing to do.
        if (doc?.state === 'pending') await this.send(doc);
        else await OutboxDue.deleteOne({ _id });
      }
    }
    const next = await OutboxDue.findOne().sort({ nextAttemptAt: 1 }).lean<{ nextAttemptAt: Date }>();
    const untilNext = next ? Math.max(0, next.nextAttemptAt.getTime() - Date.now()) : this.opts.pollMs;
    return Math.min(untilNext, this.opts.pollMs);
  }

  private async send(doc: OutboxDoc): Promise<void> {
    // The timeline entry is written before the first attempt; a crash in between is healed here.
    await recordTimelineEntry(outboundEntry(doc));
    const attempts = doc.attempts + 1;
    try {
      await this.transport.send({
        from: doc.from,
        to: doc.to,
        cc: doc.cc,
        subject: doc.subject,
        text: doc.text,
        html: doc.html,
        messageId: doc.messageId,
        headers: doc.headers,
        // Bounces come back to the shared mailbox, where intake attaches them to the case.
        envelope: { from: doc.from.address, to: [...doc.to, ...doc.cc].map((a) => a.address) },
      });
    } catch (err) {
      if (isTransientDbError(err)) throw err;
      const message = err instanceof Error ? err.message : String(err);
      if (isPermanentRefusal(err) || attempts >= MAX_ATTEMPTS) {
        this.log.error({ outboxId: doc._id, caseKey: doc.caseKey, err }, 'outbound mail failed for good');
        await setDelivery(doc, 'failed', { attempts, lastError: message.slice(0, 500) });
      } else {
        const delay = backoffDelay(attempts, this.opts.backoff);
        this.log.warn({ outboxId: doc._id, attempts, delay, err }, 'outbound mail not sent; will retry');
        await setDelivery(doc, 'pending', {
          attempts,
          lastError: message.slice(0, 500),
          nextAttemptAt: new Date(Date.now() + delay),
        });
      }
      return;
    }
    await setDelivery(doc, 'sent', { attempts, sentAt: new Date() });
    this.log.info({ outboxId: doc._id, caseKey: doc.caseKey, kind: doc.kind }, 'mail sent');
  }

  private sleep(ms: number): Promise<void> {
    if (this.pendingWake || this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = done;
    });
  }
}
