import { waitFor } from '../support/wait';
import { createECDH, createPrivateKey, sign } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import webpush, { WebPushError, type PushSubscription, type RequestOptions, type VapidKeys } from 'web-push';
import { decryptPushMessage, PushRefusal } from '../support/push-crypto';
import { startPushService, type PushService } from '../support/push-service';

// The local push service itself, checked with web-push as the sender. NODE_EXTRA_CA_CERTS is read
// only when a process starts, so this file trusts the throwaway CA through an https.Agent instead.

const SUBJECT = 'mailto:desk@example.test';
const HOUR = 60 * 60;

let push: PushService;
let agent: https.Agent;
const vapid = webpush.generateVAPIDKeys();
const vapidDetails = { subject: SUBJECT, ...vapid };

beforeAll(async () => {
  push = await startPushService();
  agent = new https.Agent({ ca: fs.readFileSync(push.caFile) });
});

afterEach(() => {
  push.expectVapidKey(undefined);
  push.clear();
});

afterAll(async () => {
  agent.destroy();
  await push.close();
});

const send = (subscription: PushSubscription, payload: string | null, options: RequestOptions = {}) =>
  webpush.sendNotification(subscription, payload, { vapidDetails, TTL: 60, agent, ...options });

/** Sends with a VAPID JWT made here by hand, with claims web-push would refuse to sign. */
function sendWithClaims(subscription: PushSubscription, claims: Record<string, unknown>, keys = vapid) {
  return webpush.sendNotification(subscription, 'hand-made', {
    TTL: 60,
    agent,
    headers: { Authorization: vapidAuthorization(claims, keys) },
  });
}

function vapidAuthorization(claims: Record<string, unknown>, keys: VapidKeys): string {
  const pub = Buffer.from(keys.publicKey, 'base64url');
  const jwk = {
    kty: 'EC',
    crv: 'P-256',
    d: keys.privateKey,
    x: pub.subarray(1, 33).toString('base64url'),
    y: pub.subarray(33).toString('base64url'),
  };
  const encode = (part: object) => Buffer.from(JSON.stringify(part)).toString('base64url');
  const unsigned = `${encode({ typ: 'JWT', alg: 'ES256' })}.${encode(claims)}`;
  const key = createPrivateKey({ key: jwk, format: 'jwk' });
  const signature = sign('sha256', Buffer.from(unsigned), { key, dsaEncoding: 'ieee-p1363' });
  return `vapid t=${unsigned}.${signature.toString('base64url')}, k=${keys.publicKey}`;
}

const goodClaims = () => ({ aud: push.origin, exp: Math.floor(Date.now() / 1000) + HOUR, sub: SUBJECT });

async function expectRefused(
  sending: Promise<unknown>,
  status: number,
  reason: RegExp,
): Promise<WebPushError> {
  const err = await sending.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WebPushError);
  expect((err as WebPushError).statusCode).toBe(status);
  expect(push.rejections).toEqual([
    expect.objectContaining({ status, reason: expect.stringMatching(reason) }),
  ]);
  expect(push.deliveries).toEqual([]);
  return err as WebPushError;
}

describe('the local push service', () => {
  it('when web-push sends a payload, then the service decrypts the same text and records urgency, TTL and topic', async () => {
    const subscription = push.newSubscription();
    const message = { caseId: 'C-17', title: 'Boiler room flooded — Zürich ☔' };

    const result = await send(subscription, JSON.stringify(message), {
      TTL: 3600,
      urgency: 'high',
      topic: 'case-C-17',
    });

    expect(result.statusCode).toBe(201);
    expect(result.headers.location).toMatch(`${push.origin}/message/`);
    const [delivery] = await push.waitForDeliveries(1, 2000);
    expect(delivery).toMatchObject({
      endpoint: subscription.endpoint,
      subscriptionId: push.subscriptionId(subscription.endpoint),
      urgency: 'high',
      ttl: 3600,
      topic: 'case-C-17',
      payload: JSON.stringify(message),
      json: message,
      vapid: { sub: SUBJECT, aud: push.origin },
      vapidPublicKey: vapid.publicKey,
    });
    const now = Date.now() / 1000;
    expect(delivery!.vapid.exp).toBeGreaterThan(now);
    expect(delivery!.vapid.exp).toBeLessThanOrEqual(now + 24 * HOUR);
    expect(push.rejections).toEqual([]);
  });

  it('when a push has no payload, then it is recorded with a null payload', async () => {
    await send(push.newSubscription(), null);

    expect(push.deliveries).toEqual([
      expect.objectContaining({ payload: null, json: undefined, urgency: 'normal' }),
    ]);
  });

  it('when web-push uses the older aesgcm form without a payload, then its WebPush and Crypto-Key credentials are checked and accepted', async () => {
    await send(push.newSubscription(), null, { contentEncoding: 'aesgcm' });

    expect(push.deliveries).toEqual([
      expect.objectContaining({ vapid: expect.objectContaining({ sub: SUBJECT }) }),
    ]);
    expect(push.rejections).toEqual([]);
  });

  it('when the payload is aesgcm-encoded, then it is refused with 400', async () => {
    await expectRefused(send(push.newSubscription(), 'old', { contentEncoding: 'aesgcm' }), 400, /aes128gcm/);
  });

  it('when the payload was encrypted for other keys, then it is refused with 400 as undecryptable', async () => {
    const subscription = push.newSubscription();
    const other = push.newSubscription();

    await expectRefused(
      send({ endpoint: subscription.endpoint, keys: other.keys }, 'for someone else'),
      400,
      /does not decrypt/,
    );
  });

  it('when the JWT is signed with a key other than k, then it is refused with 401', async () => {
    const impostor = webpush.generateVAPIDKeys();

    await expectRefused(
      send(push.newSubscription(), 'x', {
        vapidDetails: { ...vapidDetails, privateKey: impostor.privateKey },
      }),
      401,
      /signature/,
    );
  });

  it('when a hand-made JWT carries good claims, then it is accepted (so the refusals below are about the claims)', async () => {
    await sendWithClaims(push.newSubscription(), goodClaims());

    expect(push.deliveries).toEqual([expect.objectContaining({ payload: 'hand-made' })]);
  });

  it.each([
    ['aud names another origin', { aud: 'https://push.example.net' }, /aud/],
    ['aud has no port', { aud: 'https://localhost' }, /aud/],
    ['exp is more than 24 h ahead', { exp: Math.floor(Date.now() / 1000) + 25 * HOUR }, /more than 24 h/],
    ['exp has passed', { exp: Math.floor(Date.now() / 1000) - 60 }, /expired/],
    ['sub is neither mailto: nor https:', { sub: 'desk@example.test' }, /sub/],
  ])('when the JWT %s, then it is refused with 401', async (_, change, reason) => {
    await expectRefused(sendWithClaims(push.newSubscription(), { ...goodClaims(), ...change }), 401, reason);
  });

  it('when the subscription was made for another VAPID key, then the push is refused with 403', async () => {
    const subscription = push.newSubscription({ vapidPublicKey: webpush.generateVAPIDKeys().publicKey });

    await expectRefused(send(subscription, 'x'), 403, /VAPID key/);
  });

  it('when the service expects a rotated key, then pushes signed with the old one are refused with 403', async () => {
    const subscription = push.newSubscription();
    push.expectVapidKey(webpush.generateVAPIDKeys().publicKey);

    await expectRefused(send(subscription, 'x'), 403, /VAPID key/);
  });

  it('when the endpoint is unknown, then it is refused with 404', async () => {
    const stranger = { ...push.newSubscription(), endpoint: `${push.origin}/push/nobody` };

    await expectRefused(send(stranger, 'x'), 404, /no such subscription/);
  });

  it.each([404, 410, 500])(
    'when %i is planned, then web-push surfaces it, nothing is delivered, and the next push gets 201',
    async (status) => {
      const subscription = push.newSubscription();
      push.respond(subscription.endpoint, { status });

      const err = await send(subscription, 'x').catch((e: unknown) => e);
      await send(subscription, 'y');

      expect(err).toBeInstanceOf(WebPushError);
      expect((err as WebPushError).statusCode).toBe(status);
      expect(push.attempts.map((a) => a.status)).toEqual([status, 201]);
      expect(push.deliveries.map((d) => d.payload)).toEqual(['y']);
      expect(push.rejections).toEqual([]);
    },
  );

  it('when 429 with retryAfter is planned, then the answer carries Retry-After', async () => {
    const subscription = push.newSubscription();
    push.respond(push.subscriptionId(subscription.endpoint), [{ status: 429, retryAfter: 2 }]);

    const err = (await send(subscription, 'x').catch((e: unknown) => e)) as WebPushError;

    expect(err.statusCode).toBe(429);
    expect(err.headers['retry-after']).toBe('2');
  });

  it("when a plan is set for 'all', then it answers whichever subscription comes next, in order", async () => {
    push.respond('all', [{ status: 500 }, { status: 410 }]);

    const statuses = [];
    for (const subscription of [push.newSubscription(), push.newSubscription(), push.newSubscription()]) {
      statuses.push(
        await send(subscription, 'x').then(
          (r) => r.statusCode,
          (e: WebPushError) => e.statusCode,
        ),
      );
    }

    expect(statuses).toEqual([500, 410, 201]);
  });

  it('when a delayed answer is planned, then the 201 comes no sooner than the delay', async () => {
    const subscription = push.newSubscription();
    push.respond(subscription.endpoint, { status: 201, delayMs: 600 });

    const started = Date.now();
    await send(subscription, 'slow');

    expect(Date.now() - started).toBeGreaterThanOrEqual(590);
    expect(push.deliveries.map((d) => d.payload)).toEqual(['slow']);
  });

  it('when the sender gives up before a delayed answer, then the attempt shows the client gone', async () => {
    const subscription = push.newSubscription();
    // Wide margins: on a busy machine the TLS handshake alone can take a good part of a second.
    push.respond(subscription.endpoint, { status: 201, delayMs: 4000 });

    const err = await send(subscription, 'too slow', { timeout: 2000 }).catch((e: unknown) => e);
    expect(String(err)).toMatch(/timeout/i);
    await waitFor('the late answer', () => push.attempts[0]?.clientGone !== undefined, 10_000);
    expect(push.attempts).toEqual([expect.objectContaining({ status: 201, clientGone: true })]);
  });
});

describe('decryptPushMessage', () => {
  // RFC 8291 Appendix A: published test data, so the decryption is checked against the RFC itself
  // and not only against the library Tocsin sends with.
  const rfcBody = Buffer.from(
    'DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN',
    'base64url',
  );
  const rfcKeys = () => {
    const ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(Buffer.from('q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94', 'base64url'));
    return { ecdh, authSecret: Buffer.from('BTBZMqHH6r4Tts7J_aSIgg', 'base64url') };
  };

  it('when given the RFC 8291 example message, then it returns the example plaintext', () => {
    const keys = rfcKeys();

    const plaintext = decryptPushMessage(rfcBody, keys);

    expect(keys.ecdh.getPublicKey('base64url')).toBe(
      'BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4',
    );
    expect(plaintext.toString('utf8')).toBe('When I grow up, I want to be a watermelon');
  });

  it('when one bit of the RFC example ciphertext is flipped, then it refuses with 400', () => {
    const tampered = Buffer.from(rfcBody);
    tampered[tampered.length - 1]! ^= 0x40;

    const refusal = captureThrow(() => decryptPushMessage(tampered, rfcKeys()));

    expect(refusal).toBeInstanceOf(PushRefusal);
    expect(refusal).toMatchObject({ status: 400, message: expect.stringMatching(/does not decrypt/) });
  });
});

function captureThrow(act: () => unknown): unknown {
  try {
    act();
  } catch (err) {
    return err;
  }
  return undefined;
}
