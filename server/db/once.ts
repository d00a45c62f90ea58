import mongoose, { Schema } from 'mongoose';
import { isDuplicateKey } from './connection';

/**
 * Things that may happen once: a sign-in link used, a passkey challenge answered. The first insert
 * of an _id wins on MongoDB and FerretDB alike, so of two racing requests exactly one gets true.
 */
const Once = mongoose.model(
  'Once',
  new Schema({ _id: String, at: { type: Date, default: () => new Date() } }, { versionKey: false }),
  'once',
);

export async function happenOnce(id: string): Promise<boolean> {
  try {
    await Once.create({ _id: id });
    return true;
  } catch (err) {
    if (isDuplicateKey(err)) return false;
    throw err;
  }
}

/**
 * Forgets what happened long ago. What a record guards (a 15-minute link, a 5-minute challenge)
 * has expired by then, so forgetting it cannot let anything happen twice.
 */
export async function pruneOnce(olderThanMs = 2 * 24 * 3600_000): Promise<void> {
  await Once.deleteMany({ at: { $lt: new Date(Date.now() - olderThanMs) } });
}
