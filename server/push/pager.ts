import { randomUUID } from 'node:crypto';
import mongoose, { Schema } from 'mongoose';
import type { Logger } from '../lib/logger';
import {
  PushSender,
  type DeviceResult,
  type PushMessage,
  type SendOptions,
  type SenderOptions,
} from './deliver';
import { PushSubscriptionModel, type SubscriptionDoc } from './subscriptions';
import { vapidKeys, type VapidKeys } from './vapid';

/**
 * Pushes to members' devices. Case alerts record their attempts on the case's timeline (the
 * clocks do that); everything else (test notifications) is recorded here, in the push log.
 */

const attemptSchema = new Schema(
  { at: Date, status: { type: Number, default: null }, error: String, ms: Number },
  { _id: false },
);
const deviceResultSchema = new Schema(
  { subscriptionId: String, userId: String, outcome: String, attempts: [attemptSchema] },
  { _id: false },
);

const PushLog = mongoose.model(
  'PushLog',
  new Schema(
    {
      _id: String,
      at: { type: Date, default: () => new Date() },
      userId: String,
      alert: String,
      results: [deviceResultSchema],
    },
    { versionKey: false },
  ),
  'push_log',
);

export interface PagerOptions {
  log: Logger;
  /** The VAPID keys to sign with (config.vapid, or the stored pair). */
  keys: () => Promise<VapidKeys>;
  sender?: Partial<SenderOptions>;
}

export class Pager {
  private readonly sender: PushSender;
  private keysOnce?: Promise<VapidKeys>;

  constructor(private readonly opts: PagerOptions) {
    this.sender = new PushSender(() => this.keys(), opts.log, opts.sender);
  }

  /** The keys, read once per process (a rotation takes effect on restart, as the CLI says). */
  keys(): Promise<VapidKeys> {
    return (this.keysOnce ??= this.opts.keys().catch((err: unknown) => {
      this.keysOnce = undefined;
      throw err;
    }));
  }

  /** Each live (not stale) device of these members. */
  devicesOf(userIds: string[]): Promise<SubscriptionDoc[]> {
    return PushSubscriptionModel.find({ userId: { $in: userIds }, stale: { $ne: true } }).lean<
      SubscriptionDoc[]
    >();
  }

  /** Pushes to every live device of these members; a failed device never holds up the others. */
  async toMembers(userIds: string[], message: PushMessage, opts: SendOptions): Promise<DeviceResult[]> {
    const devices = await this.devicesOf([...new Set(userIds)]);
    if (!devices.length) return [];
    return this.sender.send(devices, message, opts);
  }

  /** Pushes a test notification to the member's devices, and records it in the push log. */
  async test(userId: string): Promise<DeviceResult[]> {
    const id = randomUUID();
    const results = await this.toMembers(
      [userId],
      { alert: 'test', url: '/#/settings', id },
      { urgent: true },
    );
    await PushLog.create({ _id: id, userId, alert: 'test', results });
    return results;
  }

  close(): void {
    this.sender.close();
  }
}

/** A pager signing with the stored keys: for an app built without one (tests of other parts). */
export const storedKeyPager = (log: Logger) =>
  new Pager({ log, keys: () => vapidKeys(undefined, 'mailto:admin@localhost') });
