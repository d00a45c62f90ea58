import { splitRaw } from './raw';
import { sha256 } from '../lib/hash';

/**
 * Two deliveries of one message share an ingest key: its Message-ID plus a hash of its body (the
 * header block differs when a server adds Received or Delivered-To). A message without a
 * Message-ID is known by the hash of all its bytes.
 */
export function ingestKey(messageId: string | undefined, raw: Buffer): string {
  const id = messageId?.trim();
  if (!id) return `raw:${sha256(raw)}`;
  return `mid:${sha256(`${id}\n${sha256(splitRaw(raw).body)}`)}`;
}
