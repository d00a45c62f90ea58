import mongoose, { Schema } from 'mongoose';

/**
 * What the conversation keeps besides the timeline. Every lookup on the intake path is by _id,
 * the only lookup FerretDB's SQLite backend answers from an index.
 */

/**
 * A Message-ID that belongs to a case, inbound or outbound, by the SHA-256 of the id. The first
 * message to claim an id keeps it, so a later message reusing that id can not move it.
 */
export const ThreadRef = mongoose.model(
  'ThreadRef',
  new Schema(
    {
      _id: String,
      messageId: { type: String, required: true },
      caseKey: { type: String, required: true },
      direction: { type: String, enum: ['in', 'out'], required: true },
      /** For outbound mail: the outbox record, so that a bounce can mark it failed. */
      outboxId: String,
      at: { type: Date, default: () => new Date() },
    },
    { versionKey: false },
  ),
  'thread_refs',
);

const headerSchema = new Schema({ name: String, value: String }, { _id: false });
const addressSchema = new Schema({ name: String, address: String }, { _id: false });

/** `failed` covers both a refusal by SMTP and a bounce that came back later (see lastError). */
export type DeliveryState = 'pending' | 'sent' | 'failed';

/**
 * Mail we send, queued durably before any attempt. The record outlives the send: its unique _id
 * is what makes enqueueing the same acknowledgement or reply twice a no-op.
 */
const outboxSchema = new Schema(
  {
    _id: String,
    kind: { type: String, enum: ['ack', 'reply', 'notice'], required: true },
    caseKey: { type: String, required: true },
    /** The timeline entry that shows this mail and its delivery state. */
    entryId: { type: String, required: true },
    messageId: { type: String, required: true },
    from: addressSchema,
    to: [addressSchema],
    cc: [addressSchema],
    subject: String,
    text: String,
    html: String,
    headers: [headerSchema],
    state: { type: String, enum: ['pending', 'sent', 'failed'], default: 'pending' },
    attempts: { type: Number, default: 0 },
    nextAttemptAt: { type: Date, default: () => new Date() },
    lastError: String,
    sentAt: Date,
    createdAt: { type: Date, default: () => new Date() },
  },
  { versionKey: false },
);
export const Outbox = mongoose.model('Outbox', outboxSchema, 'outbox');

/**
 * The outbox's queue: one small record per message still to send, removed when it is sent or
 * has failed for good, so the sender never scans the whole history of outbound mail.
 */
export const OutboxDue = mongoose.model(
  'OutboxDue',
  new Schema({ _id: String, nextAttemptAt: { type: Date, required: true } }, { versionKey: false }).index({
    nextAttemptAt: 1,
  }),
  'outbox_due',
);

export interface OutboxDoc {
  _id: string;
  kind: 'ack' | 'reply' | 'notice';
  caseKey: string;
  entryId: string;
  messageId: string;
  from: { name: string; address: string };
  to: { name: string; address: string }[];
  cc: { name: string; address: string }[];
  subject: string;
  text: string;
  html?: string;
  headers: { name: string; value: string }[];
  state: DeliveryState;
  attempts: number;
  nextAttemptAt: Date;
  lastError?: string;
  sentAt?: Date;
  createdAt: Date;
}
