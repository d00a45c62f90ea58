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
