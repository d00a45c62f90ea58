import type { CaseDoc, Person } from './models';

/**
 * What each change to a case tells its clocks (server/cases/deadlines.ts), as an update of the
 * `clock` facts that commutes with any other: first response and last update go in with $min and
 * $max, so a reply recorded beside a versioned change can never be overwritten by it; the pause
 * and resolution change only with the status, which versioned changes alone move.
 */
export interface ClockUpdate {
  set: Record<string, unknown>;
  min: Record<string, Date>;
  max: Record<string, Date>;
}

/** Entries that answer the reporter or move the case on: they count as a human response and an update. */
const UPDATES = new Set(['change', 'note', 'vendor-update', 'email']);

export function clockUpdateFor(
  doc: CaseDoc,
  entry: { kind: string; by?: Person | null },
  set: Record<string, unknown>,
  at: Date,
): ClockUpdate | undefined {
  if (!entry.by) return undefined;
  const update: ClockUpdate = { set: {}, min: { respondedAt: at }, max: {} };
  if (UPDATES.has(entry.kind)) update.max.lastUpdateAt = at;
  if (typeof set.severity === 'string' && set.severity !== doc.severity) update.max.severityAt = at;
  const to = set.status as string | undefined;
  if (to && to !== doc.status) {
    const facts = doc.clock ?? {};
    if (to === 'WaitingForVendor') update.set.pausedSince = at;
    if (doc.status === 'WaitingForVendor') {
      const since = facts.pausedSince ? new Date(facts.pausedSince).getTime() : at.getTime();
      update.set.pausedSince = null;
      update.set.pausedMs = (facts.pausedMs ?? 0) + Math.max(0, at.getTime() - since);
    }
    if ((to === 'Monitoring' || to === 'Closed') && !facts.resolvedAt) update.set.resolvedAt = at;
  }
  return update;
}

/** The update as MongoDB operators on the case document. */
export function clockOperators(u: ClockUpdate | undefined): Record<string, Record<string, unknown>> {
  if (!u) return {};
  const prefixed = (o: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(o).map(([k, v]) => [`clock.${k}`, v]));
  const ops: Record<string, Record<string, unknown>> = {};
  if (Object.keys(u.min).length) ops.$min = prefixed(u.min);
  if (Object.keys(u.max).length) ops.$max = prefixed(u.max);
  if (Object.keys(u.set).length) ops.$set = prefixed(u.set);
  return ops;
}
