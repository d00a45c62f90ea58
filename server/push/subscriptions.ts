import { sha256 } from '../lib/hash';
import mongoose, { Schema } from 'mongoose';
import { z } from 'zod';

/**
 * Push subscriptions: one per browser (device) a member turned notifications on in. The _id is
 * the SHA-256 of the endpoint, so subscribing again from the same browser updates one record.
 */

const subscriptionSchema = new Schema(
  {
    _id: String,
    userId: { type: String, required: true },
    endpoint: { type: String, required: true },
    keys: { p256dh: { type: String, required: true }, auth: { type: String, required: true } },
    /** The VAPID public key the browser subscribed with; another key's pushes are refused (403). */
    vapidPublicKey: { type: String, required: true },
    /** What the member sees in settings: the browser's own description of itself. */
    userAgent: { type: String, default: '' },
    createdAt: { type: Date, default: () => new Date() },
    lastSuccessAt: Date,
    lastFailureAt: Date,
    lastError: String,
    /** Refused after a key change: kept for the member to see, no longer sent to. */
    stale: { type: Boolean, default: false },
  },
  { versionKey: false },
);
export const PushSubscriptionModel = mongoose.model(
  'PushSubscription',
  subscriptionSchema,
  'push_subscriptions',
);

export interface SubscriptionDoc {
  _id: string;
  userId: string;
  endpoint: string;
  keys: { p256dh: string; auth: string };
  vapidPublicKey: string;
  userAgent: string;
  createdAt: Date;
  lastSuccessAt?: Date;
  lastFailureAt?: Date;
  lastError?: string;
  stale: boolean;
}

const base64url = z.string().regex(/^[A-Za-z0-9_-]+=*$/, 'must be URL-safe base64');

/** A browser's PushSubscription.toJSON(). Push services are always https (RFC 8030). */
export const subscriptionJson = z.object({
  endpoint: z
    .string()
    .max(2000)
    .refine((u) => {
      try {
        return new URL(u).protocol === 'https:';
      } catch {
        return false;
      }
    }, 'must be an https URL'),
  expirationTime: z.number().nullable().optional(),
  keys: z.object({
    p256dh: base64url.refine((k) => Buffer.from(k, 'base64url').length === 65, 'must be a 65-byte P-256 key'),
    auth: base64url.refine((k) => Buffer.from(k, 'base64url').length === 16, 'must be a 16-byte secret'),
  }),
});
export type SubscriptionJson = z.infer<typeof subscriptionJson>;

export const subscriptionId = (endpoint: string) => sha256(endpoint);

/** Saves the member's subscription (again): the endpoint's record now belongs to this member and key. */
export async function saveSubscription(
  userId: string,
  sub: SubscriptionJson,
  vapidPublicKey: string,
  userAgent: string,
): Promise<SubscriptionDoc> {
  const _id = subscriptionId(sub.endpoint);
  await PushSubscriptionModel.updateOne(
    { _id },
    {
      $set: {
        userId,
        endpoint: sub.endpoint,
        keys: sub.keys,
        vapidPublicKey,
        userAgent: userAgent.slice(0, 300),
        stale: false,
      },
      $unset: { lastError: 1 },
      $setOnInsert: { createdAt: new Date() },
    },
    { upsert: true },
  );
  return (await PushSubscriptionModel.findById(_id).lean<SubscriptionDoc>())!;
}

/** Removes one of the member's subscriptions; false when they have none with that id or endpoint. */
export async function removeSubscription(userId: string, idOrEndpoint: string): Promise<boolean> {
  const _id = /^[0-9a-f]{64}$/.test(idOrEndpoint) ? idOrEndpoint : subscriptionId(idOrEndpoint);
  const { deletedCount } = await PushSubscriptionModel.deleteOne({ _id, userId });
  return deletedCount > 0;
}

/** How a subscription looks to its member (never its keys). */
export function subscriptionView(s: SubscriptionDoc, currentKey: string) {
  return {
    id: s._id,
    userAgent: s.userAgent,
    pushService: new URL(s.endpoint).host,
    createdAt: s.createdAt,
    lastSuccessAt: s.lastSuccessAt ?? null,
    lastFailureAt: s.lastFailureAt ?? null,
    lastError: s.lastError ?? null,
    stale: s.stale || s.vapidPublicKey !== currentKey,
  };
}
