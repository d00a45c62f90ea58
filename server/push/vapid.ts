import mongoose, { Schema } from 'mongoose';
import webpush from 'web-push';
import { isDuplicateKey } from '../db/connection';

/**
 * The desk's VAPID key pair (RFC 8292), which signs every push so that push services accept it
 * only from this desk. From VAPID_PUBLIC_KEY / VAPID_PRIVATE_KEY when set; otherwise generated
 * once and kept in the database, so every instance and every restart signs with the same key.
 * `tocsin vapid rotate` replaces the stored pair; browsers subscribed with the old key are
 * re-subscribed by the PWA on its next start (it compares its key with GET /api/push/key).
 */

export interface VapidKeys {
  publicKey: string;
  privateKey: string;
  subject: string;
  source: 'environment' | 'database';
}

const VapidKey = mongoose.model(
  'VapidKey',
  new Schema(
    {
      _id: String,
      publicKey: { type: String, required: true },
      privateKey: { type: String, required: true },
      createdAt: { type: Date, default: () => new Date() },
      /** The key it replaced, so a 403 from a subscription made with that one reads as stale. */
      previousPublicKey: String,
    },
    { versionKey: false },
  ),
  'vapid_keys',
);

const STORED_ID = 'current';

/** The keys to sign with: the environment's, or the stored pair (made now if there is none). */
export async function vapidKeys(
  fromEnv: { publicKey: string; privateKey: string; subject: string } | undefined,
  subject: string,
): Promise<VapidKeys> {
  if (fromEnv) {
    // web-push checks the shapes (65-byte public, 32-byte private, base64url) and says which is
    // wrong, by signing once (without setting its module-wide keys).
    webpush.getVapidHeaders(
      'https://push.example',
      fromEnv.subject,
      fromEnv.publicKey,
      fromEnv.privateKey,
      'aes128gcm',
    );
    return { ...fromEnv, source: 'environment' };
  }
  let stored = await VapidKey.findById(STORED_ID).lean();
  if (!stored) {
    const made = webpush.generateVAPIDKeys();
    try {
      await VapidKey.create({ _id: STORED_ID, ...made });
    } catch (err) {
      // Another instance made the pair first: everyone uses that one.
      if (!isDuplicateKey(err)) throw err;
    }
    stored = (await VapidKey.findById(STORED_ID).lean())!;
  }
  return { publicKey: stored.publicKey, privateKey: stored.privateKey, subject, source: 'database' };
}

/** Replaces the stored pair with a new one and returns it (the CLI's `vapid rotate`). */
export async function rotateVapidKeys(subject: string): Promise<VapidKeys & { previousPublicKey?: string }> {
  const old = await VapidKey.findById(STORED_ID).lean();
  const made = webpush.generateVAPIDKeys();
  await VapidKey.updateOne(
    { _id: STORED_ID },
    { $set: { ...made, createdAt: new Date(), previousPublicKey: old?.publicKey } },
    { upsert: true },
  );
  return { ...made, subject, source: 'database', previousPublicKey: old?.publicKey };
}
