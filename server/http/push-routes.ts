import { parseBody } from './body';
import { HttpError } from './errors';
import { wrap, type ApiRoute } from './route-kit';
import type { Pager } from '../push/pager';
import {
  removeSubscription,
  saveSubscription,
  subscriptionJson,
  subscriptionView,
  type SubscriptionDoc,
  PushSubscriptionModel,
} from '../push/subscriptions';

/** The member's devices for push notifications, and a test notification to them. */
export function pushRoutes(pager: Pager): ApiRoute[] {
  const currentKey = async () => (await pager.keys()).publicKey;
  return [
    {
      method: 'get',
      path: '/push/key',
      summary: 'The VAPID public key to subscribe with (applicationServerKey)',
      handler: wrap(async () => ({ publicKey: await currentKey() })),
    },
    {
      method: 'get',
      path: '/push/subscriptions',
      summary: 'Your devices that receive push notifications',
      handler: wrap(async (req) => {
        const key = await currentKey();
        const subs = await PushSubscriptionModel.find({ userId: String(req.user!._id) })
          .sort({ createdAt: 1 })
          .lean<SubscriptionDoc[]>();
        return { subscriptions: subs.map((s) => subscriptionView(s, key)) };
      }),
    },
    {
      method: 'post',
      path: '/push/subscriptions',
      summary: 'Receive push notifications on this device: the browser’s PushSubscription JSON',
      body: { endpoint: 'the push service URL (https)', keys: '{ p256dh, auth }' },
      handler: wrap(async (req) => {
        const sub = parseBody(subscriptionJson, req.body);
        const key = await currentKey();
        const saved = await saveSubscription(String(req.user!._id), sub, key, req.get('user-agent') ?? '');
        return subscriptionView(saved, key);
      }, 201),
    },
    {
      method: 'delete',
      path: '/push/subscriptions/:id',
      summary: 'Stop push notifications to one of your devices (its id, or its endpoint URL-encoded)',
      handler: (req, res, next) => {
        removeSubscription(String(req.user!._id), String(req.params.id))
          .then((removed) => {
            if (!removed) throw new HttpError(404, 'subscription-not-found', 'You have no such device.');
            res.status(204).end();
          })
          .catch(next);
      },
    },
    {
      method: 'post',
      path: '/push/test',
      summary: 'Send a test notification to each of your devices, and say how each went',
      handler: wrap(async (req) => {
        const results = await pager.test(String(req.user!._id));
        if (!results.length)
          throw new HttpError(409, 'no-devices', 'Turn on notifications on a device first.');
        return { results };
      }),
    },
  ];
}
