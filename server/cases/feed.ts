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

/**
 * The records this process wrote, by number, so that its own reader need not read them back: in
 * a backlog that is a lookup saved per change. Bounded; a number missing here is read as usual.
 */
const writtenHere = new Map<number, string>();
const WRITTEN_HERE_MAX = 10_000;

/** Records that a case changed. Call it after the change is written. */
export async function noteCaseChanged(caseKey: string): Promise<void> {
  for (const listener of listeners) listener(caseKey);
  const n = await claimNext(SERIES, feedId, (id) => CaseFeed.create({ _id: id, caseKey }));
  writtenHere.set(n, caseKey);
  if (writtenHere.size > WRITTEN_HERE_MAX) writtenHere.delete(writtenHere.keys().next().value!);
}

/** Forgets the records written here: for tests that move to another database. */
export const forgetWrittenHere = () => writtenHere.clear();

/** The case keys changed after number `since`, and the last number, reading at most `max`. */
export async function changesSince(
  since: number,
  max = 1000,
): Promise<{ keys: string[]; last: number; complete: boolean }> {
  const keys: string[] = [];
  let last = since;
  for (; last - since < max; last++) {
    const here = writtenHere.get(last + 1);
    writtenHere.delete(last + 1);
    const next = here ?? (await CaseFeed.findById(feedId(last + 1)).lean<{ caseKey: string }>())?.caseKey;
    if (!next) return { keys, last, complete: true };
    keys.push(next);
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
