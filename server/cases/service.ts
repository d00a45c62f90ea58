import { isDuplicateKey } from '../db/connection';
import type { Playbook } from './playbook';
import { Case, TimelineEntry, type CaseDoc, type TimelineDoc } from './models';
import type { Suggestion } from './suggest';

/** The case domain's operations. Entry points (poller, CLI, HTTP) call these, nothing lower. */

export interface NewCase {
  key: string;
  suggestion: Suggestion;
  subject: string;
  reporter: { name: string; address: string };
  firstSeenAt: Date;
  source: string;
}

/**
 * Creates the case unless it exists already. Safe to repeat after a crash. A second case for the
 * same source is refused by a unique index, and fails loudly rather than splitting a report.
 */
export async function ensureCase(c: NewCase, playbook: Playbook): Promise<void> {
  const type = c.suggestion.type;
  await Case.updateOne(
    { _id: c.key },
    {
      $setOnInsert: {
        key: c.key,
        source: c.source,
        type,
        severity: c.suggestion.severity,
        status: 'New',
        subject: c.subject,
        reporter: c.reporter,
        suggestion: c.suggestion,
        // DAT and DEV hold personal data from the first minute, even while only suggested.
        restricted: playbook.types[type]?.restricted ?? false,
        firstSeenAt: c.firstSeenAt,
        version: 0,
      },
    },
    { upsert: true, timestamps: true },
  ).catch(async (err: unknown) => {
    // Two runs for one case can race to the upsert; the loser finds the winner's case.
    if (!isDuplicateKey(err) || !(await Case.exists({ _id: c.key }))) throw err;
  });
}

export type NewTimelineEntry = TimelineDoc;

/**
 * Records a timeline entry once: its _id names the event it records. The case's updatedAt moves
 * with it, except for the entry that opened the case (`opening`).
 */
export async function recordTimelineEntry(
  entry: NewTimelineEntry,
  opts: { opening?: boolean } = {},
): Promise<void> {
  try {
    await TimelineEntry.create(entry);
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
    return;
  }
  if (opts.opening) return;
  await Case.updateOne({ _id: entry.caseKey }, { $set: { updatedAt: new Date() } }, { timestamps: false });
}

export interface CaseFilter {
  status?: string;
  type?: string;
  severity?: string;
  q?: string;
}

export async function listCases(filter: CaseFilter, page: { limit: number; offset: number }) {
  const query: Record<string, unknown> = {};
  if (filter.status) query.status = filter.status;
  if (filter.type) query.type = filter.type;
  if (filter.severity) query.severity = filter.severity;
  if (filter.q) {
    const re = new RegExp(filter.q.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'i');
    query.$or = [{ key: re }, { subject: re }, { 'reporter.address': re }, { 'reporter.name': re }];
  }
  const docs = await Case.find(query)
    .sort({ createdAt: -1, key: -1 })
    .skip(page.offset)
    .limit(page.limit + 1)
    .lean<CaseDoc[]>();
  return {
    cases: docs.slice(0, page.limit).map(caseJson),
    next: docs.length > page.limit ? page.offset + page.limit : null,
  };
}

export async function getCase(key: string) {
  const doc = await Case.findById(key).lean<CaseDoc>();
  if (!doc) return undefined;
  const timeline = await TimelineEntry.find({ caseKey: key }).sort({ at: 1, _id: 1 }).lean<TimelineDoc[]>();
  return { ...caseJson(doc), timeline: timeline.map(timelineJson) };
}

export function caseJson(doc: CaseDoc) {
  return {
    key: doc.key,
    type: doc.type,
    severity: doc.severity,
    status: doc.status,
    subject: doc.subject,
    reporter: doc.reporter,
    restricted: doc.restricted,
    personalData: doc.personalData,
    firstSeenAt: doc.firstSeenAt,
    createdAt: doc.createdAt,
    updatedAt: doc.updatedAt,
    suggestion: doc.suggestion,
    version: doc.version,
  };
}

function timelineJson(entry: TimelineDoc) {
  return { id: entry._id, kind: entry.kind, at: entry.at, ...(entry.email ? { email: entry.email } : {}) };
}
