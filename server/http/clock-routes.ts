import { z } from 'zod';
import { authorize } from '../auth/policy';
import { User, type UserDoc } from '../auth/users';
import type { Playbook } from '../cases/playbook';
import { caseDetail } from './case-json';
import { parseBody } from './body';
import { HttpError } from './errors';
import { wrap, type ApiRoute } from './route-kit';
import { getRota, inQuietHours, onCallNow, quietHoursJson, rotaJson, setRota } from '../clocks/oncall';
import { takePage, recordBreach, recordReview } from '../clocks/records';

/** Taking a page, the breach and review records, and who is on call. */

const version = z.number().int().min(0);
const time = z.iso.datetime({ offset: true }).transform((s) => new Date(s));

const breachBody = z
  .object({
    version,
    awareAt: time.optional(),
    authorityNotified: z
      .object({
        at: time,
        reference: z.string().trim().min(1, 'must name the authority’s reference').max(200),
        reason: z.string().trim().max(5000).optional(),
      })
      .strict()
      .nullable()
      .optional(),
  })
  .strict();

const reviewBody = z
  .object({ version, at: time.optional(), link: z.string().trim().min(1).max(2000) })
  .strict();

const pagingBody = z
  .object({ onCall: z.boolean().optional(), quietHours: quietHoursJson.nullable().optional() })
  .strict();

function paging(user: UserDoc, onCall: Set<string>, now: Date) {
  return {
    onCall: user.onCall ?? false,
    onCallNow: onCall.has(String(user._id)),
    quietHours: user.quietHours ?? null,
    inQuietHours: inQuietHours(user, now),
  };
}

export function clockRoutes(playbook: () => Playbook): ApiRoute[] {
  return [
    {
      method: 'post',
      path: '/cases/:key/ack',
      access: 'case:work',
      summary: 'Take the case’s page: paging stops and the response time is met (no version needed)',
      handler: wrap(async (req) => caseDetail(await takePage(String(req.params.key), req.user!), playbook())),
    },
    {
      method: 'put',
      path: '/cases/:key/breach',
      access: 'case:work',
      summary:
        'The personal-data breach record (GDPR Art. 33): when the committee became aware, and when the authority was notified (after 72 hours, with the reasons)',
      body: {
        version: 'the case version you last saw',
        awareAt: 'ISO time of awareness (defaults to the first report)',
        authorityNotified: '{ at, reference, reason } or null',
      },
      handler: wrap(async (req) => {
        const { version: seen, ...input } = parseBody(breachBody, req.body);
        const doc = await recordBreach(String(req.params.key), seen, input, req.user!, playbook());
        return caseDetail(doc, playbook());
      }),
    },
    {
      method: 'put',
      path: '/cases/:key/review',
      access: 'case:work',
      summary: 'Record the post-incident review as done, with a link to it',
      body: {
        version: 'the case version you last saw',
        at: 'optional ISO time',
        link: 'where the review is',
      },
      handler: wrap(async (req) => {
        const { version: seen, ...input } = parseBody(reviewBody, req.body);
        return caseDetail(await recordReview(String(req.params.key), seen, input, req.user!), playbook());
      }),
    },
    {
      method: 'get',
      path: '/me/paging',
      summary: 'Whether you are on call (by your own mark or the rota), and your quiet hours',
      handler: wrap(async (req) => {
        const now = new Date();
        // Read afresh: the signed-in member is remembered for a moment, and may have just changed this.
        const users = await User.find().lean<UserDoc[]>();
        const user = users.find((u) => String(u._id) === String(req.user!._id)) ?? req.user!;
        return paging(user, await onCallNow(now, users), now);
      }),
    },
    {
      method: 'patch',
      path: '/me/paging',
      summary: 'Mark yourself on call or not, and set quiet hours (only SEV1–2 alerts ring through them)',
      body: {
        onCall: 'boolean',
        quietHours: '{ start: "22:00", end: "07:00", timeZone: "Europe/Berlin" } or null',
      },
      handler: wrap(async (req) => {
        const body = parseBody(pagingBody, req.body);
        const set: Record<string, unknown> = {};
        if (body.onCall !== undefined) set.onCall = body.onCall;
        if (body.quietHours !== undefined) set.quietHours = body.quietHours;
        const user = await User.findByIdAndUpdate(
          req.user!._id,
          { $set: set },
          { returnDocument: 'after' },
        ).lean<UserDoc>();
        if (!user) throw new HttpError(404, 'member-not-found', 'Your account is gone.');
        const now = new Date();
        return paging(user, await onCallNow(now, await User.find().lean<UserDoc[]>()), now);
      }),
    },
    {
      method: 'get',
      path: '/oncall',
      summary: 'Who is on call now, and the weekly rota',
      handler: wrap(async () => {
        const now = new Date();
        const users = await User.find().lean<UserDoc[]>();
        const ids = await onCallNow(now, users);
        return {
          now: users
            .filter((u) => ids.has(String(u._id)))
            .map((u) => ({ id: String(u._id), name: u.name, self: !!u.onCall })),
          rota: await getRota(),
        };
      }),
    },
    {
      method: 'put',
      path: '/oncall/rota',
      summary: 'Set the weekly on-call rota (admins only)',
      body: {
        timeZone: 'IANA time zone',
        slots: '[{ day: 0–6 (Sunday 0), start: "HH:MM", end: "HH:MM", userId }]',
      },
      handler: wrap(async (req) => {
        authorize(req.user!, 'members:manage');
        const rota = parseBody(rotaJson, req.body);
        const known = new Set((await User.find().lean<UserDoc[]>()).map((u) => String(u._id)));
        const stranger = rota.slots.find((s) => !known.has(s.userId));
        if (stranger) throw new HttpError(400, 'unknown-member', `No member has the id ${stranger.userId}.`);
        await setRota(rota);
        return getRota();
      }),
    },
  ];
}
