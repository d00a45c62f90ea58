import mongoose, { Schema } from 'mongoose';
import { claimNext, slotHint } from '../db/slots';

/**
 * The case feed: every change to a case appends a numbered record naming it, after the change is
 * written. Numbers are claimed by unique `_id` inserts (db/slots.ts), so they are dense, and a
 * reader that has seen up to n finds what changed since with `_id` lookups alone: the one kind
 * of query FerretDB answers from an index. The register cache (register-cache.ts) follows it.
 */

const SERIES = 'case-feed';

const CaseFeed = mongoose.model(
  'CaseFeed',
  new Schema(
    { _id: String, caseKey: { type: String, required: true }, at: { type: Date, default: () => new Date() } },
    { versionKey: false },
  ),
  'case_feed',
);

const feedId = (n: number) => `feed:${n}`;

type Listener = (caseKey: string) => void;
const listeners = new Set<Listener>();

/** Called in this process for each change it records, before other instances can see it. */
export function onCaseChanged(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Records that a case changed. Call it after the change is written. */
export async function noteCaseChanged(caseKey: string): Promise<void> {
  for (const listener of listeners) listener(caseKey);
  await claimNext(SERIES, feedId, (id) => CaseFeed.create({ _id: id, caseKey }));
}

/** The case keys changed after number `since`, and the last number, reading at most `max`. */
export async function changesSince(
  since: number,
  max = 1000,
): Promise<{ keys: string[]; last: number; complete: boolean }> {
  const keys: string[] = [];
  let last = since;
  for (; last - since < max; last++) {
    const next = await CaseFeed.findById(feedId(last + 1)).lean<{ caseKey: string }>();
    if (!next) return { keys, last, complete: true };
    keys.push(next.caseKey);
  }
  return { keys, last, complete: false };
}

/** The feed's current end: from the hint, probed forward to the first free number. */
export async function feedEnd(): Promise<number> {
  let end = await slotHint(SERIES);
  for (;;) {
    const { last, complete } = await changesSince(end);
    end = last;
    if (complete) return end;
  }
}

/**
 * Forgets feed records older than a day. Every reader reloads in full far more often than that
 * (register-cache.ts), so none can still be waiting for them.
 */
export async function pruneFeed(olderThanMs = 24 * 3600_000): Promise<void> {
  await CaseFeed.deleteMany({ at: { $lt: new Date(Date.now() - olderThanMs) } });
}
