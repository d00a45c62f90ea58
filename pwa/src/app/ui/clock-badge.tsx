import { useEffect, useState } from 'preact/hooks';
import { clockText, headlineClock } from './clock-text';
import type { CaseSummary } from '../types';

/**
 * The time now, for countdowns: renders again every `everyMs`, and any render (new data, say)
 * reads the clock afresh, so a deadline just moved is never counted from a stale time.
 */
export function useNow(everyMs = 30_000): number {
  const [, setTick] = useState(0);
  useEffect(() => {
    const t = setInterval(() => setTick((n) => n + 1), everyMs);
    return () => clearInterval(t);
  }, [everyMs]);
  return Date.now();
}

/**
 * A case row's SLA line: the clock that ran out, or the running one due soonest, in words
 * ("reply due in 12 min", "response overdue 6 min"), and who acknowledged the page.
 */
export function ClockBadge({ c }: { c: Pick<CaseSummary, 'clocks' | 'acknowledged'> }) {
  const now = useNow();
  const clock = headlineClock(c.clocks);
  return (
    <>
      {clock ? (
        <span class={clock.state === 'breached' ? 'badge warn clock' : 'badge clock'}>
          {clockText(clock, now)}
        </span>
      ) : null}
      {c.acknowledged ? <span class="badge ok">acknowledged by {c.acknowledged.by.name}</span> : null}
    </>
  );
}

/** Whether a row has a clock or an acknowledgement to show. */
export const hasClockLine = (c: Pick<CaseSummary, 'clocks' | 'acknowledged'>) =>
  !!headlineClock(c.clocks) || !!c.acknowledged;
