import mongoose, { Schema } from 'mongoose';
import { isDuplicateKey } from '../db/connection';

/**
 * Fixed-window rate limits shared by every instance: each request in a window claims one of
 * `limit` numbered slots by inserting its _id, so the count holds without a read-modify-write.
 */
const RateSlot = mongoose.model(
  'RateSlot',
  new Schema({ _id: String, window: { type: Number, index: true } }, { versionKey: false }),
  'rate_limits',
);

export interface Limit {
  limit: number;
  windowMs: number;
}

/** The first slot this process has not yet seen taken, per window: saves probes. */
const hints = new Map<string, number>();

/**
 * Takes one request from `scope`'s allowance for `key`. Returns 0 when allowed, or the
 * milliseconds until the window resets when the allowance is spent.
 */
export async function takeRate(scope: string, key: string, { limit, windowMs }: Limit): Promise<number> {
  const now = Date.now();
  const window = Math.floor(now / windowMs);
  const series = `${scope}:${key}:${window}`;
  for (let n = hints.get(series) ?? 1; n <= limit; n++) {
    try {
      await RateSlot.create({ _id: `${series}:${n}`, window: window * windowMs });
      hints.set(series, n + 1);
      if (hints.size > 10_000) hints.clear();
      return 0;
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
    }
  }
  return (window + 1) * windowMs - now;
}

/** Drops windows that ended long ago; cheap enough to call now and then. */
export async function pruneRates(olderThanMs = 24 * 3600_000): Promise<void> {
  await RateSlot.deleteMany({ window: { $lt: Date.now() - olderThanMs } });
}
