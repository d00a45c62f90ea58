import { Case, type CaseDoc } from '../cases/models';
import type { Playbook, SeverityId } from '../cases/playbook';
import type { ConversationSettings } from './settings';
import type { ParsedMessage } from '../mail/parse';
import { acknowledgement, missingFromReport } from './acknowledgement-text';
import { queueMail } from './outgoing';
import { replyMarker } from './threading';
import { stripSubjectPrefixes } from '../mail/subject';

/**
 * Queues the acknowledgement of a new report (once per message: its outbox id is the message's
 * ingest key), asking for the required information of the case's type that the report lacks.
 */
export async function queueAcknowledgement(
  conversation: ConversationSettings,
  playbook: Playbook,
  ingestKey: string,
  caseKey: string,
  parsed: ParsedMessage,
): Promise<void> {
  const reporter = parsed.from;
  const found = await Case.findById(caseKey).lean<CaseDoc>();
  if (!reporter || !found) return;
  const type = playbook.types[found.type];
  const missing = type
    ? missingFromReport(type, {
        subject: parsed.subject,
        text: parsed.text,
        attachmentCount: parsed.attachments.length,
      })
    : [];
  const content = acknowledgement({
    caseKey,
    typeName: type?.name ?? found.type,
    reporterName: reporter.name,
    subject: stripSubjectPrefixes(found.subject) || parsed.subject,
    missing,
    urgent: Boolean(playbook.severities[found.severity as SeverityId]?.urgent),
    replyMarker: replyMarker(caseKey, conversation.identity.secret),
  });
  await queueMail(conversation.identity, {
    id: `ack:${ingestKey}`,
    kind: 'ack',
    caseKey,
    to: [reporter],
    subject: content.subject,
    text: content.text,
    html: content.html,
    answering: {
      messageId: parsed.messageId,
      references: parsed.references,
      threadIndex: parsed.headers.find((h) => h.name.toLowerCase() === 'thread-index')?.value,
    },
    automatic: true,
  });
  conversation.onQueued?.();
}
