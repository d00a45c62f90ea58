import { getBlob } from '../db/blobs';
import { isDuplicateKey } from '../db/connection';
import { sanitizeEmailHtml } from '../mail/sanitize';
import { allowedNext } from './lifecycle';
import { csvRow } from './csv';
import type { Playbook, SeverityId } from './playbook';
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
  participants?: string[];
  links?: { key: string; relation: string }[];
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
        participants: c.participants ?? [],
        links: c.links ?? [],
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

/** Adds people to the conversation (lower-case addresses); repeating it changes nothing. */
export async function addParticipants(caseKey: string, addresses: string[]): Promise<void> {
  const list = [...new Set(addresses.map((a) => a.trim().toLowerCase()).filter(Boolean))];
  if (list.length) await Case.updateOne({ _id: caseKey }, { $addToSet: { participants: { $each: list } } });
}

/** A note from Tocsin itself on a case's timeline, recorded once per id. */
export async function recordNotice(
  id: string,
  caseKey: string,
  code: string,
  message: string,
): Promise<void> {
  await recordTimelineEntry({ _id: id, caseKey, kind: 'notice', at: new Date(), notice: { code, message } });
}

export interface CaseFilter {
  status?: string;
  type?: string;
  severity?: string;
  q?: string;
}

function caseQuery(filter: CaseFilter): Record<string, unknown> {
  const query: Record<string, unknown> = {};
  if (filter.status) query.status = filter.status;
  if (filter.type) query.type = filter.type;
  if (filter.severity) query.severity = filter.severity;
  if (filter.q) {
    const re = new RegExp(filter.q.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'i');
    query.$or = [{ key: re }, { subject: re }, { 'reporter.address': re }, { 'reporter.name': re }];
  }
  return query;
}

export async function listCases(filter: CaseFilter, page: { limit: number; offset: number }) {
  const docs = await Case.find(caseQuery(filter))
    .sort({ createdAt: -1, key: -1 })
    .skip(page.offset)
    .limit(page.limit + 1)
    .lean<CaseDoc[]>();
  return {
    cases: docs.slice(0, page.limit).map(caseJson),
    next: docs.length > page.limit ? page.offset + page.limit : null,
  };
}

/** The case register's columns: seed 000's sample register, then severity, subject and dates. */
const REGISTER_COLUMNS = [
  'Case ID',
  'Type',
  'Service',
  'Priority',
  'Status',
  'Owner',
  'Vendor involved',
  'Last update',
  'Severity',
  'Subject',
  'Reporter',
  'First seen',
  'Created',
];

/**
 * The register as CSV rows (header first), newest first, streamed from the database. Service,
 * owner and vendor are empty until triage records them.
 */
export async function* registerCsv(filter: CaseFilter, playbook: Playbook): AsyncGenerator<string> {
  yield csvRow(REGISTER_COLUMNS);
  const cursor = Case.find(caseQuery(filter)).sort({ createdAt: -1, key: -1 }).lean<CaseDoc[]>().cursor();
  for await (const doc of cursor as AsyncIterable<CaseDoc>) {
    yield csvRow([
      doc.key,
      playbook.types[doc.type]?.name ?? doc.type,
      '',
      playbook.severities[doc.severity as SeverityId]?.name ?? '',
      doc.status,
      '',
      '',
      doc.updatedAt.toISOString().slice(0, 10),
      doc.severity,
      doc.subject,
      doc.reporter?.address ?? '',
      doc.firstSeenAt,
      doc.createdAt,
    ]);
  }
}

export async function getCase(key: string) {
  const doc = await Case.findById(key).lean<CaseDoc>();
  if (!doc) return undefined;
  const timeline = await TimelineEntry.find({ caseKey: key }).sort({ at: 1, _id: 1 }).lean<TimelineDoc[]>();
  return {
    ...caseJson(doc),
    indicators: caseIndicators(timeline),
    relatedReports: timeline
      .filter((e) => e.email?.thread?.by === 'related-report')
      .map((e) => ({ entryId: e._id, from: e.email!.from, at: e.at })),
    timeline: timeline.map(timelineJson),
  };
}

/** The phishing indicators of every report on the case, each once, with how many reports had it. */
function caseIndicators(timeline: TimelineDoc[]) {
  const seen = new Map<string, { type: string; value: string; display: string; reports: number }>();
  for (const e of timeline) {
    for (const i of e.email?.indicators ?? []) {
      const id = `${i.type}\u0001${i.value}`;
      const known = seen.get(id);
      if (known) known.reports++;
      else seen.set(id, { ...i, reports: 1 });
    }
  }
  return [...seen.values()];
}

export function caseJson(doc: CaseDoc) {
  return {
    key: doc.key,
    type: doc.type,
    severity: doc.severity,
    status: doc.status,
    /** The statuses the status map allows next, for a client to offer. */
    allowedStatuses: allowedNext(doc.status),
    subject: doc.subject,
    reporter: doc.reporter,
    restricted: doc.restricted,
    personalData: doc.personalData,
    firstSeenAt: doc.firstSeenAt,
    createdAt: doc.createdAt,
    updatedAt: doc.updatedAt,
    suggestion: doc.suggestion,
    participants: doc.participants ?? [],
    links: doc.links ?? [],
    version: doc.version,
  };
}

/**
 * An entry as the API shows it. An email's HTML is sanitised here, on every read, so a better
 * sanitiser protects old mail too; the original stays in the raw evidence.
 */
function timelineJson(entry: TimelineDoc) {
  const out: Record<string, unknown> = { id: entry._id, kind: entry.kind, at: entry.at };
  if (entry.notice) out.notice = entry.notice;
  const email = entry.email;
  if (email) {
    const { html, attachments, ...rest } = email;
    const safe = html ? sanitizeEmailHtml(html) : undefined;
    out.email = {
      ...rest,
      html: safe?.html,
      blockedImages: safe?.blockedImages ?? 0,
      attachments: attachments.map((a) => ({
        ...a,
        url: `/api/cases/${encodeURIComponent(entry.caseKey)}/attachments/${a.sha256}`,
      })),
    };
  }
  return out;
}

/** An attachment of one of this case's emails, or undefined: no case reads another's files. */
export async function attachmentOf(caseKey: string, sha: string) {
  if (!/^[a-f0-9]{64}$/.test(sha)) return undefined;
  const entry = await TimelineEntry.findOne({ caseKey, 'email.attachments.sha256': sha }).lean<TimelineDoc>();
  const meta = entry?.email?.attachments.find((a) => a.sha256 === sha);
  if (!meta) return undefined;
  const content = await getBlob(sha);
  return content && { filename: meta.filename, content };
}
