import type { Logger } from '../lib/logger';
import type { ListedMessage } from '../mail/imap';
import { MailCursor, type HistoryMode, type MailboxHistory } from './store';

/**
 * The mailbox's history: what it already held when Tocsin first connected to it. IMAP_HISTORY
 * says what becomes of it, once: the first connection writes it down in the cursor, and every
 * later sync reads that record, never the setting. A restart in the middle of the import goes on
 * with it; a reconnect or a UIDVALIDITY change does not make the old mail new again.
 */

/** What IMAP_HISTORY and IMAP_HISTORY_SINCE ask of the first connection. */
export interface HistorySettings {
  mode: HistoryMode;
  since?: Date;
}

/** What one listed message is: left in the mailbox, imported closed, or read as new mail. */
export type HistoryReading = 'leave' | 'archive' | 'new';

/**
 * Writes the cursor of a mailbox never seen before, with its history, and returns the record
 * that won (another process may have written it first). `listed` is what the folder holds now.
 */
export async function takeHistory(
  cursorId: string,
  uidValidity: string,
  listed: ListedMessage[],
  settings: HistorySettings,
  log: Logger,
): Promise<MailboxHistory> {
  const { mode, since } = settings;
  const upTo = listed.at(-1)?.uid ?? 0;
  const history: MailboxHistory = { uidValidity, upTo, mode, since, at: new Date(), messages: listed.length };
  await MailCursor.updateOne(
    { _id: cursorId },
    { $setOnInsert: { uidValidity, lastUid: mode === 'skip' ? upTo : 0, history } },
    { upsert: true },
  );
  const kept = await MailCursor.findById(cursorId).lean();
  const won = (kept?.history as MailboxHistory | undefined) ?? history;
  log.info({ cursor: cursorId, messages: won.messages, mode: won.mode, since: won.since }, firstWords(won));
  return won;
}

function firstWords(h: MailboxHistory): string {
  if (h.mode === 'skip')
    return 'first connection: the mail already in the mailbox is left there; only new mail becomes cases';
  if (h.mode === 'archive')
    return 'first connection: the mail already in the mailbox is imported as closed history';
  return 'first connection: the mail already in the mailbox becomes draft cases';
}

/**
 * How a listed message is read. In the UIDVALIDITY the first connection saw, history is every
 * UID up to the one it noted; after a renumbering, every message the server says arrived before
 * that connection (its INTERNALDATE). A message without a date, or from the very second of that
 * connection (INTERNALDATE has no finer grain), counts as new, so none is lost.
 */
export function readingOf(
  history: MailboxHistory | undefined,
  uidValidity: string,
  m: ListedMessage,
): HistoryReading {
  if (!history) return 'new';
  const inHistory =
    history.uidValidity === uidValidity
      ? m.uid <= history.upTo
      : !!m.receivedAt && m.receivedAt.getTime() < wholeSecond(history.at);
  if (!inHistory) return 'new';
  if (history.mode === 'skip') return 'leave';
  if (history.since && (m.receivedAt?.getTime() ?? Infinity) < new Date(history.since).getTime())
    return 'leave';
  return history.mode === 'archive' ? 'archive' : 'new';
}

const wholeSecond = (at: Date) => Math.floor(new Date(at).getTime() / 1000) * 1000;
