import { isDuplicateKey } from '../db/connection';
import { Counter } from './models';

/** `PREFIX-YYYY-NNN`, numbered per prefix per year, never reused. */
export const formatCaseKey = (prefix: string, year: number, seq: number): string =>
  `${prefix}-${year}-${String(seq).padStart(3, '0')}`;

export const CASE_KEY = /\b([A-Z]{2,6})-(\d{4})-(\d{3,})\b/;

export async function nextCaseKey(prefix: string, at: Date): Promise<string> {
  const year = at.getUTCFullYear();
  const id = `${prefix}-${year}`;
  for (let attempt = 0; ; attempt++) {
    try {
      const counter = await Counter.findOneAndUpdate(
        { _id: id },
        { $inc: { seq: 1 } },
        { upsert: true, returnDocument: 'after' },
      );
      return formatCaseKey(prefix, year, counter!.seq);
    } catch (err) {
      // Two first-of-the-year upserts can race; the loser retries and increments.
      if (!isDuplicateKey(err) || attempt >= 3) throw err;
    }
  }
}
