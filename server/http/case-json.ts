import type { UserDoc } from '../auth/users';
import { seesCase } from '../auth/policy';
import {
  checklistState,
  closureMissing,
  closureRequired,
  missingFields,
  type ClosureRecord,
  type Tick,
} from '../cases/closure';
import { breachApplies, caseClocks } from '../cases/deadlines';
import { allowedNext, REOPEN_STATUS } from '../cases/lifecycle';
import { caseFields, vendorInvolved, type CaseDoc, type TimelineDoc } from '../cases/models';
import type { Playbook } from '../cases/playbook';
import { timelineOf } from '../cases/service';
import { sanitizeEmailHtml } from '../mail/sanitize';

/**
 * How cases look through the API (the JSON presenter): in full to those who may see them, as a
 * stub to others; one case with its timeline, the sanitised HTML of its mail and the URLs of its
 * attachments.
 */

export function caseJson(doc: CaseDoc, playbook?: Playbook, now = new Date()) {
  return {
    key: doc.key,
    type: doc.type,
    severity: doc.severity,
    status: doc.status,
    /** The statuses the status map allows next, for a client to offer. */
    allowedStatuses: allowedNext(doc.status),
    /** Where reopening (with a reason) takes a closed case. */
    reopenTo: doc.status === 'Closed' ? REOPEN_STATUS : undefined,
    subject: doc.subject,
    reporter: doc.reporter,
    /** Whether the report that opened the case came from who it says (DMARC/SPF/DKIM). */
    senderVerdict: doc.senderVerdict ?? 'none',
    restricted: doc.restricted,
    personalData: doc.personalData,
    owner: doc.owner ?? null,
    vendorContact: doc.vendorContact ?? null,
    vendorInvolved: vendorInvolved(doc),
    service: caseFields(doc).service ?? null,
    firstSeenAt: doc.firstSeenAt,
    /** Imported from the mailbox's history on the first connection, closed (IMAP_HISTORY=archive). */
    history: doc.history ?? false,
    /** A sender's overflow of one hour (a storm), with how many messages the case holds. */
    storm: doc.storm
      ? { sender: doc.storm.sender, hour: doc.storm.hour, messages: doc.storm.messages ?? 0 }
      : null,
    /** Opened by a monitoring system's alert (ALERT_SENDERS, the playbook's alertSources). */
    alert: doc.alert ?? false,
    createdAt: doc.createdAt,
    updatedAt: doc.updatedAt,
    suggestion: doc.suggestion,
    participants: doc.participants ?? [],
    links: doc.links ?? [],
    /** Who took the page, and when (server/clocks). */
    acknowledged: doc.clock?.acknowledged
      ? { by: doc.clock.acknowledged, at: doc.clock.acknowledgedAt ?? null }
      : null,
    /** Each clock's deadline and state, for countdowns (with the playbook in hand). */
    clocks: playbook ? caseClocks(doc, playbook, now) : undefined,
    version: doc.version,
  };
}

/** A restricted case as a member who may not see it sees it: that it exists, and who owns it. */
export function caseStub(doc: CaseDoc) {
  return {
    key: doc.key,
    type: doc.type,
    severity: doc.severity,
    status: doc.status,
    restricted: true,
    hidden: true,
    owner: doc.owner ?? null,
    createdAt: doc.createdAt,
    updatedAt: doc.updatedAt,
    version: doc.version,
  };
}

export const caseFor = (user: UserDoc, doc: CaseDoc, playbook?: Playbook, now?: Date) =>
  seesCase(user, doc) ? caseJson(doc, playbook, now) : caseStub(doc);

/**
 * One case in full, with its timeline and what the committee still has to do: the required
 * fields still missing, the checklist, the allowed moves and the closure record with its gaps.
 * The caller has checked that the member may see it.
 */
export async function caseDetail(doc: CaseDoc, playbook: Playbook) {
  const timeline = await timelineOf(doc.key);
  const facts = { type: doc.type, severity: doc.severity, vendorInvolved: vendorInvolved(doc) };
  const record = (doc.closure ?? undefined) as ClosureRecord | undefined;
  return {
    ...caseJson(doc, playbook),
    breach: breachRecord(doc, playbook),
    review: doc.clock?.review ?? null,
    fields: caseFields(doc),
    missingFields: missingFields(playbook, doc.type, caseFields(doc)),
    // Read lean, the ticks are plain objects as written by triage.ts.
    checklist: checklistState(playbook, doc.type, (doc.checklist ?? []) as unknown as Tick[]),
    closure: {
      record: doc.closure ?? null,
      required: closureRequired(playbook, facts),
      missing: closureMissing(playbook, facts, record),
    },
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

const ENTRY_PARTS = ['notice', 'by', 'change', 'note', 'vendorUpdate', 'checklist', 'alert'] as const;

/**
 * An entry as the API shows it. An email's HTML is sanitised here, on every read, so a better
 * sanitiser protects old mail too; the original stays in the raw evidence.
 */
function timelineJson(entry: TimelineDoc) {
  const out: Record<string, unknown> = { id: entry._id, kind: entry.kind, at: entry.at };
  // Parts an entry does not have can read back as empty objects: leave them out.
  const present = (v: unknown) => !!v && Object.keys(v).length > 0;
  for (const part of ENTRY_PARTS) if (present(entry[part])) out[part] = entry[part];
  const email = entry.email;
  if (present(email) && email?.direction) {
    const { html, attachments, ...rest } = email;
    const safe = html ? sanitizeEmailHtml(html) : undefined;
    out.email = {
      ...rest,
      html: safe?.html,
      /** The same HTML as a sandboxed document, for an iframe (server/http/email-html.ts). */
      htmlUrl: html
        ? `/api/cases/${encodeURIComponent(entry.caseKey)}/timeline/${encodeURIComponent(entry._id)}/html`
        : undefined,
      blockedImages: safe?.blockedImages ?? 0,
      attachments: attachments.map((a) => ({
        ...a,
        url: `/api/cases/${encodeURIComponent(entry.caseKey)}/attachments/${a.sha256}`,
      })),
    };
  }
  return out;
}

/** The personal-data breach record (GDPR Art. 33), for a case whose breach clock runs. */
function breachRecord(doc: CaseDoc, playbook: Playbook) {
  if (!breachApplies(doc, playbook)) return null;
  return {
    awareAt: doc.clock?.awareAt ?? doc.firstSeenAt,
    authorityNotified: doc.clock?.authorityNotified ?? null,
  };
}
