import mongoose, { Schema } from 'mongoose';
import { isDuplicateKey } from './connection';

/**
 * Numbered slots claimed by inserting `_id`s: `makeId(n)` for the first n from `start` whose insert
 * succeeds. Only one insert of an _id can succeed on MongoDB and FerretDB alike, so each number
 * goes to exactly one claimer, with no read-modify-write that FerretDB could interleave.
 */
export const MAX_PROBES = 10_000;

export async function claimFirstFree(
  start: number,
  makeId: (n: number) => string,
  insert: (id: string) => Promise<unknown>,
): Promise<number> {
  for (let n = Math.max(1, start), probes = 0; probes < MAX_PROBES; n++, probes++) {
    try {
      await insert(makeId(n));
      return n;
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
    }
  }
  throw new Error(`no free slot for ${makeId(start)} after ${MAX_PROBES} tries`);
}

/**
 * Per series (e.g. `INC-2026`, or a sender's openings), the highest number claimed so far: only a
 * hint of where to start probing. A lost update costs the next process a few probes, never a
 * reused number, since the claim itself is the unique insert.
 */
const Counter = mongoose.model(
  'Counter',
  new Schema({ _id: String, seq: { type: Number, default: 0 } }, { versionKey: false }),
  'counters',
);

/** The last number this process saw per series: saves a read per claim. */
const seen = new Map<string, number>();

export async function slotHint(series: string): Promise<number> {
  return seen.get(series) ?? (await Counter.findById(series).lean())?.seq ?? 0;
}

/**
 * How often a busy series' hint is written: a burst of claims (a backlog being read) writes it
 * once a second rather than once a claim. A hint lost with the process costs the next one a
 * second's worth of probes.
 */
const HINT_WRITE_MS = 1000;
const hintWrites = new Map<string, NodeJS.Timeout>();

export function noteSlot(series: string, n: number): void {
  seen.set(series, Math.max(n, seen.get(series) ?? 0));
  if (!hintWrites.has(series)) writeHint(series);
}

/** Writes the series' highest number seen, then again a second later if it has moved on. */
function writeHint(series: string): void {
  const seq = seen.get(series) ?? 0;
  void Counter.updateOne({ _id: series }, { $max: { seq } }, { upsert: true }).catch(() => undefined);
  const timer = setTimeout(() => {
    hintWrites.delete(series);
    if ((seen.get(series) ?? 0) > seq) writeHint(series);
  }, HINT_WRITE_MS);
  timer.unref();
  hintWrites.set(series, timer);
}

/** Claims the next free number of a series, starting from the hint, and notes it. */
export async function claimNext(
  series: string,
  makeId: (n: number) => string,
  insert: (id: string) => Promise<unknown>,
): Promise<number> {
  const n = await claimFirstFree((await slotHint(series)) + 1, makeId, insert);
  noteSlot(series, n);
  return n;
}
