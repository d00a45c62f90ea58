import { backoffDelay, type BackoffOptions } from '../../server/lib/backoff';

const opts: BackoffOptions = { baseMs: 1000, maxMs: 60_000 };
const lowest = () => 0;
const highest = () => 1;

describe('backoffDelay', () => {
  it('when the attempts go up with the largest jitter, then the delay doubles each time from baseMs', () => {
    const delays = [0, 1, 2, 3, 4, 5].map((attempt) => backoffDelay(attempt, opts, highest));

    expect(delays).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000]);
  });

  it('when the attempts go up with no jitter, then each delay is half the doubling ceiling', () => {
    const delays = [0, 1, 2, 3, 4, 5].map((attempt) => backoffDelay(attempt, opts, lowest));

    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 16_000]);
  });

  it('when the random value is one half, then the delay is three quarters of the ceiling', () => {
    const delay = backoffDelay(2, opts, () => 0.5);

    expect(delay).toBe(3000);
  });

  it('when the doubling passes maxMs, then the largest delay is maxMs and the smallest is half of it', () => {
    const high = backoffDelay(6, opts, highest);
    const low = backoffDelay(6, opts, lowest);

    expect(high).toBe(60_000);
    expect(low).toBe(30_000);
  });

  it('when any attempt from 0 to 200 is tried, then the delay never exceeds maxMs nor falls below half the ceiling', () => {
    let previousHigh = 0;
    for (let attempt = 0; attempt <= 200; attempt++) {
      const high = backoffDelay(attempt, opts, highest);
      const low = backoffDelay(attempt, opts, lowest);

      expect(high).toBeLessThanOrEqual(opts.maxMs);
      expect(high).toBeGreaterThanOrEqual(previousHigh);
      expect(low).toBe(high / 2);
      previousHigh = high;
    }
    expect(previousHigh).toBe(60_000);
  });

  it('when the default Math.random is used, then every delay is between half the ceiling and the ceiling', () => {
    const delays = Array.from({ length: 500 }, () => backoffDelay(10, opts));

    for (const d of delays) {
      expect(d).toBeGreaterThanOrEqual(30_000);
      expect(d).toBeLessThanOrEqual(60_000);
    }
    expect(new Set(delays).size).toBeGreaterThan(1);
  });

  it('when the attempt number is huge, then the delay is a finite maxMs, not Infinity or NaN', () => {
    const attempts = [1_000, 1_000_000, Number.MAX_SAFE_INTEGER, Number.MAX_VALUE, Infinity];

    const highs = attempts.map((a) => backoffDelay(a, opts, highest));
    const lows = attempts.map((a) => backoffDelay(a, opts, lowest));

    expect(highs).toEqual([60_000, 60_000, 60_000, 60_000, 60_000]);
    expect(lows).toEqual([30_000, 30_000, 30_000, 30_000, 30_000]);
  });

  it('when maxMs is effectively unbounded and the attempt is huge, then the exponent stops growing and the delay stays finite', () => {
    const unbounded: BackoffOptions = { baseMs: 1000, maxMs: Number.MAX_SAFE_INTEGER };

    const delay = backoffDelay(5_000, unbounded, highest);

    expect(delay).toBe(1000 * 2 ** 30);
    expect(Number.isFinite(delay)).toBe(true);
  });
});
