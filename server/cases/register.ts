import type { UserDoc } from '../auth/users';
import { contentVisibleQuery, seesCase } from '../auth/policy';
import { csvRow } from './csv';
import { Case, type CaseDoc } from './models';
import type { Playbook, SeverityId } from './playbook';
import { caseFields, caseFor, vendorInvolved } from './view';

/** The case register: the list with its filters, and the CSV export. */

export interface CaseFilter {
  status?: string;
  type?: string;
  severity?: string;
  /** Text in the service field (seed 000's register column). */
  service?: string;
  /** A member id, or `none` for cases nobody owns. */
  owner?: string;
  /** Whether a vendor is involved: `yes` or `no`. */
  vendor?: 'yes' | 'no';
  /** Created on or after this day / before the end of this day (UTC, YYYY-MM-DD). */
  from?: string;
  to?: string;
  q?: string;
}

const DAY_MS = 24 * 3600_000;

const literal = (text: string) => new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'i');

function caseQuery(user: UserDoc, filter: CaseFilter): Record<string, unknown> {
  const all: Record<string, unknown>[] = [];
  if (filter.status) all.push({ status: filter.status });
  if (filter.type) all.push({ type: filter.type });
  if (filter.severity) all.push({ severity: filter.severity });
  if (filter.owner) all.push(filter.owner === 'none' ? { 'owner.id': null } : { 'owner.id': filter.owner });
  if (filter.from || filter.to) {
    const range: Record<string, Date> = {};
    if (filter.from) range.$gte = new Date(`${filter.from}T00:00:00Z`);
    if (filter.to) range.$lt = new Date(new Date(`${filter.to}T00:00:00Z`).getTime() + DAY_MS);
    all.push({ createdAt: range });
  }
  // Filters on content match only cases whose content the member may see, so a search can not
  // reveal what a restricted case says by whether its stub comes back.
  const content: Record<string, unknown>[] = [];
  if (filter.service) content.push({ 'fields.service': literal(filter.service) });
  if (filter.vendor) content.push({ vendorContact: filter.vendor === 'yes' ? { $ne: null } : null });
  if (filter.q) {
    const re = literal(filter.q);
    content.push({
      $or: [{ key: re }, { subject: re }, { 'reporter.address': re }, { 'reporter.name': re }],
    });
  }
  const visible = contentVisibleQuery(user);
  if (content.length) all.push(...content, ...(visible ? [visible] : []));
  return all.length === 0 ? {} : all.length === 1 ? all[0]! : { $and: all };
}

export async function listCases(user: UserDoc, filter: CaseFilter, page: { limit: number; offset: number }) {
  const docs = await Case.find(caseQuery(user, filter))
    .sort({ createdAt: -1, key: -1 })
    .skip(page.offset)
    .limit(page.limit + 1)
    .lean<CaseDoc[]>();
  return {
    cases: docs.slice(0, page.limit).map((d) => caseFor(user, d)),
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
  'Closed',
];

/**
 * The register as CSV rows (header first), newest first, streamed from the database. A
 * restricted case the member may not see is listed with its key, type and status only.
 */
export async function* registerCsv(
  user: UserDoc,
  filter: CaseFilter,
  playbook: Playbook,
): AsyncGenerator<string> {
  yield csvRow(REGISTER_COLUMNS);
  const cursor = Case.find(caseQuery(user, filter))
    .sort({ createdAt: -1, key: -1 })
    .lean<CaseDoc[]>()
    .cursor();
  for await (const doc of cursor as AsyncIterable<CaseDoc>) {
    const full = seesCase(user, doc);
    yield csvRow([
      doc.key,
      playbook.types[doc.type]?.name ?? doc.type,
      full ? (caseFields(doc).service ?? '') : '',
      playbook.severities[doc.severity as SeverityId]?.name ?? '',
      doc.status,
      doc.owner?.name ?? '',
      full ? (vendorInvolved(doc) ? 'Yes' : 'No') : '',
      doc.updatedAt.toISOString().slice(0, 10),
      doc.severity,
      full ? doc.subject : '(restricted)',
      full ? (doc.reporter?.address ?? '') : '',
      doc.firstSeenAt,
      doc.createdAt,
      doc.closure?.closedAt ?? '',
    ]);
  }
}
