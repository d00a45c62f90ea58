import { getBlob } from '../db/blobs';
import { isDuplicateKey } from '../db/connection';
import type { Playbook } from './playbook';
import { noteCaseChanged } from './feed';
import { Case, TimelineEntry, type TimelineDoc } from './models';
import type { Suggestion } from './suggest';

/** The case domain's operations. Entry points (poller, CLI, HTTP) call these, nothing lower. */

export interface NewCase {
  key: string;
  suggestion: Suggestion;
  subject: string;
  reporter: { name: string; address: string };
  /** The opening report's sender verdict (server/mail/verdict.ts). */
  senderVerdict?: 'pass' | 'fail' | 'none';
  firstSeenAt: Date;
  source: string;
  participants?: string[];
  links?: { key: string; relation: string }[];
  /** Mail from before the desk read the mailbox (IMAP_HISTORY=archive): the case opens closed. */
  history?: boolean;
  /** The case collects a sender's overflow of one hour (intake's storm guard). */
  storm?: { sender: string; hour: string };
  /** Opened by a monitoring system's alert. */
  alert?: boolean;
}

/** Who closes what Tocsin itself closes. */
export const TOCSIN: { id: string; name: string } = { id: 'tocsin', name: 'Tocsin' };

/** The closure of a case imported from the mailbox's history. */
export const HISTORY_REASON =
  "Imported from the mailbox's history when Tocsin first read it (IMAP_HISTORY=archive).";

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
        status: c.history ? 'Closed' : 'New',
        subject: c.subject,
        reporter: c.reporter,
        senderVerdict: c.senderVerdict ?? 'none',
        suggestion: c.suggestion,
        // DAT and DEV hold personal data from the first minute, even while only suggested.
        restricted: playbook.types[type]?.restricted ?? false,
        firstSeenAt: c.firstSeenAt,
        participants: c.participants ?? [],
        links: c.links ?? [],
        ...(c.storm ? { storm: { ...c.storm, messages: 1 } } : {}),
        ...(c.alert ? { alert: true } : {}),
        ...(c.history
          ? { history: true, closure: { reason: HISTORY_REASON, closedAt: c.firstSeenAt, closedBy: TOCSIN } }
          : {}),
        version: 0,
      },
    },
    { upsert: true, timestamps: true },
  ).catch(async (err: unknown) => {
    // Two runs for one case can race to the upsert; the loser finds the winner's case.
    if (!isDuplicateKey(err) || !(await Case.exists({ _id: c.key }))) throw err;
  });
  // Every run notes it, so a run that died before noting is mended by the retry.
  await noteCaseChanged(c.key);
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
  await noteCaseChanged(entry.caseKey);
}

/** Adds people to the conversation (lower-case addresses); repeating it changes nothing. */
export async function addParticipants(caseKey: string, addresses: string[]): Promise<void> {
  const list = [...new Set(addresses.map((a) => a.trim().toLowerCase()).filter(Boolean))];
  if (!list.length) return;
  await Case.updateOne({ _id: caseKey }, { $addToSet: { participants: { $each: list } } });
  await noteCaseChanged(caseKey);
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

/** The case's timeline, oldest first. */
export async function timelineOf(caseKey: string): Promise<TimelineDoc[]> {
  return TimelineEntry.find({ caseKey }).sort({ at: 1, _id: 1 }).lean<TimelineDoc[]>();
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

/** The HTML of one of this case's emails, as received (sanitise before showing), or undefined. */
export async function emailHtmlOf(caseKey: string, entryId: string): Promise<string | undefined> {
  const entry = await TimelineEntry.findById(entryId).lean<TimelineDoc>();
  return entry?.caseKey === caseKey ? entry.email?.html || undefined : undefined;
}
