import { STATUSES } from '../../server/cases/lifecycle';
import { SEED_EDGES, seedNext } from '../support/seed-status-map';
import { COMPLETE_CLOSURE, triageDesk } from '../support/triage-desk';

/**
 * The status map on a case opened by real mail: every move against every other, and the moves a
 * case offers the client.
 */

const desk = triageDesk('triage-status', ['walk', 'spam']);
const { keys, patch, get, update, walk } = desk;

describe('when every status is tried against every other status', () => {
  it('then exactly the moves of the seed status map succeed, and every other answers 409 with the allowed moves', async () => {
    const key = keys.walk;
    expect(STATUSES[0]).toBe('New');
    expect([...STATUSES].sort()).toEqual([...new Set(SEED_EDGES.flatMap((e) => e.split(' --> ')))].sort());
    const pairs = STATUSES.flatMap((from) => STATUSES.filter((to) => to !== from).map((to) => [from, to]));
    expect(pairs).toHaveLength(42);

    // Moves out of Closed reopen it, and a close from Triage is a non-case: both carry a reason.
    const extras = (from: string, to: string) =>
      from === 'Closed' || to === 'Closed' ? { reason: `walk ${from} to ${to}` } : {};
    const legal = (from: string, to: string) =>
      from === 'Closed' ? to === 'Triage' : seedNext(from).includes(to);
    // The shortest legal path, reopening included, from one status to another.
    const route = (from: string, to: string): string[] => {
      const previous = new Map<string, string>([[from, '']]);
      const queue = [from];
      while (queue.length) {
        const at = queue.shift()!;
        for (const next of STATUSES.filter((s) => legal(at, s) && !previous.has(s))) {
          previous.set(next, at);
          queue.push(next);
        }
      }
      if (!previous.has(to)) throw new Error(`${to} can not be reached from ${from}`);
      const steps: string[] = [];
      for (let s = to; s !== from; s = previous.get(s)!) steps.unshift(s);
      return steps;
    };
    let current = await get(key);
    expect(current.status).toBe('New');
    // A complete record, so Monitoring → Closed depends on the map alone.
    current = await update(key, { closure: COMPLETE_CLOSURE });
    const bringTo = async (status: string) => {
      for (const step of route(current.status, status)) {
        const res = await patch(key, {
          version: current.version,
          status: step,
          ...extras(current.status, step),
        });
        if (res.status !== 200) throw new Error(`${current.status} → ${step}: ${res.status} ${res.text}`);
        current = res.body;
      }
    };

    const outcomes: unknown[] = [];
    const expected: unknown[] = [];
    for (const from of STATUSES) {
      // Refusals first: they change nothing, so one case in `from` serves them all.
      const targets = STATUSES.filter((to) => to !== from).sort(
        (a, b) => Number(legal(from, a)) - Number(legal(from, b)),
      );
      for (const to of targets) {
        await bringTo(from);
        const before = current;
        const res = await patch(key, { version: before.version, status: to, ...extras(from, to) });
        if (res.status === 200) {
          current = res.body;
          outcomes.push({ from, to, status: 200, now: res.body.status, version: res.body.version });
        } else {
          const after = await get(key);
          outcomes.push({
            from,
            to,
            status: res.status,
            error: res.body.error,
            allowed: [...(res.body.allowed ?? [])].sort(),
            unchanged:
              after.status === before.status &&
              after.version === before.version &&
              after.timeline.length === before.timeline.length,
          });
        }
        expected.push(
          legal(from, to)
            ? { from, to, status: 200, now: to, version: before.version + 1 }
            : {
                from,
                to,
                status: 409,
                error: 'illegal-transition',
                // From Closed the only way out is reopening, to Triage.
                allowed: (from === 'Closed' ? ['Triage'] : seedNext(from)).sort(),
                unchanged: true,
              },
        );
      }
    }
    expect(outcomes).toEqual(expected);
    expect(outcomes.filter((o) => (o as { status: number }).status === 200)).toHaveLength(10);
  });

  it('then a case in Triage offers the client exactly the moves of the map', async () => {
    const spam = await walk(keys.spam, 'Triage');
    expect(spam.allowedStatuses.sort()).toEqual(seedNext('Triage').sort());
    expect(spam.reopenTo).toBeUndefined();
  });
});
