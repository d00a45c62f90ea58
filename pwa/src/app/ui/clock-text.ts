import type { Clock, ClockKind } from '../types';

/**
 * A case's clocks in words: "reply due in 12 min", "response overdue 6 min". Pure, so the unit
 * tests read the real thing; the words carry the state, so nothing depends on colour alone.
 */

/** What is due, as a countdown says it. */
const DUE: Record<ClockKind, string> = {
  response: 'reply',
  update: 'update',
  breach: 'authority notification',
  review: 'post-incident review',
};

/** What is late, as an overdue clock says it. */
const LATE: Record<ClockKind, string> = {
  response: 'response',
  update: 'update',
  breach: 'authority notification',
  review: 'post-incident review',
};

/** The clock's name, for a list of them. */
export const CLOCK_NAMES: Record<ClockKind, string> = {
  response: 'Response',
  update: 'Next update',
  breach: 'Breach notification (72 hours)',
  review: 'Post-incident review',
};

const MINUTE = 60_000;

/** A span of time, briefly: "1 min", "12 min", "3 h 5 min", "2 d 4 h". */
export function span(ms: number, round: 'up' | 'down' = 'down'): string {
  const whole = round === 'up' ? Math.ceil(ms / MINUTE) : Math.floor(ms / MINUTE);
  const minutes = Math.max(1, whole);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
  const days = Math.floor(hours / 24);
  return hours % 24 ? `${days} d ${hours % 24} h` : `${days} d`;
}

/** One clock's state in words, as of `now`. */
export function clockText(c: Clock, now = Date.now()): string {
  const left = Date.parse(c.dueAt) - now;
  switch (c.state) {
    case 'running':
      return left > 0 ? `${DUE[c.kind]} due in ${span(left, 'up')}` : `${LATE[c.kind]} overdue`;
    case 'breached':
      return `${LATE[c.kind]} overdue ${span(-left)}`;
    case 'paused':
      return `${DUE[c.kind]} clock paused while waiting for the vendor`;
    case 'met':
      return `${DUE[c.kind]} done`;
    case 'stopped':
      return c.kind === 'breach' ? 'authority notified' : `${DUE[c.kind]} stopped`;
  }
}

/** Whether a clock still counts down or has run out (the ones a list row shows). */
export const isLive = (c: Clock) => c.state === 'running' || c.state === 'breached';

/** The clock a case row shows: one that ran out first, else the running one due soonest. */
export function headlineClock(clocks: Clock[] | undefined): Clock | undefined {
  const live = (clocks ?? []).filter(isLive);
  const late = live.filter((c) => c.state === 'breached');
  const pick = late.length ? late : live;
  return [...pick].sort((a, b) => Date.parse(a.dueAt) - Date.parse(b.dueAt))[0];
}
