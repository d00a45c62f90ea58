import mongoose, { Schema } from 'mongoose';
import { isDuplicateKey } from './connection';

/**
 * A lease in the database: one holder at a time, with expiry, so a second Tocsin process on the
 * same mailbox stands by and takes over when the first one stops renewing.
 */
const LeaseModel = mongoose.model(
  'Lease',
  new Schema({ _id: String, holder: String, expiresAt: Date }, { versionKey: false }),
  'leases',
);

export async function acquireLease(name: string, holder: string, ttlMs: number): Promise<boolean> {
  const now = new Date();
  try {
    const doc = await LeaseModel.findOneAndUpdate(
      { _id: name, $or: [{ holder }, { expiresAt: { $lt: now } }] },
      { $set: { holder, expiresAt: new Date(now.getTime() + ttlMs) } },
      { upsert: true, returnDocument: 'after' },
    ).lean();
    return doc?.holder === holder;
  } catch (err) {
    // The upsert collided with a live lease held by someone else.
    if (isDuplicateKey(err)) return false;
    throw err;
  }
}

export async function releaseLease(name: string, holder: string): Promise<void> {
  await LeaseModel.updateOne({ _id: name, holder }, { $set: { expiresAt: new Date(0) } });
}

export async function leaseHolder(name: string): Promise<{ holder: string; expiresAt: Date } | undefined> {
  const doc = await LeaseModel.findById(name).lean();
  return doc?.holder && doc.expiresAt ? { holder: doc.holder, expiresAt: doc.expiresAt } : undefined;
}
