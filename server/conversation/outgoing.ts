import { LOOP_HEADER } from '../mail/classify';
import {
  extendThreadIndex,
  headerSafe,
  newThreadIndex,
  threadTopic,
  trimReferences,
} from '../mail/outgoing-headers';
import { caseReference, newMessageId } from '../mail/message-ids';
import type { MailIdentity } from './identity';
import { enqueueMail } from './outbox';
import type { OutboxDoc } from './models';

/**
 * Mail the desk writes: acknowledgements and the committee's replies. Each carries our own
 * Message-ID (kept, so that answers thread), In-Reply-To and References to the message it
 * answers, Outlook's Thread-Index extended rather than copied, and our loop header. Every header
 * value built from case data goes through headerSafe(), so no CR or LF can reach the wire.
 */

export interface Answering {
  messageId?: string;
  references?: string[];
  threadIndex?: string;
}

export interface OutgoingMail {
  id: string;
  kind: OutboxDoc['kind'];
  caseKey: string;
  to: { name: string; address: string }[];
  cc?: { name: string; address: string }[];
  subject: string;
  text: string;
  html?: string;
  answering?: Answering;
  /** An automatic message (an acknowledgement): says so, and asks robots not to answer it. */
  automatic: boolean;
}

export function threadingHeaders(
  identity: MailIdentity,
  caseKey: string,
  subject: string,
  answering: Answering = {},
  now = new Date(),
): { name: string; value: string }[] {
  const headers: { name: string; value: string }[] = [];
  const chain = [...(answering.references ?? []), ...(answering.messageId ? [answering.messageId] : [])];
  if (answering.messageId) headers.push({ name: 'In-Reply-To', value: answering.messageId });
  const references = trimReferences(chain, caseReference(identity.domain, caseKey));
  if (references.length) headers.push({ name: 'References', value: references.join(' ') });
  const index =
    (answering.threadIndex && extendThreadIndex(answering.threadIndex, now)) || newThreadIndex(now);
  headers.push({ name: 'Thread-Index', value: index });
  headers.push({ name: 'Thread-Topic', value: threadTopic(subject) });
  headers.push({ name: LOOP_HEADER, value: caseKey });
  return headers.map((h) => ({ name: h.name, value: headerSafe(h.value) }));
}

/** Queues a message to send. Safe to call again with the same id: the first one stands. */
export async function queueMail(identity: MailIdentity, mail: OutgoingMail): Promise<boolean> {
  const subject = headerSafe(mail.subject);
  const headers = threadingHeaders(identity, mail.caseKey, subject, mail.answering);
  if (mail.automatic) {
    headers.push({ name: 'Auto-Submitted', value: 'auto-replied' });
    // Exchange and Outlook: no out-of-office or other automatic answer to this message.
    headers.push({ name: 'X-Auto-Response-Suppress', value: 'All' });
  }
  const safeAddress = (a: { name: string; address: string }) => ({
    name: headerSafe(a.name, 200),
    address: headerSafe(a.address, 320),
  });
  return enqueueMail({
    _id: mail.id,
    kind: mail.kind,
    caseKey: mail.caseKey,
    entryId: `email:out:${mail.id}`,
    messageId: newMessageId(identity.domain, mail.caseKey),
    from: safeAddress(identity.from),
    to: mail.to.map(safeAddress),
    cc: (mail.cc ?? []).map(safeAddress),
    subject,
    text: mail.text,
    html: mail.html,
    headers,
  });
}
