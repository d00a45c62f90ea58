import { getBlob, putBlob } from '../db/blobs';
import { headerFields, splitRaw } from '../mail/raw';
import { Quarantine, type IngestResult, type IngestSource, type QuarantineDoc } from './store';
import { cleanText } from '../lib/text';

/** Keeps a message byte for byte with the reason it is held; returns its id. Idempotent. */
export async function holdRaw(raw: Buffer, reason: string, source: IngestSource, attempts: number) {
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
  return id;
}

/** Keeps the headers of a message too big to fetch, with the reason. Idempotent. */
export async function holdOversize(head: Buffer, size: number, limit: number, source: IngestSource) {
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
  return { id, reason };
}

const cleanHeaders = (headers: { name: string; value: string }[]) =>
  headers.map((h) => ({ name: cleanText(h.name, 200), value: cleanText(h.value, 4000) }));

export async function listQuarantine(state: 'open' | 'resolved' | 'all' = 'open') {
  const query = state === 'all' ? {} : { state };
  return Quarantine.find(query).sort({ createdAt: -1 }).lean<(QuarantineDoc & { _id: string })[]>();
}

export class QuarantineRetryError extends Error {}

/** Runs a quarantined message through intake again (after a fix, or a raised limit). */
export async function retryQuarantined(
  id: string,
  intake: { ingest(raw: Buffer, source: IngestSource): Promise<IngestResult> },
) {
  const item = await Quarantine.findById(id).lean<QuarantineDoc>();
  if (!item) throw new QuarantineRetryError(`No quarantined message has the id ${id}.`);
  if (item.state === 'resolved') return { id, caseKey: item.caseKey ?? undefined, already: true };
  if (!item.rawSha256) {
    throw new QuarantineRetryError(
      `${id} was too big to fetch, so only its headers were kept: raise IMAP_MAX_MESSAGE_BYTES, then save the message from the mailbox and run tocsin ingest on it.`,
    );
  }
  const raw = await getBlob(item.rawSha256);
  if (!raw) throw new QuarantineRetryError(`The raw bytes of ${id} are missing from the blob store.`);
  const result = await intake.ingest(raw, { kind: 'quarantine', file: id });
  if (result.outcome === 'quarantined') throw new QuarantineRetryError(result.reason);
  await Quarantine.updateOne(
    { _id: id },
    { $set: { state: 'resolved', caseKey: result.caseKey, resolvedAt: new Date() } },
  );
  return { id, caseKey: result.caseKey, already: false };
}
