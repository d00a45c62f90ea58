import { getBlob } from '../db/blobs';
import type { Intake } from './ingest';
import { Quarantine, type QuarantineDoc } from './store';

export async function listQuarantine(state: 'open' | 'resolved' | 'all' = 'open') {
  const query = state === 'all' ? {} : { state };
  return Quarantine.find(query).sort({ createdAt: -1 }).lean<(QuarantineDoc & { _id: string })[]>();
}

export class QuarantineRetryError extends Error {}

/** Runs a quarantined message through intake again (after a fix, or a raised limit). */
export async function retryQuarantined(id: string, intake: Intake) {
  const item = await Quarantine.findById(id).lean<QuarantineDoc>();
  if (!item) throw new QuarantineRetryError(`No quarantined message has the id ${id}.`);
  if (item.state === 'resolved') return { id, caseKey: item.caseKey ?? undefined, already: true };
  if (!item.rawSha256) {
    throw new QuarantineRetryError(
      `${id} was too big to fetch, so only its headers were kept: raise IMAP_MAX_MESSAGE_BYTES and reset the mailbox cursor, or save the message from the mailbox and run tocsin ingest on it.`,
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
