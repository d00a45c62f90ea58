import { createECDH, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { ensurePushCertificate } from './push-cert';
import {
  decryptPushMessage,
  PushRefusal,
  verifyVapid,
  type SubscriptionKeys,
  type VapidClaims,
} from './push-crypto';
import { waitFor } from './wait';

/**
 * A local Web Push service (RFC 8030) for the tests: an HTTPS server on loopback that hands out
 * browser-like subscriptions, checks each push's VAPID JWT (RFC 8292), decrypts its aes128gcm
 * payload with the subscription's private key (RFC 8291) and records what it got. Answers 201
 * unless a test planned something else with respond().
 */

/** What `PushSubscription.toJSON()` gives in a browser. */
export interface PushSubscriptionJson {
  endpoint: string;
  expirationTime: null;
  keys: { p256dh: string; auth: string };
}

/**
 * One planned answer. `retryAfter` (seconds) sends Retry-After; `delayMs` holds the answer back,
 * like a slow push service or a dead device's queue.
 */
export interface PushAnswer {
  status: number;
  retryAfter?: number;
  delayMs?: number;
}

/** A push the service accepted: answered 2xx, whether or not the sender was still listening. */
export interface PushDelivery {
  endpoint: string;
  subscriptionId: string;
  /** When the request arrived. */
  at: Date;
  urgency: string | undefined;
  ttl: number;
  topic: string | undefined;
  /** The decrypted payload, or null for a push without one. */
  payload: string | null;
  /** The payload parsed, when it is JSON. */
  json: unknown;
  vapid: VapidClaims;
  /** The application server key that signed it (base64url). */
  vapidPublicKey: string;
}

/** A push refused as malformed: bad VAPID, wrong key, missing TTL, undecryptable payload. */
export interface PushRejection {
  endpoint: string;
  at: Date;
  status: number;
  reason: string;
}

/** Every request, whatever became of it. */
export interface PushAttempt {
  endpoint: string;
  subscriptionId: string | undefined;
  at: Date;
  /** The status answered, or to be answered once a planned delay is over. */
  status: number;
  reason?: string;
  answeredAt?: Date;
  /** The sender hung up before the answer went out (after a planned delay, say). */
  clientGone?: boolean;
}

export interface PushServiceOptions {
  /** The application server key every subscription is bound to; another key is answered 403. */
  vapidPublicKey?: string;
  /** Where the certificate lives; default: pushCertDir(). */
  certDir?: string;
}

export interface PushService {
  /** `https://localhost:<port>`: the origin of every endpoint, and the VAPID `aud` it expects. */
  readonly origin: string;
  readonly port: number;
  /** The CA that signed the server certificate: give it to senders as NODE_EXTRA_CA_CERTS or `ca`. */
  readonly caFile: string;
  readonly deliveries: readonly PushDelivery[];
  readonly rejections: readonly PushRejection[];
  readonly attempts: readonly PushAttempt[];
  /** A new subscription, bound to `vapidPublicKey` when given (else to the service-wide key, if any). */
  newSubscription(opts?: { vapidPublicKey?: string }): PushSubscriptionJson;
  /** The id in an endpoint's path, as found in the records (an id is returned as it is). */
  subscriptionId(endpointOrId: string): string;
  /**
   * Replaces the queue of answers for one subscription (by id or endpoint), or with 'all' the
   * shared queue used by any subscription whose own queue is empty. Then 201 again. Malformed
   * requests are refused without using up the queue.
   */
  respond(target: string, plan: PushAnswer | PushAnswer[]): void;
  /** Changes (or with undefined, drops) the service-wide key; a rotation then shows as 403. */
  expectVapidKey(publicKey: string | undefined): void;
  /** Resolves with the deliveries once there are at least `n`; fails after `timeoutMs`. */
  waitForDeliveries(n: number, timeoutMs?: number): Promise<PushDelivery[]>;
  /** Forgets the records and the planned answers; subscriptions and keys stay. */
  clear(): void;
  close(): Promise<void>;
}

export async function startPushService(opts: PushServiceOptions = {}): Promise<PushService> {
  const service = new LocalPushService(ensurePushCertificate(opts.certDir), opts.vapidPublicKey);
  await service.listen();
  return service;
}

// RFC 8291 §4: push services need accept no more than 4096 bytes of encrypted payload.
const MAX_BODY_BYTES = 4096;
const URGENCIES = ['very-low', 'low', 'normal', 'high'];
const ALL = 'all';

interface Subscription {
  keys: SubscriptionKeys;
  vapidPublicKey: string | undefined;
}

class LocalPushService implements PushService {
  readonly deliveries: PushDelivery[] = [];
  readonly rejections: PushRejection[] = [];
  readonly attempts: PushAttempt[] = [];
  readonly caFile: string;
  port = 0;
  private readonly server: https.Server;
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly plans = new Map<string, PushAnswer[]>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    cert: { caFile: string; keyFile: string; certFile: string },
    private vapidPublicKey: string | undefined,
  ) {
    this.caFile = cert.caFile;
    const tls = { key: fs.readFileSync(cert.keyFile), cert: fs.readFileSync(cert.certFile) };
    this.server = https.createServer(tls, (req, res) => void this.handle(req, res));
  }

  get origin(): string {
    return `https://localhost:${this.port}`;
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  newSubscription(opts: { vapidPublicKey?: string } = {}): PushSubscriptionJson {
    const id = randomBytes(12).toString('base64url');
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    const authSecret = randomBytes(16);
    this.subscriptions.set(id, { keys: { ecdh, authSecret }, vapidPublicKey: opts.vapidPublicKey });
    return {
      endpoint: `${this.origin}/push/${id}`,
      expirationTime: null,
      keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: authSecret.toString('base64url') },
    };
  }

  subscriptionId(endpointOrId: string): string {
    const id = URL.canParse(endpointOrId)
      ? new URL(endpointOrId).pathname.replace(/^\/push\//, '')
      : endpointOrId;
    if (!this.subscriptions.has(id)) throw new Error(`no subscription is known as ${endpointOrId}`);
    return id;
  }

  respond(target: string, plan: PushAnswer | PushAnswer[]): void {
    const key = target === ALL ? ALL : this.subscriptionId(target);
    this.plans.set(key, Array.isArray(plan) ? [...plan] : [plan]);
  }

  expectVapidKey(publicKey: string | undefined): void {
    this.vapidPublicKey = publicKey;
  }

  async waitForDeliveries(n: number, timeoutMs = 10_000): Promise<PushDelivery[]> {
    try {
      return await waitFor(
        `${n} push deliveries`,
        () => this.deliveries.length >= n && [...this.deliveries],
        timeoutMs,
      );
    } catch (err) {
      const seen = `${this.deliveries.length} delivered, rejections: ${JSON.stringify(this.rejections)}`;
      throw new Error(`${(err as Error).message} (${seen})`, { cause: err });
    }
  }

  clear(): void {
    for (const list of [this.deliveries, this.rejections, this.attempts]) list.length = 0;
    this.plans.clear();
  }

  async close(): Promise<void> {
    this.timers.forEach(clearTimeout);
    this.timers.clear();
    const closed = new Promise((resolve) => this.server.close(resolve));
    this.server.closeAllConnections();
    await closed;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = new Date();
    const endpoint = `${this.origin}${req.url ?? '/'}`;
    const id = /^\/push\/([\w-]+)$/.exec(req.url ?? '')?.[1];
    const attempt: PushAttempt = { endpoint, subscriptionId: id, at, status: 0 };
    this.attempts.push(attempt);
    let gone = false;
    res.on('close', () => (gone = !res.writableFinished));
    const send = (status: number, headers: Record<string, string>, body: string) => {
      Object.assign(attempt, { status, answeredAt: new Date(), clientGone: gone });
      if (!gone) res.writeHead(status, { 'Content-Type': 'text/plain', ...headers }).end(body);
    };

    let body: Buffer;
    try {
      body = await readBody(req);
    } catch {
      Object.assign(attempt, { reason: 'the sender hung up mid-request', clientGone: true });
      return;
    }
    let delivery: PushDelivery;
    try {
      delivery = this.accept(req, body, id, endpoint, at);
    } catch (err) {
      const refusal =
        err instanceof PushRefusal ? err : new PushRefusal(500, `push service bug: ${String(err)}`);
      attempt.reason = refusal.message;
      this.rejections.push({ endpoint, at, status: refusal.status, reason: refusal.message });
      send(refusal.status, {}, refusal.message);
      return;
    }

    const answer = this.nextAnswer(delivery.subscriptionId);
    attempt.status = answer.status;
    const headers: Record<string, string> = {};
    if (answer.retryAfter !== undefined) headers['Retry-After'] = String(answer.retryAfter);
    const reply = () => {
      if (answer.status >= 200 && answer.status < 300) {
        this.deliveries.push(delivery);
        headers.Location = `${this.origin}/message/${randomBytes(9).toString('base64url')}`;
      }
      send(answer.status, headers, STATUS_CODES[answer.status] ?? '');
    };
    if (!answer.delayMs) return reply();
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      reply();
    }, answer.delayMs);
    this.timers.add(timer);
  }

  /** Checks one push request as a push service would; throws a PushRefusal for what it refuses. */
  private accept(
    req: IncomingMessage,
    body: Buffer,
    id: string | undefined,
    endpoint: string,
    at: Date,
  ): PushDelivery {
    if (req.method !== 'POST') throw new PushRefusal(405, `${req.method} is not a push; POST is`);
    const subscription = id === undefined ? undefined : this.subscriptions.get(id);
    if (!id || !subscription) throw new PushRefusal(404, 'no such subscription');
    const header = (name: string) => req.headers[name] as string | undefined;

    const vapid = verifyVapid(header('authorization'), header('crypto-key'), this.origin, at.getTime());
    const boundKey = subscription.vapidPublicKey ?? this.vapidPublicKey;
    if (boundKey && !sameKey(boundKey, vapid.publicKey)) {
      throw new PushRefusal(403, 'the VAPID key is not the one the subscription was made with');
    }

    const ttl = header('ttl');
    if (ttl === undefined || !/^\d+$/.test(ttl)) throw new PushRefusal(400, `TTL is ${ttl ?? 'missing'}`);
    const urgency = header('urgency');
    if (urgency !== undefined && !URGENCIES.includes(urgency))
      throw new PushRefusal(400, `Urgency ${urgency}`);
    const topic = header('topic');
    if (topic !== undefined && !/^[\w-]{1,32}$/.test(topic)) throw new PushRefusal(400, `Topic ${topic}`);

    let payload: string | null = null;
    if (body.length > 0) {
      if (body.length > MAX_BODY_BYTES) throw new PushRefusal(413, `the body is ${body.length} bytes`);
      const encoding = header('content-encoding');
      if (encoding !== 'aes128gcm') throw new PushRefusal(400, `Content-Encoding ${encoding}, not aes128gcm`);
      payload = decryptPushMessage(body, subscription.keys).toString('utf8');
    }
    return {
      endpoint,
      subscriptionId: id,
      at,
      urgency,
      ttl: Number(ttl),
      topic,
      payload,
      json: parseJson(payload),
      vapid: vapid.claims,
      vapidPublicKey: vapid.publicKey,
    };
  }

  private nextAnswer(id: string): PushAnswer {
    return this.plans.get(id)?.shift() ?? this.plans.get(ALL)?.shift() ?? { status: 201 };
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function sameKey(a: string, b: string): boolean {
  return Buffer.from(a, 'base64url').equals(Buffer.from(b, 'base64url'));
}

function parseJson(text: string | null): unknown {
  if (text === null) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
