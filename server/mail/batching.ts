import { splitRaw } from './raw';

/** Splits UIDs listed with their RFC822.SIZE into fetch batches bounded in count and bytes. */
export function* sizeBatches<T extends { size?: number }>(
  list: T[],
  limits: { maxCount: number; maxBytes: number; cap: number },
): Generator<T[]> {
  let batch: T[] = [];
  let bytes = 0;
  for (const item of list) {
    // A message over the cap is not fetched whole, so it weighs nothing here.
    const size = (item.size ?? 0) > limits.cap ? 0 : (item.size ?? 0);
    if (batch.length >= limits.maxCount || (batch.length > 0 && bytes + size > limits.maxBytes)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(item);
    bytes += size;
  }
  if (batch.length > 0) yield batch;
}

/** A reply or a forward: it may join the case of a message read just before it. */
export function mayFollowUp(raw: Buffer): boolean {
  const head = splitRaw(raw).head.subarray(0, 65_536).toString('latin1');
  return (
    /^(?:in-reply-to|references):/im.test(head) ||
    /^subject:[ \t]*(?:re|aw|sv|fwd?|fw|wg|tr|rv)\s*:/im.test(head) ||
    /message\/rfc822/i.test(raw.subarray(0, 1024 * 1024).toString('latin1'))
  );
}

/**
 * The address in a message's From header, lower-cased, read cheaply from the raw head: messages
 * of one sender are ingested in order (an alert before its recovery, a storm in arrival order).
 */
export function senderKey(raw: Buffer): string | undefined {
  const head = splitRaw(raw).head.subarray(0, 65_536).toString('latin1');
  const from = /^from:((?:.*)(?:\r?\n[ \t].*)*)/im.exec(head)?.[1];
  if (!from) return undefined;
  const address =
    /<([^<>\s]+@[^<>\s]+)>/.exec(from)?.[1] ?? /([^\s<>"(),;:]+@[^\s<>"(),;:]+)/.exec(from)?.[1];
  return address?.toLowerCase();
}
