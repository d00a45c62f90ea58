import { pruneOnce } from '../db/once';
import type { Logger } from '../logger';
import { pruneLoginLinks } from './magic-link';
import { pruneRates } from './rate-limit';

/**
 * Sign-in leaves records behind (used links, rate-limit slots, single-use marks); an hourly sweep
 * drops those that can no longer matter. Every instance may sweep: deleting twice is harmless.
 */
export async function pruneSignInRecords(): Promise<void> {
  await Promise.all([pruneOnce(), pruneRates(), pruneLoginLinks()]);
}

export function startHousekeeping(log: Logger, everyMs = 3600_000): () => void {
  const sweep = () =>
    pruneSignInRecords().catch((err: unknown) =>
      log.warn({ err }, 'housekeeping: could not prune sign-in records; trying again later'),
    );
  const timer = setInterval(() => void sweep(), everyMs);
  timer.unref();
  void sweep();
  return () => clearInterval(timer);
}
