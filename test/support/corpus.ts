import fs from 'node:fs';
import path from 'node:path';
import type { ImapConfig } from '../../server/config';
import { Case, TimelineEntry, type TimelineDoc } from '../../server/cases/models';
import type { Disposition } from '../../server/intake/disposition';
import { Inbound, Quarantine, type InboundRecord } from '../../server/intake/store';
import { sha256 } from '../../server/lib/hash';
import { ingestKey } from '../../server/mail/ingest-key';
import { parseMessage } from '../../server/mail/parse';
import { caughtUp } from './caught-up';
import { appendMessages, imapClient } from './mail';

/**
 * A corpus of real mail vendored under test/fixtures, delivered to a desk's mailbox and then
 * accounted for message by message: each one the mailbox holds is an email entry on a case (its
 * inbound record done) or a quarantine record with its reason.
 */

/** One file of a corpus: its path below the corpus folder, and its bytes. */
export interface CorpusFile {
  name: string;
  raw: Buffer;
}

/** Every file below `dirs` of the corpus folder `root` (all of it by default), sorted by name. */
export function readCorpus(root: string, dirs = ['.']): CorpusFile[] {
  return dirs
    .flatMap((dir) =>
      fs
        .readdirSync(path.join(root, dir), { recursive: true, encoding: 'utf8' })
        .map((f) => path.join(root, dir, f)),
    )
    .filter((f) => fs.statSync(f).isFile())
    .map((f) => ({ name: path.relative(root, f), raw: fs.readFileSync(f) }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Appends every file to the mailbox (one APPEND each), and waits until the desk has read them all. */
export async function deliverCorpus(box: ImapConfig, files: CorpusFile[], timeoutMs: number) {
  await appendMessages(
    box,
    files.map((f) => f.raw),
  );
  await caughtUp(box, timeoutMs);
}

/** Where a message is: an email entry on a case, a quarantine record, or neither. */
export type Where =
  | { on: 'case'; caseKey: string; route?: Disposition; entry: TimelineDoc }
  | { on: 'quarantine'; reason: string }
  | { on: 'nowhere' };

/** One message of the mailbox: `name` is its file's, or `uid N` when no file has its bytes. */
export type Accounted = { name: string; uid: number } & Where;

/** Looks up every message now in the mailbox, in UID order. */
export async function accountFor(box: ImapConfig, files: CorpusFile[]): Promise<Accounted[]> {
  // IMAP serves a message with CRLF line ends, whatever it was appended with; files that are the
  // same message then take their names in turn, as they were appended.
  const names = new Map<string, string[]>();
  for (const f of files) names.set(crlfHash(f.raw), [...(names.get(crlfHash(f.raw)) ?? []), f.name]);
  const client = await imapClient(box);
  const found: Accounted[] = [];
  try {
    const { uidValidity } = await client.mailboxOpen(box.mailbox);
    for await (const m of client.fetch('1:*', { uid: true, source: true })) {
      const raw = m.source!;
      const name = names.get(crlfHash(raw))?.shift() ?? `uid ${m.uid}`;
      // A message too big to fetch is held by its UID, with only its headers.
      const held = await heldFor(raw, `imap:${box.mailbox}:${uidValidity}:${m.uid}`);
      found.push({ name, uid: m.uid, ...(held ?? (await onCase(raw))) });
    }
  } finally {
    await client.logout();
  }
  return found;
}

const crlfHash = (raw: Buffer) =>
  sha256(Buffer.from(raw.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1'));

/** The quarantine record of these bytes, or the one named `otherId`. */
async function heldFor(raw: Buffer, otherId: string): Promise<Where | undefined> {
  const held = await Quarantine.findOne({ _id: { $in: [`raw:${sha256(raw)}`, otherId] } }).lean();
  return held ? { on: 'quarantine', reason: held.reason } : undefined;
}

async function onCase(raw: Buffer): Promise<Where> {
  const key = ingestKey((await parseMessage(raw)).messageId, raw);
  const inbound = await Inbound.findById(key).lean<InboundRecord>();
  // The same message twice (a corpus can have byte-identical twins once Dovecot has turned their
  // NULs into 0x80): the first copy's record stands for both.
  if (inbound?.state === 'done' && inbound.route?.action === 'quarantine') {
    const held = await heldFor(raw, `raw:${inbound.rawSha256}`);
    if (held) return held;
  }
  const entry = await TimelineEntry.findById(`email:${key}`).lean<TimelineDoc>();
  const accounted =
    inbound?.state === 'done' &&
    !!inbound.caseKey &&
    entry?.caseKey === inbound.caseKey &&
    (await Case.findById(inbound.caseKey).lean())?.key === inbound.caseKey;
  return accounted
    ? { on: 'case', caseKey: inbound.caseKey!, route: inbound.route, entry }
    : { on: 'nowhere' };
}
