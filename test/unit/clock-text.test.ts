import { clockText, headlineClock, span } from '../../pwa/src/app/ui/clock-text';
import type { Clock } from '../../pwa/src/app/types';

// Case clocks in words, as the PWA's rows and case screen show them (pwa/src/app/ui/clock-text.ts).

const NOW = Date.parse('2026-03-02T10:00:00Z');
const at = (minutes: number) => new Date(NOW + minutes * 60_000).toISOString();
const clock = (kind: Clock['kind'], state: Clock['state'], minutes: number): Clock => ({
  kind,
  state,
  dueAt: at(minutes),
});

describe('when a clock runs', () => {
  it('then it counts down, rounding up, in minutes, hours and days', () => {
    expect(clockText(clock('response', 'running', 12), NOW)).toBe('reply due in 12 min');
    expect(clockText(clock('response', 'running', 0.2), NOW)).toBe('reply due in 1 min');
    expect(clockText(clock('update', 'running', 4), NOW)).toBe('update due in 4 min');
    expect(clockText(clock('breach', 'running', 26 * 60 + 5), NOW)).toBe(
      'authority notification due in 26 h 5 min',
    );
    expect(clockText(clock('review', 'running', 3 * 24 * 60), NOW)).toBe('post-incident review due in 3 d');
  });
});

describe('when a clock ran out', () => {
  it('then it says what is overdue and by how long', () => {
    expect(clockText(clock('response', 'breached', -6), NOW)).toBe('response overdue 6 min');
    expect(clockText(clock('update', 'breached', -0.5), NOW)).toBe('update overdue 1 min');
    expect(clockText(clock('breach', 'breached', -50 * 60), NOW)).toBe(
      'authority notification overdue 2 d 2 h',
    );
  });

  it('then a row shows the clock that ran out before one still running', () => {
    const clocks = [
      clock('update', 'running', 3),
      clock('response', 'breached', -6),
      clock('review', 'met', 5),
    ];
    expect(headlineClock(clocks)?.kind).toBe('response');
    expect(headlineClock([clock('review', 'met', 5), clock('update', 'paused', 30)])).toBeUndefined();
  });
});

describe('when a clock is done', () => {
  it('then it says so', () => {
    expect(clockText({ ...clock('response', 'met', -3), doneAt: at(-10) }, NOW)).toBe('reply done');
    expect(clockText(clock('breach', 'stopped', 100), NOW)).toBe('authority notified');
    expect(span(90 * 60_000)).toBe('1 h 30 min');
  });
});
