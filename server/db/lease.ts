import mongoose, { Schema } from 'mongoose';
import { isDuplicateKey } from './connection';

/**
 * A lease in the database: one holder at a time, with expiry, so a second Tocsin process on the
 * same mailbox stands by and takes over when the first one stops renewing.
 *
 * Taking a lease means inserting the next epoch's document, `<name>#<epoch>`. Only one insert of
 * an _id can succeed, on MongoDB and on FerretDB alike (whose read-modify-write updates are not
 * atomic under concurrency). A holder renews its own epoch, and knows it has lost the lease
 * when a later epoch exists.
 */
const LeaseModel = mongoose.model(
  'Lease',
  new Schema(
    { _id: String, name: { type: String, required: true }, epoch: Number, holder: String, expiresAt: Date },
    { versionKey: false },
  ).index({ name: 1, epoch: -1 }),
  'leases',
);

async function latest(name: string) {
  return LeaseModel.findOne({ name }).sort({ epoch: -1 }).lean();
}

/** Takes or renews the lease; false while someone else holds it. */
export async function acquireLease(name: string, holder: string, ttlMs: number): Promise<boolean> {
  const now = Date.now();
  const current = await latest(name);
  if (current?.holder === holder) {
    await LeaseModel.updateOne({ _id: current._id }, { $set: { expiresAt: new Date(now + ttlMs) } });
    return (await latest(name))?.holder === holder;
  }
  if (current?.expiresAt && current.expiresAt.getTime() > now) return false;
  const epoch = (current?.epoch ?? 0) + 1;
  try {
    await LeaseModel.create({
      _id: `${name}#${epoch}`,
      name,
      epoch,
      holder,
      expiresAt: new Date(now + ttlMs),
    });
  } catch (err) {
    if (isDuplicateKey(err)) return false;
    throw err;
  }
  await LeaseModel.deleteMany({ name, epoch: { $lt: epoch - 10 } });
  return true;
}

export async function releaseLease(name: string, holder: string): Promise<void> {
  const current = await latest(name);
  if (current?.holder === holder)
    await LeaseModel.updateOne({ _id: current._id }, { $set: { expiresAt: new Date(0) } });
}
