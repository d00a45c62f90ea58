import { isDuplicateKey, isTransientDbError } from '../db/connection';
import { putBlob } from '../db/blobs';
import { reserveCaseKey } from '../cases/keys';
import { ensureCase, recordTimelineEntry } from '../cases/service';
import { suggest, type CompiledPlaybook } from '../cases/suggest';
import type { Logger } from '../logger';
import { classifyMessage } from './classify';
import { ingestKey } from './ingest-key';
import { DEFAULT_PARSE_LIMITS, parseMessage, type ParseLimits, type ParsedMessage } from './parse';
import { headerFields, sha256, splitRaw } from './raw';
import { cleanText } from './text';
import { Inbound, MessageIdSeen, Quarantine, type InboundRecord } from './store';

/**
 * Where an email becomes a case. Every step is idempotent and keyed by the message's ingest key,
 * so a crash at any point (even kill -9 between two writes) is finished by running it again:
 *   1. the raw bytes and attachments are stored by SHA-256;
 *   2. one `inbound` record per ingest key claims the message;
 *   3. a case key is reserved for the message (unique per key and per message), then the case
 *      and its first timeline entry are written, each once;
 *   4. the record is marked done.
 */

export interface IngestSource {
  kind: 'imap' | 'file' | 'quarantine';
  /** When the mailbox received the message (IMAP INTERNALDATE); the case's first-seen time. */
  receivedAt?: Date;
  mailbox?: string;
  uidValidity?: string;
  uid?: number;
  file?: string;
}

export type IngestResult =
  | { outcome: 'created'; ingestKey: string; caseKey: string; flags: string[] }
  | { outcome: 'duplicate'; ingestKey: string; caseKey: string }
  | { outcome: 'quarantined'; quarantineId: string; reason: string };

export const MESSAGE_ATTEMPTS = 3;

export class Intake {
  constructor(private readonly deps: { playbook: CompiledPlaybook; log: Logger; limits?: ParseLimits }) {}

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
    if (existing?.state === 'done')
      return { outcome: 'duplicate', ingestKey: key, caseKey: existing.caseKey! };
    const inbound = existing ?? (await this.claim(key, raw, parsed, source));

    const suggestion = suggest(
      {
        subject: parsed.subject,
        text: parsed.text,
        headers: parsed.headers,
        attachmentTypes: [...new Set([...parsed.partTypes, ...parsed.attachments.map((a) => a.contentType)])],
      },
      this.deps.playbook,
    );
    // A message claimed just now can not own a key yet, unless another instance raced us to it
    // (then the unique key owner settles it); a resumed one may.
    const caseKey = await reserveCaseKey(suggestion.type, inbound.receivedAt, key, { fresh: !existing });

    const flags = inbound.flags ?? [];
    const caseWritten = ensureCase(
      {
        key: caseKey,
        suggestion,
        subject: parsed.subject,
        reporter: parsed.from ?? { name: '', address: '' },
        firstSeenAt: inbound.receivedAt,
        source: key,
      },
      this.deps.playbook.playbook,
    );
    // The case and its first entry are independent idempotent writes: they go out together, and
    // the message is marked done only when both are durable.
    const entryWritten = recordTimelineEntry(
      {
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
          date: parsed.date,
          subject: parsed.subject,
          text: parsed.text,
          attachments: parsed.attachments.map(({ filename, contentType, size, sha256 }) => ({
            filename,
            contentType,
            size,
            sha256,
          })),
          rawSha256: inbound.rawSha256,
          ingestKey: key,
          flags,
          classification: classifyMessage(parsed),
        },
      },
      { opening: true },
    );
    await Promise.all([caseWritten, entryWritten]);
    await Inbound.updateOne({ _id: key }, { $set: { state: 'done', caseKey } });
    this.deps.log.info({ caseKey, ingestKey: key, type: suggestion.type, flags }, 'case opened from email');
    return { outcome: 'created', ingestKey: key, caseKey, flags };
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
    const rawSha256 = await putBlob(raw);
    const id = `raw:${rawSha256}`;
    await Quarantine.updateOne(
      { _id: id },
      {
        $setOnInsert: {
          reason: cleanText(reason, 2000),
          rawSha256,
          size: raw.length,
          headers: cleanHeaders(headerFields(splitRaw(raw).head)),
          source,
          attempts,
          state: 'open',
          createdAt: new Date(),
        },
      },
      { upsert: true },
    );
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
    const id = `imap:${source.mailbox}:${source.uidValidity}:${source.uid}`;
    const reason = `message is ${size} bytes, over the limit of ${limit} bytes (IMAP_MAX_MESSAGE_BYTES); its headers are kept, the body stays in the mailbox`;
    await Quarantine.updateOne(
      { _id: id },
      {
        $setOnInsert: {
          reason,
          size,
          headers: cleanHeaders(headerFields(head)),
          source,
          attempts: 0,
          state: 'open',
          createdAt: new Date(),
        },
      },
      { upsert: true },
    );
    this.deps.log.error({ quarantineId: id, size, source }, 'oversize message quarantined');
    return { outcome: 'quarantined', quarantineId: id, reason };
  }
}

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

const cleanHeaders = (headers: { name: string; value: string }[]) =>
  headers.map((h) => ({ name: cleanText(h.name, 200), value: cleanText(h.value, 4000) }));
