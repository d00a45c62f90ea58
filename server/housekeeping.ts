import { pruneLoginLinks } from './auth/magic-link';
import { pruneRates } from './auth/rate-limit';
import { pruneFeed } from './cases/feed';
import { pruneOnce } from './db/once';
import type { Logger } from './lib/logger';

/**
 * Records that only matter for a while (used sign-in links, rate-limit slots, single-use marks,
 * the case feed) are dropped by an hourly sweep once they can no longer matter. Every instance
 * may sweep: deleting twice is harmless.
 */
export async function pruneOldRecords(): Promise<void> {
  await Promise.all([pruneOnce(), pruneRates(), pruneLoginLinks(), pruneFeed()]);
}

export function startHousekeeping(log: Logger, everyMs = 3600_000): () => void {
  const sweep = () =>
    pruneOldRecords().catch((err: unknown) =>
      log.warn({ err }, 'housekeeping: could not prune old records; trying again later'),
    );
  const timer = setInterval(() => void sweep(), everyMs);
  timer.unref();
  void sweep();
  return () => clearInterval(timer);
}
