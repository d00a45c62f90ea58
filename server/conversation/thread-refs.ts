import { isDuplicateKey } from '../db/connection';
import { sha256 } from '../lib/hash';
import { ThreadRef } from './models';

/**
 * Ties a Message-ID to its case, first come first served: a later message reusing the id can not
 * move it. Replies naming the id in In-Reply-To or References then thread to the case.
 */
export async function claimThreadRef(
  messageId: string | undefined,
  caseKey: string,
  direction: 'in' | 'out',
  outboxId?: string,
): Promise<void> {
  if (!messageId) return;
  try {
    await ThreadRef.create({ _id: sha256(messageId), messageId, caseKey, direction, outboxId });
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
  }
}
