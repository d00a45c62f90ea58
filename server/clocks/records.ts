import { authorize } from '../auth/policy';
import type { UserDoc } from '../auth/users';
import { commitChange, settledCase, CaseNotFound, StaleVersion } from '../cases/changes';
import type { CaseDoc } from '../cases/models';
import type { Playbook } from '../cases/playbook';
import { person } from '../cases/person';
import { CaseRefusal } from '../cases/refusal';
import { breachApplies } from '../cases/deadlines';

/**
 * What members record against the clocks: taking a page (acknowledgement), when the committee
 * became aware of a personal-data breach and when the authority was notified, and the
 * post-incident review. Each is one versioned change with its timeline entry.
 */

const HOUR = 3600_000;
/** A time a little ahead of the server's clock is a phone's clock, not the future. */
const SKEW_MS = 5 * 60_000;

/**
 * Takes the case's page: paging stops, and the response time is met. Needs no version (it is a
 * tap on a lock screen); repeating it, or a second member's, changes nothing.
 */
export async function takePage(key: string, user: UserDoc): Promise<CaseDoc> {
  for (let round = 0; round < 20; round++) {
    const current = await settledCase(key);
    if (!current) throw new CaseNotFound(`There is no case ${key}.`);
    authorize(user, 'case:work', current);
    if (current.clock?.acknowledged) return current;
    try {
      return await commitChange(key, current.version, () => {
        const at = new Date();
        return {
          set: {},
          entry: { kind: 'acknowledged', by: person(user) },
          clock: {
            set: { acknowledged: person(user), acknowledgedAt: at },
            min: { respondedAt: at },
            max: {},
          },
        };
      });
    } catch (err) {
      // Someone else changed the case meanwhile: look again (it may be acknowledged now).
      if (!(err instanceof StaleVersion)) throw err;
    }
  }
  throw new Error(`case ${key} kept changing while it was being acknowledged`);
}

export interface BreachInput {
  awareAt?: Date;
  authorityNotified?: { at: Date; reference: string; reason?: string } | null;
}

const iso = (d: unknown) => (d ? new Date(d as Date).toISOString() : null);

/** Records awareness of a personal-data breach, or the authority's notification (GDPR Art. 33). */
export async function recordBreach(
  key: string,
  version: number,
  input: BreachInput,
  user: UserDoc,
  playbook: Playbook,
): Promise<CaseDoc> {
  return commitChange(key, version, (doc) => {
    authorize(user, 'case:work', doc);
    if (!breachApplies(doc, playbook))
      throw new CaseRefusal(
        'conflict',
        'no-breach-clock',
        'This case has no breach deadline: mark it "personal data involved" (or make it a data incident) first.',
      );
    const now = Date.now();
    const facts = doc.clock ?? {};
    const set: Record<string, unknown> = {};
    const changes: { field: string; from: unknown; to: unknown }[] = [];
    if (input.awareAt) {
      if (input.awareAt.getTime() > now + SKEW_MS)
        throw new CaseRefusal('invalid', 'in-the-future', 'awareAt can not be in the future.');
      if (iso(facts.awareAt) !== input.awareAt.toISOString()) {
        set.awareAt = input.awareAt;
        changes.push({
          field: 'awareAt',
          from: iso(facts.awareAt ?? doc.firstSeenAt),
          to: iso(input.awareAt),
        });
      }
    }
    if (input.authorityNotified !== undefined) {
      const n = input.authorityNotified;
      if (n) {
        if (n.at.getTime() > now + SKEW_MS)
          throw new CaseRefusal(
            'invalid',
            'in-the-future',
            'The notification time can not be in the future.',
          );
        const aware = new Date((set.awareAt as Date | undefined) ?? facts.awareAt ?? doc.firstSeenAt);
        const late = n.at.getTime() > aware.getTime() + playbook.clocks.breach.hours * HOUR;
        if (late && !n.reason?.trim())
          throw new CaseRefusal(
            'invalid',
            'reason-required',
            `The authority was notified more than ${playbook.clocks.breach.hours} hours after awareness: GDPR Art. 33(1) asks for the reasons for the delay.`,
          );
      }
      const record = n
        ? { at: n.at, reference: n.reference, reason: n.reason?.trim() || undefined, by: person(user) }
        : null;
      set.authorityNotified = record;
      changes.push({
        field: 'authorityNotified',
        from: facts.authorityNotified ? { ...facts.authorityNotified } : null,
        to: record,
      });
    }
    if (!changes.length) return undefined;
    return {
      set: {},
      entry: { kind: 'change', by: person(user), change: { changes } },
      clock: { set, min: { respondedAt: new Date() }, max: { lastUpdateAt: new Date() } },
    };
  });
}

/** Records the post-incident review as done, with a link to it (seed 001: link in the record). */
export async function recordReview(
  key: string,
  version: number,
  input: { at?: Date; link: string },
  user: UserDoc,
): Promise<CaseDoc> {
  return commitChange(key, version, (doc) => {
    authorize(user, 'case:work', doc);
    const review = { at: input.at ?? new Date(), link: input.link, by: person(user) };
    if (review.at.getTime() > Date.now() + SKEW_MS)
      throw new CaseRefusal('invalid', 'in-the-future', 'The review time can not be in the future.');
    return {
      set: {},
      entry: {
        kind: 'change',
        by: person(user),
        change: { changes: [{ field: 'review', from: doc.clock?.review ?? null, to: review }] },
      },
      clock: { set: { review }, min: { respondedAt: new Date() }, max: {} },
    };
  });
}
