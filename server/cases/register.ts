import type { UserDoc } from '../auth/users';
import { seesCase } from '../auth/policy';
import { csvRow } from './csv';
import { caseFields, vendorInvolved, type CaseDoc } from './models';
import { registerCases } from './register-cache';
import type { Playbook, SeverityId } from './playbook';
import { slaBreached } from './deadlines';

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
  /** `breached`: some clock of the case has run out (server/clocks). */
  sla?: 'breached';
}

const DAY_MS = 24 * 3600_000;

const literal = (text: string) => new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'i');

/** The filter as a predicate over a case, for the member asking. */
function caseMatcher(
  user: UserDoc,
  filter: CaseFilter,
  playbook: Playbook,
  now: Date,
): (doc: CaseDoc) => boolean {
  const from = filter.from ? Date.parse(`${filter.from}T00:00:00Z`) : -Infinity;
  const to = filter.to ? Date.parse(`${filter.to}T00:00:00Z`) + DAY_MS : Infinity;
  const service = filter.service ? literal(filter.service) : undefined;
  const q = filter.q?.toLowerCase();
  const content = !!(service || filter.vendor || q);
  return (doc) => {
    if (filter.status && doc.status !== filter.status) return false;
    if (filter.type && doc.type !== filter.type) return false;
    if (filter.severity && doc.severity !== filter.severity) return false;
    if (filter.owner && (doc.owner?.id ?? 'none') !== filter.owner) return false;
    const created = doc.createdAt.getTime();
    if (created < from || created >= to) return false;
    if (filter.sla && !slaBreached(doc, playbook, now)) return false;
    if (!content) return true;
    // Filters on content match only cases whose content the member may see, so a search can
    // not reveal what a restricted case says by whether its stub comes back.
    if (!seesCase(user, doc)) return false;
    if (service && !service.test(caseFields(doc).service ?? '')) return false;
    if (filter.vendor && vendorInvolved(doc) !== (filter.vendor === 'yes')) return false;
    return !q || searchText(doc).includes(q);
  };
}

/** What `q` searches, lower-cased once per version of a case (the cache keeps the same objects). */
const searchTexts = new WeakMap<CaseDoc, string>();
function searchText(doc: CaseDoc): string {
  let text = searchTexts.get(doc);
  if (text === undefined) {
    text = [doc.key, doc.subject, doc.reporter?.address, doc.reporter?.name].join('\n').toLowerCase();
    searchTexts.set(doc, text);
  }
  return text;
}

/** The matching cases, newest first, from the register cache; stops after `max` of them. */
async function matching(
  user: UserDoc,
  filter: CaseFilter,
  playbook: Playbook,
  now: Date,
  max = Infinity,
): Promise<CaseDoc[]> {
  const all = await registerCases();
  const matches = caseMatcher(user, filter, playbook, now);
  const found: CaseDoc[] = [];
  for (const doc of all) {
    if (found.length >= max) break;
    if (matches(doc)) found.push(doc);
  }
  return found;
}

/** One page of the matching cases, newest first, and the offset of the next page (or null). */
export async function listCases(
  user: UserDoc,
  filter: CaseFilter,
  page: { limit: number; offset: number },
  playbook: Playbook,
  now = new Date(),
): Promise<{ cases: CaseDoc[]; next: number | null }> {
  // One more than the page, to know whether there is a next one.
  const docs = await matching(user, filter, playbook, now, page.offset + page.limit + 1);
  return {
    cases: docs.slice(page.offset, page.offset + page.limit),
    next: docs.length > page.offset + page.limit ? page.offset + page.limit : null,
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
 * The register as CSV rows (header first), newest first, from the register cache. A
 * restricted case the member may not see is listed with its key, type and status only.
 */
export async function* registerCsv(
  user: UserDoc,
  filter: CaseFilter,
  playbook: Playbook,
): AsyncGenerator<string> {
  yield csvRow(REGISTER_COLUMNS);
  for (const doc of await matching(user, filter, playbook, new Date())) {
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
