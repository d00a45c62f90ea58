import mongoose from 'mongoose';
import webpush from 'web-push';
import { addUser, createToken } from '../../server/auth/users';
import type { DeviceResult, PushOutcome } from '../../server/push/deliver';
import { Pager, storedKeyPager } from '../../server/push/pager';
import { subscriptionId } from '../../server/push/subscriptions';
import { rotateVapidKeys, vapidKeys } from '../../server/push/vapid';
import { startDesk, testLog, type Desk } from '../support/desk';
import { uniqueName } from '../support/env';
import { startPushService, type PushService, type PushSubscriptionJson } from '../support/push-service';

// Web Push delivery through the desk's API, as a member uses it, against the local HTTPS push
// service (test/support/push-service.ts), which checks VAPID and decrypts every payload itself.

let desk: Desk;
let push: PushService;

beforeAll(async () => {
  push = await startPushService();
  desk = await startDesk();
});
afterAll(async () => {
  await push.close();
  await desk.stop();
});
beforeEach(() => push.clear());

interface Member {
  id: string;
  token: string;
}
/** A device as GET /api/push/subscriptions shows it. */
interface DeviceView {
  id: string;
  userAgent: string;
  pushService: string;
  stale: boolean;
  lastError: string | null;
  lastFailureAt: string | null;
}
/** One device's result, as POST /api/push/test answers it. */
interface ResultJson {
  subscriptionId: string;
  userId: string;
  outcome: PushOutcome;
  attempts: { at: string; status: number | null; error?: string }[];
}

async function newMember(): Promise<Member> {
  const email = `${uniqueName('member')}@example.org`;
  const user = await addUser(email, 'Push Member', 'member');
  return { id: String(user._id), token: await createToken(email) };
}

async function call<T>(who: Member, method: string, path: string, body?: unknown, userAgent = 'Test Phone') {
  const res = await fetch(`${desk.url}/api${path}`, {
    method,
    headers: {
      authorization: `Bearer ${who.token}`,
      'content-type': 'application/json',
      'user-agent': userAgent,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

async function subscribe(who: Member, sub = push.newSubscription(), userAgent?: string) {
  const res = await call<DeviceView>(who, 'POST', '/push/subscriptions', sub, userAgent);
  expect(res.status).toBe(201);
  return res.body;
}

/** A new member with `n` devices subscribed through the API. */
async function memberWithDevices(n: number) {
  const member = await newMember();
  const subs = Array.from({ length: n }, () => push.newSubscription());
  for (const sub of subs) await subscribe(member, sub);
  return { member, subs };
}

async function devices(who: Member): Promise<DeviceView[]> {
  const res = await call<{ subscriptions: DeviceView[] }>(who, 'GET', '/push/subscriptions');
  expect(res.status).toBe(200);
  return res.body.subscriptions;
}

async function testPush(who: Member): Promise<ResultJson[]> {
  const res = await call<{ results: ResultJson[] }>(who, 'POST', '/push/test');
  expect(res.status).toBe(200);
  return res.body.results;
}

const resultFor = <R extends { subscriptionId: string }>(results: R[], sub: PushSubscriptionJson) =>
  results.find((r) => r.subscriptionId === subscriptionId(sub.endpoint));
const statuses = (result?: { attempts: { status: number | null }[] }) =>
  result?.attempts.map((a) => a.status);
/** What the push service saw of one device: every request, and the pushes it accepted. */
const attemptsAt = (sub: PushSubscriptionJson) => push.attempts.filter((a) => a.endpoint === sub.endpoint);
const deliveriesTo = (sub: PushSubscriptionJson) =>
  push.deliveries.filter((d) => d.endpoint === sub.endpoint);

const pushLog = (id: string) =>
  mongoose.connection
    .collection<{ _id: string; userId: string; alert: string; results: DeviceResult[] }>('push_log')
    .findOne({ _id: id });

describe('when a member subscribes devices', () => {
  it('then the device is saved once per endpoint, listed without its keys, and only to its member', async () => {
    const me = await newMember();
    const phone = push.newSubscription();
    const view = await subscribe(me, phone, 'Phone 1');
    expect(view).toMatchObject({
      id: subscriptionId(phone.endpoint),
      pushService: `localhost:${push.port}`,
      userAgent: 'Phone 1',
      stale: false,
    });
    expect(view).not.toHaveProperty('keys');
    expect(view).not.toHaveProperty('endpoint');
    expect(JSON.stringify(view)).not.toContain(phone.keys.auth);

    // The same browser subscribing again updates its record.
    expect((await subscribe(me, phone, 'Phone 1, updated')).id).toBe(view.id);
    expect(await devices(me)).toEqual([
      expect.objectContaining({ id: view.id, userAgent: 'Phone 1, updated' }),
    ]);

    const laptop = await subscribe(me, push.newSubscription(), 'Laptop');
    expect((await devices(me)).map((d) => d.id).sort()).toEqual([view.id, laptop.id].sort());

    const other = await newMember();
    expect(await devices(other)).toEqual([]);
    const theirDelete = await call<{ error: string }>(other, 'DELETE', `/push/subscriptions/${view.id}`);
    expect(theirDelete).toMatchObject({ status: 404, body: { error: 'subscription-not-found' } });
    expect(await devices(me)).toHaveLength(2);

    expect((await call(me, 'DELETE', `/push/subscriptions/${view.id}`)).status).toBe(204);
    expect((await devices(me)).map((d) => d.id)).toEqual([laptop.id]);
  });

  const short = Buffer.alloc(10).toString('base64url');
  it.each([
    [
      'an http endpoint',
      (s: PushSubscriptionJson) => ({ ...s, endpoint: s.endpoint.replace('https:', 'http:') }),
      /^endpoint must be an https URL/,
    ],
    [
      'a short p256dh key',
      (s: PushSubscriptionJson) => ({ ...s, keys: { ...s.keys, p256dh: short } }),
      /^keys\.p256dh must be a 65-byte P-256 key/,
    ],
    [
      'a short auth secret',
      (s: PushSubscriptionJson) => ({ ...s, keys: { ...s.keys, auth: short } }),
      /^keys\.auth must be a 16-byte secret/,
    ],
    ['no keys', (s: PushSubscriptionJson) => ({ endpoint: s.endpoint }), /^keys /],
  ])(
    'then a body with %s is refused with 400 naming the field, and nothing is saved',
    async (_, spoil, message) => {
      const me = await newMember();
      const res = await call<{ error: string; message: string }>(
        me,
        'POST',
        '/push/subscriptions',
        spoil(push.newSubscription()),
      );
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ error: 'bad-body', message: expect.stringMatching(message) });
      expect(await devices(me)).toEqual([]);
    },
  );
});

describe('when a member asks for a test push', () => {
  it('then it is signed with the key GET /api/push/key gives, and a push service bound to another key refuses it', async () => {
    const member = await newMember();
    const { status, body } = await call<{ publicKey: string }>(member, 'GET', '/push/key');
    expect(status).toBe(200);
    expect(Buffer.from(body.publicKey, 'base64url')).toHaveLength(65);
    push.expectVapidKey(body.publicKey);
    try {
      const phone = push.newSubscription();
      await subscribe(member, phone);
      expect((await testPush(member)).map((r) => r.outcome)).toEqual(['delivered']);
      expect(push.rejections).toEqual([]);
      expect(deliveriesTo(phone)).toEqual([
        expect.objectContaining({
          vapidPublicKey: body.publicKey,
          vapid: expect.objectContaining({ aud: push.origin }),
        }),
      ]);

      // The same key is the check: bound to another, the service refuses (403, not retried, not stale).
      push.expectVapidKey(webpush.generateVAPIDKeys().publicKey);
      const [refused] = await testPush(member);
      expect(refused).toMatchObject({ outcome: 'failed' });
      expect(statuses(refused)).toEqual([403]);
      expect(await devices(member)).toEqual([
        expect.objectContaining({ stale: false, lastError: expect.stringMatching(/^403/) }),
      ]);
    } finally {
      push.expectVapidKey(undefined);
    }
  });

  it('then each device gets an urgent push holding only alert, url and id, and every attempt is in the push log', async () => {
    const { member, subs } = await memberWithDevices(2);
    const results = await testPush(member);
    expect(results).toHaveLength(2);
    for (const sub of subs) {
      expect(resultFor(results, sub)).toMatchObject({ userId: member.id, outcome: 'delivered' });
      expect(statuses(resultFor(results, sub))).toEqual([201]);
      const [delivery, ...more] = deliveriesTo(sub);
      expect(more).toEqual([]);
      expect(delivery!.urgency).toBe('high');
      expect(delivery!.ttl).toBeGreaterThan(0);
      expect(delivery!.ttl).toBeLessThanOrEqual(3600);
      const json = delivery!.json as Record<string, unknown>;
      expect(Object.keys(json).sort()).toEqual(['alert', 'id', 'url']);
      expect(json.alert).toBe('test');
    }
    const id = (deliveriesTo(subs[0]!)[0]!.json as { id: string }).id;
    const logged = await pushLog(id);
    expect(logged).toMatchObject({ userId: member.id, alert: 'test' });
    expect(logged!.results.map((r) => [r.subscriptionId, statuses(r)]).sort()).toEqual(
      subs.map((s) => [subscriptionId(s.endpoint), [201]]).sort(),
    );
  });
});

describe('when a push service answers a device with an error', () => {
  it.each([410, 404])(
    'then on %i the device is removed at once, and the other device still gets its push',
    async (status) => {
      const { member, subs } = await memberWithDevices(2);
      const [gone, kept] = subs as [PushSubscriptionJson, PushSubscriptionJson];
      push.respond(gone.endpoint, [{ status }, { status: 201 }]);
      const results = await testPush(member);
      expect(resultFor(results, gone)).toMatchObject({ outcome: 'removed' });
      expect(statuses(resultFor(results, gone))).toEqual([status]);
      expect(resultFor(results, kept)).toMatchObject({ outcome: 'delivered' });
      expect(deliveriesTo(kept)).toHaveLength(1);
      expect((await devices(member)).map((d) => d.id)).toEqual([subscriptionId(kept.endpoint)]);
    },
  );

  it.each([429, 503])(
    'then on %i with Retry-After: 2 it retries after 2 s, not the 0.5–1 s backoff',
    async (status) => {
      const { member, subs } = await memberWithDevices(1);
      const phone = subs[0]!;
      push.respond(phone.endpoint, [{ status, retryAfter: 2 }, { status: 201 }]);
      const [result] = await testPush(member);
      expect(result).toMatchObject({ outcome: 'delivered' });
      expect(statuses(result)).toEqual([status, 201]);
      const [first, second] = attemptsAt(phone);
      expect(second!.at.getTime() - first!.at.getTime()).toBeGreaterThanOrEqual(1950);
      expect(deliveriesTo(phone)).toHaveLength(1);
      // Both attempts are recorded, not only the one that worked.
      const logged = await pushLog((deliveriesTo(phone)[0]!.json as { id: string }).id);
      expect(statuses(logged!.results[0])).toEqual([status, 201]);
    },
  );

  it('then on 500 it retries after a backoff and delivers', async () => {
    const { member, subs } = await memberWithDevices(1);
    const phone = subs[0]!;
    push.respond(phone.endpoint, [{ status: 500 }, { status: 201 }]);
    const [result] = await testPush(member);
    expect(result).toMatchObject({ outcome: 'delivered' });
    expect(statuses(result)).toEqual([500, 201]);
    const [first, second] = attemptsAt(phone);
    expect(second!.at.getTime() - first!.at.getTime()).toBeGreaterThanOrEqual(450);
    expect(deliveriesTo(phone)).toHaveLength(1);
  });
});

describe('when one device is dead', () => {
  it('then a device whose push service answers 3 s late does not delay the other', async () => {
    const { member, subs } = await memberWithDevices(2);
    // Whichever push arrives first is held back 3 s: were the fan-out sequential, the other
    // would not even arrive before that answer, whatever the order.
    push.respond('all', { status: 201, delayMs: 3000 });
    const results = await testPush(member);
    expect(results.map((r) => r.outcome)).toEqual(['delivered', 'delivered']);
    const slow = push.attempts.find((a) => a.answeredAt!.getTime() - a.at.getTime() >= 2900)!;
    expect(slow).toBeDefined();
    const healthy = subs.find((s) => s.endpoint !== slow.endpoint)!;
    const [delivery] = deliveriesTo(healthy);
    expect(slow.answeredAt!.getTime() - delivery!.at.getTime()).toBeGreaterThan(2000);
  });

  it('then a device answered 500 every time fails after the bounded attempts, while the other is delivered first', async () => {
    const { member, subs } = await memberWithDevices(2);
    const [dead, healthy] = subs as [PushSubscriptionJson, PushSubscriptionJson];
    push.respond(
      dead.endpoint,
      Array.from({ length: 6 }, () => ({ status: 500 })),
    );
    const results = await testPush(member);
    expect(resultFor(results, dead)).toMatchObject({ outcome: 'failed' });
    expect(statuses(resultFor(results, dead))).toEqual([500, 500, 500, 500]);
    expect(attemptsAt(dead)).toHaveLength(4);
    expect(resultFor(results, healthy)).toMatchObject({ outcome: 'delivered' });
    const [delivery] = deliveriesTo(healthy);
    expect(delivery!.at.getTime()).toBeLessThan(attemptsAt(dead)[1]!.at.getTime());
    const kept = (await devices(member)).find((d) => d.id === subscriptionId(dead.endpoint));
    expect(kept).toMatchObject({
      stale: false,
      lastError: expect.stringMatching(/^500/),
      lastFailureAt: expect.any(String),
    });
  });

  it('then no more than the pool size are sent at once (a Pager with concurrency 2, three devices)', async () => {
    const { member } = await memberWithDevices(3);
    push.respond(
      'all',
      Array.from({ length: 3 }, () => ({ status: 201, delayMs: 1000 })),
    );
    const pager = new Pager({
      log: testLog,
      keys: () => vapidKeys(undefined, 'mailto:admin@localhost'),
      sender: { concurrency: 2 },
    });
    try {
      const results = await pager.test(member.id);
      expect(results.map((r) => r.outcome)).toEqual(['delivered', 'delivered', 'delivered']);
    } finally {
      pager.close();
    }
    const arrivals = push.attempts.map((a) => a.at.getTime()).sort((a, b) => a - b);
    expect(arrivals[1]! - arrivals[0]!).toBeLessThan(500);
    const firstAnswer = Math.min(...push.attempts.map((a) => a.answeredAt!.getTime()));
    expect(arrivals[2]!).toBeGreaterThanOrEqual(firstAnswer);
  });
});

describe('when the VAPID keys were rotated', () => {
  // The desk's pager reads its keys once per process; a pager made now is the desk after a restart.
  it('then a device subscribed with the old key is refused 403, marked stale, and sent nothing more', async () => {
    const member = await newMember();
    const oldKey = (await call<{ publicKey: string }>(member, 'GET', '/push/key')).body.publicKey;
    const phone = push.newSubscription({ vapidPublicKey: oldKey });
    const view = await subscribe(member, phone);
    const rotated = await rotateVapidKeys('mailto:admin@localhost');
    expect(rotated.previousPublicKey).toBe(oldKey);

    const restarted = storedKeyPager(testLog);
    try {
      expect((await restarted.keys()).publicKey).toBe(rotated.publicKey);
      const results = await restarted.test(member.id);
      expect(results).toEqual([expect.objectContaining({ subscriptionId: view.id, outcome: 'stale' })]);
      expect(statuses(results[0])).toEqual([403]);
      expect(push.deliveries).toEqual([]);
      // The desk still signs with the old key, so `stale` here is the stored mark, not a key mismatch.
      expect(await devices(member)).toEqual([expect.objectContaining({ id: view.id, stale: true })]);

      const sent = push.attempts.length;
      expect(await restarted.toMembers([member.id], { alert: 'test', url: '/' }, { urgent: true })).toEqual(
        [],
      );
      expect((await call(member, 'POST', '/push/test')).status).toBe(409);
      expect(push.attempts).toHaveLength(sent);
    } finally {
      restarted.close();
    }
  });
});
