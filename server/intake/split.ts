import { authorize } from '../auth/policy';
import type { UserDoc } from '../auth/users';
import { commitChange, settledCase } from '../cases/changes';
import { reserveCaseKey } from '../cases/keys';
import { Case, TimelineEntry, type CaseDoc, type TimelineDoc } from '../cases/models';
import { person } from '../cases/person';
import { CaseRefusal } from '../cases/refusal';
import { ensureCase, recordNotice } from '../cases/service';
import { suggest, type CompiledPlaybook } from '../cases/suggest';
import { queueAcknowledgement } from '../conversation/acknowledgement';
import { ThreadRef } from '../conversation/models';
import type { ConversationSettings } from '../conversation/settings';
import { getBlob } from '../db/blobs';
import { sha256 } from '../lib/hash';
import { DEFAULT_PARSE_LIMITS, parseMessage } from '../mail/parse';
import { ackAllowed, stormSeries } from './sender-limits';
import { Inbound } from './store';
import { reportOf } from './ingest';
import { uncountStormMessage } from './storms';

/**
 * Takes one received email out of a case into a case of its own (`POST /api/cases/:key/split`):
 * most often a real report caught in a sender's storm case. The new case behaves as if the
 * message had opened it: its own suggestion, clocks and page, an acknowledgement where one may
 * go, and replies to the message thread to it from then on. Each step is idempotent, keyed by
 * the entry, so a request repeated after a failure finishes the same split.
 */

export interface SplitDeps {
  playbook: CompiledPlaybook;
  conversation?: ConversationSettings;
}

export async function splitEntry(
  key: string,
  version: number,
  entryId: string,
  user: UserDoc,
  deps: SplitDeps,
): Promise<{ from: CaseDoc; to: CaseDoc }> {
  const entry = await TimelineEntry.findById(entryId).lean<TimelineDoc>();
  const source = `split:${entryId}`;
  const email = entry?.email;
  // Already taken out of this case by an earlier run of this split: finish it.
  const earlier = entry && entry.caseKey !== key ? await Case.findOne({ source }).lean<CaseDoc>() : undefined;
  if (!entry || !email || (entry.caseKey !== key && earlier?.links?.[0]?.key !== key))
    throw new CaseRefusal('not-found', 'no-such-entry', `Case ${key} has no entry ${entryId}.`);
  if (email.direction !== 'in' || !email.ingestKey)
    throw new CaseRefusal(
      'invalid',
      'not-received-mail',
      'Only a received email can be split into a case of its own.',
    );

  const raw = await getBlob(email.rawSha256 ?? '');
  if (!raw) throw new Error(`the raw message of ${entryId} is missing from the blob store`);
  const parsed = await parseMessage(raw, DEFAULT_PARSE_LIMITS);
  const suggestion = suggest(reportOf(parsed), deps.playbook);
  const newKey = await reserveCaseKey(suggestion.type, entry.at, source);

  let from: CaseDoc;
  if (earlier) {
    from = (await settledCase(key))!;
  } else {
    from = await commitChange(key, version, (doc) => {
      authorize(user, 'case:work', doc);
      // A storm case is only a holder: even its first message can go; another case's first cannot.
      if (doc.source === email.ingestKey && !doc.storm)
        throw new CaseRefusal(
          'invalid',
          'opening-entry',
          'The message that opened this case cannot be split out of it.',
        );
      return {
        set: {},
        entry: {
          kind: 'notice',
          by: person(user),
          notice: {
            code: 'split',
            message: `${user.name || user.email} took the message from ${email.from?.address || 'an unknown sender'} ("${(email.subject ?? '').slice(0, 200)}") out into ${newKey}.`,
          },
        },
      };
    });
  }

  const sender = email.from?.address?.toLowerCase();
  await ensureCase(
    {
      key: newKey,
      suggestion,
      subject: email.subject ?? '',
      reporter: email.from?.address
        ? { name: email.from.name ?? '', address: email.from.address }
        : { name: '', address: '' },
      senderVerdict: (email.verdict?.verdict as 'pass' | 'fail' | 'none' | undefined) ?? 'none',
      firstSeenAt: entry.at,
      source,
      participants: sender ? [sender] : [],
      links: [{ key, relation: 'split-from' }],
    },
    deps.playbook.playbook,
  );
  await TimelineEntry.updateOne({ _id: entryId, caseKey: key }, { $set: { caseKey: newKey } });
  await Promise.all([
    parsed.messageId
      ? ThreadRef.updateOne({ _id: sha256(parsed.messageId), caseKey: key }, { $set: { caseKey: newKey } })
      : undefined,
    Inbound.updateOne({ _id: email.ingestKey }, { $set: { caseKey: newKey } }),
    from.storm
      ? uncountStormMessage(
          stormSeries(from.storm.sender!, new Date(from.storm.hour!)).series,
          email.ingestKey,
          key,
        )
      : undefined,
    recordNotice(
      `notice:split-from:${entryId}`,
      newKey,
      'split-from',
      `${user.name || user.email} took this message out of ${key} into a case of its own; it is worked as a new report.`,
    ),
  ]);
  const conversation = deps.conversation;
  if (conversation?.canSend && sender && email.classification?.kind === 'human') {
    if (
      sender !== conversation.identity.from.address.toLowerCase() &&
      (await ackAllowed(sender, new Date(), source))
    )
      await queueAcknowledgement(conversation, deps.playbook.playbook, email.ingestKey, newKey, parsed);
  }
  return { from: (await settledCase(key)) ?? from, to: (await settledCase(newKey))! };
}
