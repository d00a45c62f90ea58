import { STATUSES, allowedNext, canMove, isStatus } from '../../server/cases/lifecycle';
import { SEED_EDGES } from '../support/seed-status-map';

describe('the status map', () => {
  const legal = new Set(SEED_EDGES);

  it.each(STATUSES.flatMap((from) => STATUSES.map((to) => [from, to] as const)))(
    'when a case moves from %s to %s, then it is allowed exactly when the seed draws that arrow',
    (from, to) => {
      expect(canMove(from, to)).toBe(legal.has(`${from} --> ${to}`));
    },
  );

  it('when a case is Closed, then no move is offered (reopening is its own act)', () => {
    expect(allowedNext('Closed')).toEqual([]);
  });

  it('when a status is unknown, then it is not a status and allows nothing', () => {
    expect(isStatus('Resolved')).toBe(false);
    expect(allowedNext('Resolved')).toEqual([]);
    expect(canMove('Resolved', 'Closed')).toBe(false);
  });

  it('when every status is listed, then each one is reachable from New', () => {
    const seen = new Set<string>(['New']);
    for (let round = 0; round < STATUSES.length; round++)
      for (const s of [...seen]) for (const next of allowedNext(s)) seen.add(next);
    expect([...seen].sort()).toEqual([...STATUSES].sort());
  });
});
