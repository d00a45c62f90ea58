import {
  addParticipants,
  ensureCase,
  recordNotice,
  recordTimelineEntry,
  type NewTimelineEntry,
} from '../cases/service';
import { reserveCaseKey } from '../cases/keys';
import { Case } from '../cases/models';
import { suggest, type CompiledPlaybook, type Report, type Suggestion } from '../cases/suggest';
import { queueAcknowledgement } from '../conversation/acknowledgement';
import { setDelivery } from '../conversation/outbox';
import type { ConversationSettings } from '../conversation/settings';
import { claimThreadRef } from '../conversation/thread-refs';
import { putBlob } from '../db/blobs';
import { isDuplicateKey, isTransientDbError } from '../db/connection';
import { sha256 } from '../lib/hash';
import type { Logger } from '../lib/logger';
import { classifyMessage } from '../mail/classify';
import { forwardedMessages } from '../mail/forwarded';
import { extractIndicators } from '../mail/indicators';
import { ingestKey } from '../mail/ingest-key';
import { DEFAULT_PARSE_LIMITS, parseMessage, type ParseLimits, type ParsedMessage } from '../mail/parse';
import { senderVerdict, type SenderVerdict, type Verdict } from '../mail/verdict';
import { claimIndicators, decideDisposition, type Disposition } from './disposition';
import { holdOversize, holdRaw } from './quarantine';
import { alertSourceFor, type AlertSource } from './alerts';
import { countStormMessage, stormSubject } from './storms';
import { Inbound, MessageIdSeen, type IngestResult, type IngestSource, type InboundRecord } from './store';

/**
 * Where an email becomes a case. Every step is idempotent and keyed by the message's ingest key,
 * so a crash at any point (even kill -9 between two writes) is finished by running it again:
 *   1. the raw bytes and attachments are stored by SHA-256;
 *   2. one `inbound` record per ingest key claims the message;
 *   3. a case key is reserved for the message (unique per key and per message), then the case
 *      and its first timeline entry are written, each once;
 *   4. the record is marked done.
 */

export const MESSAGE_ATTEMPTS = 3;

export interface IntakeDeps {
  playbook: CompiledPlaybook;
  log: Logger;
  limits?: ParseLimits;
  conversation?: ConversationSettings;
  /** Monitoring systems whose mail opens cases (ALERT_SENDERS, the playbook's alertSources). */
  alertSources?: AlertSource[];
}

export class Intake {
  constructor(private readonly deps: IntakeDeps) {}

  /**
   * Ingests one message, retrying a failure that belongs to the message itself; after
   * MESSAGE_ATTEMPTS such failures the message is quarantined with its bytes and the reason.
   * A database outage is not the message's fault: it is thrown for the caller to retry later.
   */
  async ingestOrQuarantine(raw: Buffer, source: IngestSource): Promise<IngestResult> {
    let last: unknown;
    for (let attempt = 1; attempt <= MESSAGE_ATTEMPTS; attempt++) {
      try {
        return await this.ingest(raw, source);
      } catch (err) {
        if (isTransientDbError(err)) throw err;
        last = err;
        this.deps.log.warn({ err, attempt, source }, 'ingest failed');
      }
    }
    const reason = `ingest failed ${MESSAGE_ATTEMPTS} times: ${(last as Error)?.message ?? String(last)}`;
    return this.quarantine(raw, reason, source, MESSAGE_ATTEMPTS);
  }

  async ingest(raw: Buffer, source: IngestSource): Promise<IngestResult> {
    const parsed = await parseMessage(raw, this.deps.limits ?? DEFAULT_PARSE_LIMITS);
    const key = ingestKey(parsed.messageId, raw);

    const existing = await Inbound.findById(key).lean<InboundRecord>();
    if (existing?.state === 'done') {
      // Machine mail that matched no case is done too, held in quarantine: it stays there.
      if (existing.route?.action === 'quarantine')
        return {
          outcome: 'quarantined',
          quarantineId: `raw:${existing.rawSha256}`,
          reason: existing.route.reason ?? '',
        };
      return { outcome: 'duplicate', ingestKey: key, caseKey: existing.caseKey ?? undefined };
    }
    const inbound = existing ?? (await this.claim(key, raw, parsed, source));

    const conversation = this.deps.conversation;
    const [verdict, forwarded] = await Promise.all([
      conversation
        ? senderVerdict(raw, parsed.headers, parsed.from?.address, conversation.verdict)
        : Promise.resolve(NO_VERDICT),
      forwardedMessages(parsed, this.deps.limits ?? DEFAULT_PARSE_LIMITS),
    ]);
    const indicators = extractIndicators(forwarded);
    const classification = classifyMessage(parsed);
    const alertSource = alertSourceFor(parsed.from?.address, this.deps.alertSources ?? []);
    const suggestion = this.suggestionFor(parsed, alertSource);
    const disposition =
      existing?.route ??
      (await this.keepDisposition(
        key,
        await decideDisposition({
          parsed,
          raw,
          ingestKey: key,
          receivedAt: inbound.receivedAt,
          classification,
          verdict,
          indicators,
          prefixes: Object.keys(this.deps.playbook.playbook.types),
          identity: conversation?.identity,
          canSend: Boolean(conversation?.canSend),
          history: source.history,
          suggestion,
          urgent: Boolean(this.deps.playbook.playbook.severities[suggestion.severity]?.urgent),
          alertSource,
        }),
      ));

    if (disposition.action === 'quarantine') {
      // Machine mail that matches no case: kept for a look, which is the routine, not an error.
      const reason = disposition.reason ?? 'no case matched';
      const quarantineId = await holdRaw(raw, reason, source, 0);
      await Inbound.updateOne({ _id: key }, { $set: { state: 'done' } });
      this.deps.log.info({ quarantineId, ingestKey: key, reason }, 'machine mail held in quarantine');
      return { outcome: 'quarantined', quarantineId, reason };
    }

    const flags = inbound.flags ?? [];
    const entry = (caseKey: string): NewTimelineEntry => ({
      _id: `email:${key}`,
      caseKey,
      kind: 'email',
      at: inbound.receivedAt,
      email: {
        direction: 'in',
        messageId: parsed.messageId,
        from: parsed.from,
        to: parsed.to,
        cc: parsed.cc,
        replyTo: parsed.replyTo,
        date: parsed.date,
        subject: parsed.subject,
        text: parsed.text,
        html: parsed.html,
        inReplyTo: parsed.inReplyTo,
        references: parsed.references.slice(-50),
        threadIndex: headerValue(parsed.headers, 'thread-index')?.slice(0, 500),
        attachments: parsed.attachments.map(({ filename, contentType, size, sha256 }) => ({
          filename,
          contentType,
          size,
          sha256,
        })),
        rawSha256: inbound.rawSha256,
        ingestKey: key,
        flags,
        classification,
        verdict: { verdict: verdict.verdict, reasons: verdict.reasons },
        thread: {
          by: disposition.by ?? 'new',
          trusted: Boolean(disposition.trusted),
          note: disposition.followUpOf ? `possible follow-up of ${disposition.followUpOf}` : undefined,
        },
        indicators,
        bounceOf: disposition.bounceOf ? `email:out:${disposition.bounceOf}` : undefined,
      },
    });

    const opened =
      disposition.action === 'open'
        ? await this.open(key, parsed, inbound, disposition, entry, !existing, verdict.verdict, suggestion)
        : undefined;
    const caseKey = opened?.caseKey ?? disposition.caseKey!;
    if (disposition.action === 'append') await this.append(caseKey, parsed, disposition, entry(caseKey));
    await Promise.all([
      claimThreadRef(parsed.messageId, caseKey, 'in'),
      indicators.length && (opened?.type ?? (await caseType(caseKey))) === PHISHING_TYPE
        ? claimIndicators(indicators, caseKey)
        : undefined,
      disposition.series?.startsWith('storm:')
        ? countStormMessage(disposition.series, key, caseKey)
        : undefined,
    ]);
    if (disposition.ack && conversation)
      await queueAcknowledgement(conversation, this.deps.playbook.playbook, key, caseKey, parsed);
    await Inbound.updateOne({ _id: key }, { $set: { state: 'done', caseKey } });

    if (disposition.action === 'open') {
      this.deps.log.info({ caseKey, ingestKey: key, flags, ack: disposition.ack }, 'case opened from email');
      return { outcome: 'created', ingestKey: key, caseKey, flags };
    }
    this.deps.log.info({ caseKey, ingestKey: key, by: disposition.by }, 'email added to case');
    return { outcome: 'appended', ingestKey: key, caseKey, flags, by: disposition.by ?? '' };
  }

  /** Opens the case (once: the key is reserved per message), with its first entry. */
  private async open(
    key: string,
    parsed: ParsedMessage,
    inbound: InboundRecord,
    disposition: Disposition,
    entry: (caseKey: string) => NewTimelineEntry,
    fresh: boolean,
    verdictOfSender: Verdict,
    suggestion: Suggestion,
  ): Promise<{ caseKey: string; type: string }> {
    const caseKey = await reserveCaseKey(suggestion.type, inbound.receivedAt, key, { fresh });
    const sender = parsed.from?.address;
    await Promise.all([
      ensureCase(
        {
          key: caseKey,
          suggestion,
          subject: disposition.storm ? stormSubject(disposition.storm) : parsed.subject,
          reporter: parsed.from ?? { name: '', address: '' },
          senderVerdict: verdictOfSender,
          firstSeenAt: inbound.receivedAt,
          source: key,
          participants: sender ? [sender] : [],
          links: disposition.followUpOf
            ? [{ key: disposition.followUpOf, relation: 'possible-follow-up-of' }]
            : [],
          history: disposition.history,
          storm: disposition.storm,
          alert: disposition.alert,
        },
        this.deps.playbook.playbook,
      ),
      // The case and its first entry are independent idempotent writes: they go out together,
      // and the message is marked done only when both are durable.
      recordTimelineEntry(entry(caseKey), { opening: true }),
      disposition.followUpOf
        ? recordNotice(
            `notice:follow-up:${key}`,
            disposition.followUpOf,
            'possible-follow-up',
            `${sender || 'Someone'} quoted this case's key, but is not part of this conversation and is not a verified sender. Their message opened ${caseKey}, linked as a possible follow-up; it was not added here.`,
          )
        : undefined,
      disposition.notice ? this.notice(caseKey, sender, disposition.notice) : undefined,
    ]);
    return { caseKey, type: suggestion.type };
  }

  private async append(
    caseKey: string,
    parsed: ParsedMessage,
    disposition: Disposition,
    entry: NewTimelineEntry,
  ) {
    const sender = parsed.from?.address;
    await Promise.all([
      recordTimelineEntry(entry),
      disposition.bounceOf
        ? setDelivery({ _id: disposition.bounceOf, entryId: `email:out:${disposition.bounceOf}` }, 'failed', {
            lastError: `bounced (${entry._id}): ${parsed.subject}`.slice(0, 500),
          })
        : undefined,
      disposition.notice ? this.notice(caseKey, sender, disposition.notice) : undefined,
    ]);
    // After the entry's own write to the case (its updatedAt), not beside it: FerretDB applies an
    // update as a read and a write, so two at once on one case can lose the participant.
    if ((disposition.trusted || disposition.by === 'related-report') && sender)
      await addParticipants(caseKey, [sender]);
  }

  /** Once per case and sender, or per what the notice names (`once`). */
  private notice(caseKey: string, sender: string | undefined, n: NonNullable<Disposition['notice']>) {
    return recordNotice(`notice:${n.code}:${caseKey}:${n.once ?? sender ?? ''}`, caseKey, n.code, n.message);
  }

  /** The playbook's suggestion; an alert source's own type and severity, where it gives them, win. */
  private suggestionFor(parsed: ParsedMessage, alertSource: AlertSource | undefined): Suggestion {
    const suggestion = suggest(reportOf(parsed), this.deps.playbook);
    if (!alertSource?.type && !alertSource?.severity) return suggestion;
    const type = alertSource.type ?? suggestion.type;
    const severity = (alertSource.severity ??
      this.deps.playbook.playbook.types[type]?.defaultSeverity ??
      suggestion.severity) as Suggestion['severity'];
    return {
      type,
      severity,
      reasons: [`alert source ${alertSource.sender}: ${type} ${severity}`, ...suggestion.reasons],
    };
  }

  /** Keeps the disposition, so that a re-run after a crash carries out the same one. */
  private async keepDisposition(key: string, disposition: Disposition): Promise<Disposition> {
    await Inbound.updateOne({ _id: key }, { $set: { route: disposition } });
    return disposition;
  }

  /** Stores the evidence, then the record that claims the message. */
  private async claim(key: string, raw: Buffer, parsed: ParsedMessage, source: IngestSource) {
    const [rawSha256, firstKey] = await Promise.all([
      putBlob(raw),
      parsed.messageId ? firstWithMessageId(parsed.messageId, key) : key,
      ...parsed.attachments.map((a) => putBlob(a.content, a.sha256)),
    ]);
    const flags: string[] = [];
    // Same Message-ID, different content: kept as its own message, and flagged for a human.
    if (firstKey !== key) flags.push('message-id-reused');
    if (parsed.limited) flags.push('body-not-parsed');
    const doc = {
      _id: key,
      messageId: parsed.messageId,
      rawSha256,
      size: raw.length,
      headers: parsed.headers,
      receivedAt: source.receivedAt ?? new Date(),
      source,
      flags,
      state: 'pending' as const,
    };
    try {
      await Inbound.create(doc);
      return doc;
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      return (await Inbound.findById(key).lean<InboundRecord>())!;
    }
  }

  /** Keeps a message we could not ingest, byte for byte, with the reason. Idempotent. */
  async quarantine(
    raw: Buffer,
    reason: string,
    source: IngestSource,
    attempts: number,
  ): Promise<IngestResult> {
    const id = await holdRaw(raw, reason, source, attempts);
    this.deps.log.error({ quarantineId: id, reason, source }, 'message quarantined');
    return { outcome: 'quarantined', quarantineId: id, reason };
  }

  /** A message too big to fetch: its headers and the reason are kept, so nothing is dropped silently. */
  async quarantineOversize(
    head: Buffer,
    size: number,
    limit: number,
    source: IngestSource,
  ): Promise<IngestResult> {
    const { id, reason } = await holdOversize(head, size, limit, source);
    this.deps.log.error({ quarantineId: id, size, source }, 'oversize message quarantined');
    return { outcome: 'quarantined', quarantineId: id, reason };
  }
}

/**
 * Reports of the same phishing (a shared URL, attachment or inner Message-ID) join the first
 * case of this type that recorded it; other cases' forwards never link.
 */
const PHISHING_TYPE = 'PHI';

const caseType = async (key: string) =>
  (await Case.findById(key).select({ type: 1 }).lean<{ type: string }>())?.type;

/** What the playbook's suggestion reads of a message (also when a message is split out). */
export const reportOf = (parsed: ParsedMessage): Report => ({
  subject: parsed.subject,
  text: parsed.text,
  headers: parsed.headers,
  attachmentTypes: [...new Set([...parsed.partTypes, ...parsed.attachments.map((a) => a.contentType)])],
});

const NO_VERDICT: SenderVerdict = { verdict: 'none', fromDomain: '', reasons: ['sender not checked'] };

const headerValue = (headers: { name: string; value: string }[], name: string) =>
  headers.find((h) => h.name.toLowerCase() === name)?.value;

/** The ingest key of the first message seen with this Message-ID (registering `key` if none). */
async function firstWithMessageId(messageId: string, key: string): Promise<string> {
  const id = sha256(messageId);
  try {
    await MessageIdSeen.create({ _id: id, ingestKey: key });
    return key;
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
    return (await MessageIdSeen.findById(id).lean())!.ingestKey;
  }
}
