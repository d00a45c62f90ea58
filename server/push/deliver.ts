import https from 'node:https';
import webpush, { WebPushError } from 'web-push';
import type { PushPayload } from '../contract';
import { mapPool } from '../lib/pool';
import type { Logger } from '../lib/logger';
import { backoffDelay } from '../lib/backoff';
import { PushSubscriptionModel, type SubscriptionDoc } from './subscriptions';
import type { VapidKeys } from './vapid';

/**
 * Sends one push to many devices: concurrently, a bounded number at a time, so one slow or dead
 * device never holds up the others. Each device's push is retried on 429, 5xx or no answer (after
 * Retry-After when the service sends one, else with backoff); a subscription the push service no
 * longer knows (404, 410) is removed, and one refused after a key change (403) is marked stale.
 * Every attempt is returned, for the caller to record on the case's timeline or in the push log.
 */

/** What a push carries (server/contract.ts): never the subject, the reporter or any text. */
export type PushMessage = PushPayload;

export interface PushAttempt {
  at: Date;
  /** The push service's answer, or null when it gave none (network error, timeout). */
  status: number | null;
  error?: string;
  ms: number;
}

export type PushOutcome = 'delivered' | 'removed' | 'stale' | 'failed';

export interface DeviceResult {
  subscriptionId: string;
  userId: string;
  outcome: PushOutcome;
  attempts: PushAttempt[];
}

export interface SendOptions {
  /** Urgent pushes go with `Urgency: high` and a short TTL: a page an hour late is no page. */
  urgent: boolean;
  /** Pushes with the same topic replace each other while undelivered (e.g. one per case). */
  topic?: string;
}

export interface SenderOptions {
  concurrency: number;
  /** Attempts per device, the first included. */
  maxAttempts: number;
  timeoutMs: number;
  /** The longest Retry-After honoured; a longer one fails the push now rather than hold the alert. */
  maxRetryAfterMs: number;
  backoff: { baseMs: number; maxMs: number };
  urgentTtlSeconds: number;
  normalTtlSeconds: number;
  sleep: (ms: number) => Promise<void>;
}

export const DEFAULT_SENDER_OPTIONS: SenderOptions = {
  concurrency: 64,
  maxAttempts: 4,
  timeoutMs: 10_000,
  maxRetryAfterMs: 120_000,
  backoff: { baseMs: 1_000, maxMs: 30_000 },
  urgentTtlSeconds: 3600,
  normalTtlSeconds: 4 * 3600,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** Retry-After as seconds or an HTTP date (RFC 9110), in milliseconds from now. */
export function retryAfterMs(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** A VAPID JWT lasts 12 hours (at most 24, RFC 8292); one is signed per push service and reused for 11. */
const JWT_SECONDS = 12 * 3600;
const JWT_REUSE_MS = 11 * 3600_000;

export class PushSender {
  private readonly opts: SenderOptions;
  /** Keep-alive connections to each push service, shared by all pushes. */
  private readonly agent = new https.Agent({ keepAlive: true, maxSockets: 64 });
  /** Signed Authorization headers by push service origin and key: signing each push costs more than sending it. */
  private readonly signed = new Map<string, { authorization: string; until: number }>();

  constructor(
    private readonly keys: () => Promise<VapidKeys>,
    private readonly log: Logger,
    opts: Partial<SenderOptions> = {},
  ) {
    this.opts = { ...DEFAULT_SENDER_OPTIONS, ...opts };
  }

  async send(subs: SubscriptionDoc[], message: PushMessage, opts: SendOptions): Promise<DeviceResult[]> {
    const keys = await this.keys();
    const payload = JSON.stringify(message);
    const results = await mapPool(subs, this.opts.concurrency, (sub) =>
      this.toDevice(sub, payload, keys, opts),
    );
    // One write for every device that took it, rather than one each.
    const delivered = results.filter((r) => r.outcome === 'delivered').map((r) => r.subscriptionId);
    if (delivered.length)
      await PushSubscriptionModel.updateMany(
        { _id: { $in: delivered } },
        { $set: { lastSuccessAt: new Date() } },
      ).catch((err: unknown) => this.log.warn({ err }, 'could not note push deliveries'));
    return results;
  }

  /** The VAPID Authorization header for a push service, signed once and reused while it is fresh. */
  private authorization(endpoint: string, keys: VapidKeys): string {
    const audience = new URL(endpoint).origin;
    const id = `${audience} ${keys.publicKey}`;
    const now = Date.now();
    const known = this.signed.get(id);
    if (known && known.until > now) return known.authorization;
    const { Authorization } = webpush.getVapidHeaders(
      audience,
      keys.subject,
      keys.publicKey,
      keys.privateKey,
      'aes128gcm',
      Math.floor(now / 1000) + JWT_SECONDS,
    ) as { Authorization: string };
    this.signed.set(id, { authorization: Authorization, until: now + JWT_REUSE_MS });
    return Authorization;
  }

  close(): void {
    this.agent.destroy();
  }

  private async toDevice(
    sub: SubscriptionDoc,
    payload: string,
    keys: VapidKeys,
    opts: SendOptions,
  ): Promise<DeviceResult> {
    const attempts: PushAttempt[] = [];
    const result = (outcome: PushOutcome): DeviceResult => ({
      subscriptionId: sub._id,
      userId: sub.userId,
      outcome,
      attempts,
    });
    for (let n = 0; n < this.opts.maxAttempts; n++) {
      const began = Date.now();
      let status: number | null = null;
      let retryAfter: string | undefined;
      let error: string | undefined;
      try {
        const res = await webpush.sendNotification({ endpoint: sub.endpoint, keys: sub.keys }, payload, {
          headers: { Authorization: this.authorization(sub.endpoint, keys) },
          TTL: opts.urgent ? this.opts.urgentTtlSeconds : this.opts.normalTtlSeconds,
          urgency: opts.urgent ? 'high' : 'normal',
          topic: opts.topic ? topicOf(opts.topic) : undefined,
          timeout: this.opts.timeoutMs,
          agent: this.agent,
        });
        status = res.statusCode;
      } catch (err) {
        if (err instanceof WebPushError) {
          status = err.statusCode;
          retryAfter = header(err.headers, 'retry-after');
          error = `${err.statusCode} ${String(err.body ?? '').slice(0, 200)}`.trim();
        } else {
          error = err instanceof Error ? err.message : String(err);
        }
      }
      attempts.push({ at: new Date(began), status, error, ms: Date.now() - began });

      if (status !== null && status >= 200 && status < 300) return result('delivered');
      if (status === 404 || status === 410) {
        await PushSubscriptionModel.deleteOne({ _id: sub._id });
        this.log.info({ subscription: sub._id, status }, 'push subscription gone: removed');
        return result('removed');
      }
      if (status === 403 && sub.vapidPublicKey !== keys.publicKey) {
        await this.note(sub, { stale: true, lastFailureAt: new Date(), lastError: error });
        return result('stale');
      }
      const retriable = status === null || status === 429 || status >= 500;
      if (!retriable || n + 1 >= this.opts.maxAttempts) break;
      // Retry-After may come with a 429 or a 503 (RFC 9110 §10.2.3): the service knows best.
      const wait = retryAfterMs(retryAfter) ?? backoffDelay(n, this.opts.backoff);
      if (wait > this.opts.maxRetryAfterMs) break;
      await this.opts.sleep(wait);
    }
    const last = attempts[attempts.length - 1];
    await this.note(sub, { lastFailureAt: new Date(), lastError: last?.error ?? String(last?.status) });
    return result('failed');
  }

  private async note(sub: SubscriptionDoc, set: Partial<SubscriptionDoc>): Promise<void> {
    await PushSubscriptionModel.updateOne({ _id: sub._id }, { $set: set }).catch((err: unknown) =>
      this.log.warn({ err, subscription: sub._id }, 'could not note a push result'),
    );
  }
}

const header = (headers: unknown, name: string): string | undefined => {
  const value = (headers as Record<string, string | string[] | undefined> | undefined)?.[name];
  return Array.isArray(value) ? value[0] : value;
};

/** A Topic header is at most 32 URL-safe base64 characters (RFC 8030 §5.4). */
const topicOf = (s: string) => s.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 32);
