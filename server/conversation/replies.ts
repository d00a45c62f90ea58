import { clockOperators } from '../cases/clock-facts';
import { randomUUID } from 'node:crypto';
import { Case, TimelineEntry, type CaseDoc, type TimelineDoc } from '../cases/models';
import { addParticipants } from '../cases/service';
import type { ConversationSettings } from './settings';
import { sha256 } from '../lib/hash';
import { Outbox, type OutboxDoc } from './models';
import { outboundEntry } from './outbox';
import { queueMail } from './outgoing';
import { replyMarker, replySubject } from './threading';

/** A committee member's reply to the reporter or to a vendor contact, sent through the outbox. */

export interface ReplyInput {
  text: string;
  /** Defaults to the reporter. A vendor contact has a different address. */
  to?: { name?: string; address: string }[];
  cc?: { name?: string; address: string }[];
  subject?: string;
  /** The client's own id for this reply, so that a retried request sends it once. */
  idempotencyKey?: string;
}

export class ReplyError extends Error {
  constructor(
    readonly code: 'case-not-found' | 'no-recipient' | 'mail-off',
    message: string,
  ) {
    super(message);
  }
}

export async function sendReply(
  conversation: ConversationSettings | undefined,
  caseKey: string,
  input: ReplyInput,
  author: { id: string; name: string; email: string },
) {
  const found = await Case.findById(caseKey).lean<CaseDoc>();
  if (!found) throw new ReplyError('case-not-found', `There is no case ${caseKey}.`);
  if (!conversation?.canSend)
    throw new ReplyError(
      'mail-off',
      'Tocsin can not send mail: set SMTP_URL and MAIL_FROM, then restart it.',
    );
  const to = input.to?.length
    ? input.to.map((a) => ({ name: a.name ?? '', address: a.address.toLowerCase() }))
    : found.reporter?.address
      ? [{ name: found.reporter.name ?? '', address: found.reporter.address }]
      : [];
  if (!to.length) throw new ReplyError('no-recipient', `Case ${caseKey} has no reporter address; give "to".`);
  const cc = (input.cc ?? []).map((a) => ({ name: a.name ?? '', address: a.address.toLowerCase() }));

  const answering = await lastMessageFrom(caseKey, to[0]!.address, found.reporter?.address);
  const id = `reply:${input.idempotencyKey ? sha256(`${author.id}:${input.idempotencyKey}`).slice(0, 32) : randomUUID()}`;
  const marker = replyMarker(caseKey, conversation.identity.secret);
  await queueMail(conversation.identity, {
    id,
    kind: 'reply',
    caseKey,
    to,
    cc,
    subject: input.subject?.trim() || replySubject(caseKey, found.subject ?? ''),
    text: `${input.text.trimEnd()}\n\n-- \n${author.name}\n\n${marker}\n`,
    answering: answering && {
      messageId: answering.messageId,
      references: answering.references,
      threadIndex: answering.threadIndex,
    },
    automatic: false,
  });
  // A reply is the committee answering: it meets the response time and counts as an update.
  const now = new Date();
  await Case.updateOne(
    { _id: caseKey },
    clockOperators({ set: {}, min: { respondedAt: now }, max: { lastUpdateAt: now } }),
    { timestamps: false },
  );
  // Whoever the committee writes to takes part in the conversation from now on.
  await addParticipants(
    caseKey,
    [...to, ...cc].map((a) => a.address),
  );
  conversation.onQueued?.();
  const stored = (await Outbox.findById(id).lean<OutboxDoc>())!;
  return { id: stored.entryId, ...outboundEntry(stored) };
}

/**
 * The message a reply answers: the latest from that address; for the reporter, else the latest
 * inbound message. Someone who has not written yet (a vendor) gets a new thread, tied to the case
 * by its pseudo-reference only, so no one else's Message-ID reaches them.
 */
async function lastMessageFrom(caseKey: string, address: string, reporter: string | undefined) {
  const recent = await TimelineEntry.find({ caseKey, kind: 'email' })
    .sort({ at: -1 })
    .limit(200)
    .lean<TimelineDoc[]>();
  const inbound = recent.filter((e) => e.email?.direction === 'in' && e.email.messageId);
  const pick =
    inbound.find((e) => e.email!.from?.address === address) ??
    (address === reporter ? inbound[0] : undefined);
  return pick?.email;
}
