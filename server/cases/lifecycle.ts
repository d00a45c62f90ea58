import { STATUSES, type Status } from '../contract';

/**
 * The status map of seed 000 (and PRODUCT.md), as data: which status may follow which. Pure; the
 * triage API enforces it, and tells a client the moves it may offer. Reopening a closed case is
 * not a move of the map but an explicit act with a reason, which goes back to Triage.
 */

export { STATUSES, type Status } from '../contract';

const MOVES: Record<Status, readonly Status[]> = {
  New: ['Triage'],
  Triage: ['InProgress', 'WaitingForVendor', 'Closed'],
  WaitingForVendor: ['InProgress'],
  InProgress: ['Monitoring', 'Escalated'],
  Escalated: ['Monitoring'],
  Monitoring: ['Closed'],
  Closed: [],
};

/** Where a reopened case goes. */
export const REOPEN_STATUS: Status = 'Triage';

export const isStatus = (s: string): s is Status => (STATUSES as readonly string[]).includes(s);

/** The statuses a case in `from` may move to next (none for an unknown status). */
export function allowedNext(from: string): Status[] {
  return isStatus(from) ? [...MOVES[from]] : [];
}

export function canMove(from: string, to: string): boolean {
  return allowedNext(from).includes(to as Status);
}
