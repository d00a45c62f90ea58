import mongoose, { Schema, type InferSchemaType } from 'mongoose';

/** Who did something: a member's id and name at the time. */
const personSchema = new Schema({ id: String, name: String }, { _id: false });

/**
 * A case, the committee's record of one report. Its timeline lives in its own collection. The
 * _id is the key, so that finding a case by key is an _id lookup on every server.
 */
const caseSchema = new Schema(
  {
    _id: String,
    key: { type: String, required: true, unique: true },
    type: { type: String, required: true },
    severity: { type: String, required: true },
    status: { type: String, required: true, default: 'New' },
    subject: { type: String, default: '' },
    reporter: { name: { type: String, default: '' }, address: { type: String, default: '' } },
    /** DMARC/SPF/DKIM on the report that opened the case: `pass`, `fail` or `none` (not checked). */
    senderVerdict: { type: String, default: 'none' },
    suggestion: {
      type: { type: String, required: true },
      severity: { type: String, required: true },
      reasons: { type: [String], default: [] },
    },
    restricted: { type: Boolean, default: false },
    personalData: { type: Boolean, default: false },
    owner: { type: personSchema, default: null },
    vendorContact: {
      type: new Schema(
        { name: String, organisation: String, email: String, phone: String, ticket: String },
        { _id: false },
      ),
      default: null,
    },
    /** The per-type fields of seed 000's table (service, device type…), by field id. */
    fields: { type: Schema.Types.Mixed, default: () => ({}) },
    checklist: {
      type: [new Schema({ id: String, done: Boolean, by: personSchema, at: Date }, { _id: false })],
      default: [],
    },
    /** The closure record (seeds 000 and 004), filled in while the case is worked. */
    closure: {
      type: new Schema(
        {
          rootCause: String,
          vendorActions: String,
          accountChanges: String,
          followUps: [new Schema({ task: String, owner: String, due: String }, { _id: false })],
          lessons: String,
          /** Why a case closed straight from Triage (spam, a duplicate), or was reopened. */
          reason: String,
          closedAt: Date,
          closedBy: personSchema,
        },
        { _id: false },
      ),
      default: null,
    },
    firstSeenAt: { type: Date, required: true },
    /**
     * Addresses (lower case) that take part in the conversation: the reporter, people the
     * committee wrote to, and senders whose replies were threaded by our own headers or marker.
     * A case key quoted by anyone else is not trusted on its own.
     */
    participants: { type: [String], default: [] },
    /** Other cases this one relates to, e.g. `possible-follow-up-of` when a stranger quoted a key. */
    links: { type: [new Schema({ key: String, relation: String }, { _id: false })], default: [] },
    /** What opened the case (an inbound message's ingest key): one case per source, ever. */
    source: { type: String, required: true, unique: true },
    /**
     * Imported from the mailbox's history on the first connection (IMAP_HISTORY=archive): opened
     * closed, with no acknowledgement, page or clock. Reopened, it is worked as any case.
     */
    history: { type: Boolean, default: false },
    /**
     * The case collects a sender's overflow of one UTC hour (a storm: their sixth new case within
     * an hour and after), with how many messages it holds; a member splits one out to make it a
     * case of its own.
     */
    storm: {
      type: new Schema({ sender: String, hour: String, messages: Number }, { _id: false }),
      default: null,
    },
    /** Opened by a monitoring system's alert (ALERT_SENDERS, the playbook's alertSources). */
    alert: { type: Boolean, default: false },
    /** What the case's clocks are reckoned from (server/clocks): kept by each change as it is made. */
    clock: {
      type: new Schema(
        {
          /** Someone took the page (a push's Acknowledge, or the button): paging stops. */
          acknowledged: { type: personSchema, default: null },
          acknowledgedAt: Date,
          /** The first human response: acknowledgement, triage action, note or reply. */
          respondedAt: Date,
          /** When a member last changed the severity: a case raised to urgent is paged from then. */
          severityAt: Date,
          /** The last member action (note, reply, status change…), for "next update due". */
          lastUpdateAt: Date,
          /** While WaitingForVendor the response clock stands still. */
          pausedSince: Date,
          pausedMs: { type: Number, default: 0 },
          /** First reached Monitoring or Closed: the post-incident review is due from then. */
          resolvedAt: Date,
          /** When the committee became aware of a personal-data breach (GDPR Art. 33). */
          awareAt: Date,
          authorityNotified: {
            type: new Schema(
              { at: Date, reference: String, reason: String, by: personSchema },
              { _id: false },
            ),
            default: null,
          },
          review: {
            type: new Schema({ at: Date, link: String, by: personSchema }, { _id: false }),
            default: null,
          },
        },
        { _id: false },
      ),
      default: () => ({}),
    },
    version: { type: Number, default: 0 },
  },
  { timestamps: true, versionKey: false },
);
caseSchema.index({ createdAt: -1, key: -1 });
caseSchema.index({ status: 1, createdAt: -1 });

export const Case = mongoose.model('Case', caseSchema, 'cases');
export type CaseDoc = InferSchemaType<typeof caseSchema> & { createdAt: Date; updatedAt: Date };

const attachmentSchema = new Schema(
  { filename: String, contentType: String, size: Number, sha256: String },
  { _id: false },
);
const addressSchema = new Schema({ name: String, address: String }, { _id: false });

/**
 * One entry on a case's timeline. The _id is derived from what caused the entry (for example
 * `email:<ingest key>`), so recording the same event twice is a no-op.
 */
const timelineSchema = new Schema(
  {
    _id: String,
    caseKey: { type: String, required: true },
    kind: { type: String, required: true },
    at: { type: Date, required: true },
    email: {
      direction: String,
      messageId: String,
      from: addressSchema,
      to: [addressSchema],
      cc: [addressSchema],
      date: Date,
      subject: String,
      text: String,
      attachments: [attachmentSchema],
      rawSha256: String,
      ingestKey: String,
      flags: [String],
      classification: { kind: String, reasons: [String] },
      inReplyTo: String,
      references: [String],
      replyTo: [addressSchema],
      threadIndex: String,
      html: String,
      verdict: { verdict: String, reasons: [String] },
      /** How the message found this case: opened it, headers, marker, key, related report… */
      thread: { by: String, trusted: Boolean, note: String },
      indicators: [new Schema({ type: String, value: String, display: String }, { _id: false })],
      /** Outbound mail: where the delivery stands. */
      delivery: { state: String, attempts: Number, lastError: String, sentAt: Date, outboxId: String },
      /** A bounce of our own mail: the outbound entry it reports on. */
      bounceOf: String,
    },
    notice: { code: String, message: String },
    /** The member who made a change, wrote a note, ticked an item… */
    by: personSchema,
    change: {
      changes: [
        new Schema({ field: String, from: Schema.Types.Mixed, to: Schema.Types.Mixed }, { _id: false }),
      ],
      reason: String,
    },
    note: { text: String },
    vendorUpdate: { vendor: String, reference: String, text: String, receivedAt: Date },
    checklist: { item: String, label: String, done: Boolean },
    /** A push alert of one of the case's clocks: who it went to, and every attempt per device. */
    alert: {
      id: String,
      kind: String,
      clock: String,
      audience: String,
      urgent: Boolean,
      dueAt: Date,
      recipients: [personSchema],
      /** Recipients with no device to push to. */
      unreachable: [personSchema],
      results: [
        new Schema(
          {
            subscriptionId: String,
            userId: String,
            outcome: String,
            attempts: [new Schema({ at: Date, status: Number, error: String, ms: Number }, { _id: false })],
          },
          { _id: false },
        ),
      ],
    },
  },
  { versionKey: false },
);
timelineSchema.index({ caseKey: 1, at: 1 });

export const TimelineEntry = mongoose.model('TimelineEntry', timelineSchema, 'timeline');

export interface AddressValue {
  name: string;
  address: string;
}

export interface EmailEntryValue {
  direction: 'in' | 'out';
  messageId?: string;
  from?: AddressValue;
  to: AddressValue[];
  cc: AddressValue[];
  date?: Date;
  subject: string;
  text: string;
  attachments: { filename: string; contentType: string; size: number; sha256: string }[];
  rawSha256?: string;
  ingestKey?: string;
  flags: string[];
  /** Person or machine (bounce, auto-reply, report, list, loop), with the reasons. */
  classification?: { kind: string; reasons: string[] };
  inReplyTo?: string;
  references?: string[];
  replyTo?: AddressValue[];
  threadIndex?: string;
  html?: string;
  verdict?: { verdict: string; reasons: string[] };
  thread?: { by: string; trusted: boolean; note?: string };
  indicators?: { type: string; value: string; display: string }[];
  delivery?: { state: string; attempts: number; lastError?: string; sentAt?: Date; outboxId: string };
  bounceOf?: string;
}

/** A timeline entry as stored and read back (lean). */
export interface TimelineDoc {
  _id: string;
  caseKey: string;
  kind: string;
  at: Date;
  email?: EmailEntryValue;
  notice?: { code: string; message: string };
  by?: Person;
  change?: { changes: { field: string; from: unknown; to: unknown }[]; reason?: string };
  note?: { text: string };
  vendorUpdate?: { vendor: string; reference?: string; text: string; receivedAt?: Date };
  checklist?: { item: string; label: string; done: boolean };
  alert?: AlertEntryValue;
}

export interface AlertEntryValue {
  id: string;
  kind: string;
  clock: string;
  audience: string;
  urgent: boolean;
  dueAt: Date;
  recipients: Person[];
  unreachable: Person[];
  results: {
    subscriptionId: string;
    userId: string;
    outcome: string;
    attempts: { at: Date; status: number | null; error?: string; ms: number }[];
  }[];
}

export interface Person {
  id: string;
  name: string;
}

/** Whether a vendor is involved: the case records a vendor contact. */
export const vendorInvolved = (doc: CaseDoc) => !!doc.vendorContact;

/** The case's per-type fields (seed 000's required information), by id. */
export const caseFields = (doc: CaseDoc) => (doc.fields ?? {}) as Record<string, string>;
