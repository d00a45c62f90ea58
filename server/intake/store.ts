import mongoose, { Schema, type InferSchemaType } from 'mongoose';
import type { Disposition } from './disposition';

/** What intake keeps: one record per distinct inbound message, quarantine, and the IMAP cursor. */

export interface IngestSource {
  kind: 'imap' | 'file' | 'quarantine';
  /** When the mailbox received the message (IMAP INTERNALDATE); the case's first-seen time. */
  receivedAt?: Date;
  mailbox?: string;
  uidValidity?: string;
  uid?: number;
  file?: string;
  /** In the mailbox before the desk first read it, and imported as history (IMAP_HISTORY=archive). */
  history?: boolean;
}

export type IngestResult =
  | { outcome: 'created'; ingestKey: string; caseKey: string; flags: string[] }
  | { outcome: 'appended'; ingestKey: string; caseKey: string; flags: string[]; by: string }
  | { outcome: 'duplicate'; ingestKey: string; caseKey?: string }
  | { outcome: 'quarantined'; quarantineId: string; reason: string };

const headerSchema = new Schema({ name: String, value: String }, { _id: false });

const inboundSchema = new Schema(
  {
    /** The ingest key (Message-ID plus body hash, or the raw hash): one record per message, ever. */
    _id: String,
    messageId: String,
    rawSha256: { type: String, required: true },
    size: { type: Number, required: true },
    headers: [headerSchema],
    receivedAt: { type: Date, required: true },
    source: { kind: String, mailbox: String, uidValidity: String, uid: Number, file: String },
    flags: [String],
    /** The case this message opened or joined, set when it is done. */
    caseKey: String,
    /** Where intake decided the message goes (intake/disposition.ts), kept for re-runs. */
    route: Schema.Types.Mixed,
    state: { type: String, enum: ['pending', 'done'], default: 'pending' },
  },
  { versionKey: false },
);
export const Inbound = mongoose.model('Inbound', inboundSchema, 'inbound');
/** The fields of an inbound record that intake reads back. */
export interface InboundRecord {
  _id: string;
  rawSha256: string;
  receivedAt: Date;
  flags?: string[];
  caseKey?: string;
  /** Where intake decided the message goes (stored as `route`, its name in earlier versions). */
  route?: Disposition;
  state: 'pending' | 'done';
}

/**
 * The first message seen with each Message-ID (by its SHA-256), so that a reused Message-ID with
 * different content is noticed with an _id lookup.
 */
export const MessageIdSeen = mongoose.model(
  'MessageIdSeen',
  new Schema({ _id: String, ingestKey: { type: String, required: true } }, { versionKey: false }),
  'message_ids',
);

const quarantineSchema = new Schema(
  {
    /** raw:<sha256> when the bytes are kept, imap:<mailbox>:<uidvalidity>:<uid> when too big to keep. */
    _id: String,
    reason: { type: String, required: true },
    rawSha256: String,
    size: Number,
    headers: [headerSchema],
    source: { kind: String, mailbox: String, uidValidity: String, uid: Number, file: String },
    attempts: { type: Number, default: 0 },
    state: { type: String, enum: ['open', 'resolved'], default: 'open' },
    caseKey: String,
    createdAt: { type: Date, default: () => new Date() },
    resolvedAt: Date,
  },
  { versionKey: false },
);
quarantineSchema.index({ state: 1, createdAt: -1 });
export const Quarantine = mongoose.model('Quarantine', quarantineSchema, 'quarantine');
export type QuarantineDoc = InferSchemaType<typeof quarantineSchema>;

/**
 * Where the poller is in a mailbox; advanced only after a message's records are durable. Made on
 * the very first connection, with what the mailbox then held (`history`): the messages up to that
 * UID, in that UIDVALIDITY, are the mailbox's history, read as IMAP_HISTORY said at that moment.
 */
export const MailCursor = mongoose.model(
  'MailCursor',
  new Schema(
    {
      _id: String,
      uidValidity: String,
      lastUid: { type: Number, default: 0 },
      lastSyncAt: Date,
      history: {
        type: new Schema(
          { uidValidity: String, upTo: Number, mode: String, since: Date, at: Date, messages: Number },
          { _id: false },
        ),
        default: undefined,
      },
    },
    { versionKey: false },
  ),
  'mail_cursors',
);

export type HistoryMode = 'archive' | 'open' | 'skip';

/** The history a mailbox's first connection found, as its cursor keeps it. */
export interface MailboxHistory {
  uidValidity: string;
  /** The highest UID then: every message up to it is history. */
  upTo: number;
  mode: HistoryMode;
  /** Mail received before this day is left in the mailbox. */
  since?: Date;
  /** When the first connection was made: after a renumbering, what arrived before it is history. */
  at: Date;
  messages: number;
}
