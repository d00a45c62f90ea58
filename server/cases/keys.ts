import mongoose, { Schema } from 'mongoose';
import { isDuplicateKey } from '../db/connection';
import { claimNext } from '../db/slots';

/** `PREFIX-YYYY-NNN`, numbered per prefix per year, never reused. */
export const formatCaseKey = (prefix: string, year: number, seq: number): string =>
  `${prefix}-${year}-${String(seq).padStart(3, '0')}`;

/**
 * Exactly-once keys on any MongoDB-compatible server, from inserts by _id alone. FerretDB neither
 * makes a findOneAndUpdate $inc atomic under concurrency nor uses an index for anything but an
 * exact `{ _id }` filter, but it does enforce unique _ids. So a number is claimed by inserting
 * the key as an _id, and the source is tied to its key by inserting the source as an _id. Two
 * runs for one source (two instances on one message) may each claim a number; one wins the
 * source, and the other number stays unused: keys are never reused, and rarely skipped.
 * The counter (db/slots.ts) is only a hint of where to start looking.
 */
const CaseKey = mongoose.model(
  'CaseKey',
  new Schema(
    { _id: String, source: String, at: { type: Date, default: () => new Date() } },
    { versionKey: false },
  ),
  'case_keys',
);
const KeyOwner = mongoose.model(
  'KeyOwner',
  new Schema({ _id: String, key: { type: String, required: true } }, { versionKey: false }),
  'case_key_owners',
);

/**
 * The case key for `source`, handed out once: the same source always gets the same key. With
 * `fresh`, the caller knows the source is new, and the lookup of an earlier key is skipped.
 */
export async function reserveCaseKey(
  prefix: string,
  at: Date,
  source: string,
  opts: { fresh?: boolean } = {},
): Promise<string> {
  if (!opts.fresh) {
    const owner = await KeyOwner.findById(source).lean();
    if (owner) return owner.key;
  }
  const key = await claimNumber(prefix, at, source);
  try {
    await KeyOwner.create({ _id: source, key });
    return key;
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
    return (await KeyOwner.findById(source).lean())!.key; // a concurrent run for this source won
  }
}

async function claimNumber(prefix: string, at: Date, source: string): Promise<string> {
  const year = at.getUTCFullYear();
  const seq = await claimNext(
    `${prefix}-${year}`,
    (n) => formatCaseKey(prefix, year, n),
    (id) => CaseKey.create({ _id: id, source }),
  );
  return formatCaseKey(prefix, year, seq);
}
