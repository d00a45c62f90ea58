import mongoose, { Schema } from 'mongoose';
import { isDuplicateKey } from '../db/connection';
import { Counter } from './models';

/** `PREFIX-YYYY-NNN`, numbered per prefix per year, never reused. */
export const formatCaseKey = (prefix: string, year: number, seq: number): string =>
  `${prefix}-${year}-${String(seq).padStart(3, '0')}`;

/**
 * Each key handed out is a document whose _id is the key, tied to the source it was handed to.
 * Unique indexes on both make the allocation exactly-once on any MongoDB-compatible server:
 * FerretDB does not make a findOneAndUpdate $inc atomic under concurrency, but it does enforce
 * unique indexes. The counter is only a hint of where to start looking.
 */
const CaseKey = mongoose.model(
  'CaseKey',
  new Schema(
    {
      _id: String,
      source: { type: String, required: true, unique: true },
      at: { type: Date, default: () => new Date() },
    },
    { versionKey: false },
  ),
  'case_keys',
);

const MAX_PROBES = 10_000;

/** The last number this process handed out per counter: saves a read per key. */
const lastHandedOut = new Map<string, number>();

/** The case key for `source`, handed out once: the same source always gets the same key. */
export async function reserveCaseKey(prefix: string, at: Date, source: string): Promise<string> {
  const held = await CaseKey.findOne({ source }).lean();
  if (held) return String(held._id);
  const year = at.getUTCFullYear();
  const counterId = `${prefix}-${year}`;
  let seq = (lastHandedOut.get(counterId) ?? (await Counter.findById(counterId).lean())?.seq ?? 0) + 1;
  for (let probes = 0; probes < MAX_PROBES; probes++, seq++) {
    const key = formatCaseKey(prefix, year, seq);
    try {
      await CaseKey.create({ _id: key, source });
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      const mine = await CaseKey.findOne({ source }).lean();
      if (mine) return String(mine._id); // a concurrent run for the same source won
      continue; // the number is taken: try the next one
    }
    lastHandedOut.set(counterId, Math.max(seq, lastHandedOut.get(counterId) ?? 0));
    await Counter.updateOne({ _id: counterId }, { $max: { seq } }, { upsert: true }).catch((err: unknown) => {
      if (!isDuplicateKey(err)) throw err;
    });
    return key;
  }
  throw new Error(`no free case key for ${counterId} after ${MAX_PROBES} tries`);
}
