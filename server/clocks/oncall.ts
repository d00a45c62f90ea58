import mongoose, { Schema } from 'mongoose';
import { z } from 'zod';
import { seesCase } from '../auth/policy';
import { User, type UserDoc } from '../auth/users';
import type { CaseDoc } from '../cases/models';
import type { Audience } from '../cases/deadlines';

/**
 * Who is woken: members on call (by their own say-so, or by the weekly rota an admin keeps), the
 * leads, and everyone, in rising levels; and whose quiet hours hold back the alerts that can wait.
 */

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a time as HH:MM (00:00 to 23:59)');
const timeZone = z.string().refine((tz) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}, 'must be an IANA time zone such as Europe/Berlin');

export const quietHoursJson = z.object({ start: hhmm, end: hhmm, timeZone }).strict();
export type QuietHours = z.infer<typeof quietHoursJson>;

export const rotaJson = z
  .object({
    timeZone,
    /** Each slot: a day (0 Sunday … 6 Saturday), a span of local time (past midnight if end ≤ start), a member. */
    slots: z
      .array(
        z
          .object({ day: z.number().int().min(0).max(6), start: hhmm, end: hhmm, userId: z.string() })
          .strict(),
      )
      .max(500),
  })
  .strict();
export type Rota = z.infer<typeof rotaJson>;

const RotaModel = mongoose.model(
  'OnCallRota',
  new Schema(
    {
      _id: String,
      timeZone: String,
      slots: [new Schema({ day: Number, start: String, end: String, userId: String }, { _id: false })],
      updatedAt: Date,
    },
    { versionKey: false },
  ),
  'oncall_rota',
);
const ROTA_ID = 'weekly';

export async function getRota(): Promise<Rota> {
  const doc = await RotaModel.findById(ROTA_ID).lean<Rota>();
  return {
    timeZone: doc?.timeZone ?? 'UTC',
    slots: (doc?.slots ?? []).map(({ day, start, end, userId }) => ({ day, start, end, userId })),
  };
}

export async function setRota(rota: Rota): Promise<void> {
  await RotaModel.updateOne(
    { _id: ROTA_ID },
    { $set: { timeZone: rota.timeZone, slots: rota.slots, updatedAt: new Date() } },
    { upsert: true },
  );
}

const minutesOf = (t: string) => Number(t.slice(0, 2)) * 60 + Number(t.slice(3, 5));

/** The weekday (0 Sunday) and minute of the day at `now` in a time zone. */
export function localTime(now: Date, tz: string): { day: number; minute: number } {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: tz,
    weekday: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(now);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(get('weekday'));
  return { day, minute: Number(get('hour')) * 60 + Number(get('minute')) };
}

/** Whether a local span [start, end) on `day` covers the moment; a span past midnight runs into the next day. */
function covers(
  span: { day?: number; start: string; end: string },
  at: { day: number; minute: number },
): boolean {
  const start = minutesOf(span.start);
  const end = minutesOf(span.end);
  const onDay = (d: number) => span.day === undefined || span.day === d;
  if (start < end) return onDay(at.day) && at.minute >= start && at.minute < end;
  // Past midnight (or all day when start = end).
  return (onDay(at.day) && at.minute >= start) || (onDay((at.day + 6) % 7) && at.minute < end);
}

export function inQuietHours(user: Pick<UserDoc, 'quietHours'>, now: Date): boolean {
  const q = user.quietHours;
  if (!q?.start || !q.end || !q.timeZone) return false;
  return covers({ start: q.start, end: q.end }, localTime(now, q.timeZone));
}

/** The ids of members on call now: by their own mark, or by the rota. */
export async function onCallNow(now: Date, users: UserDoc[]): Promise<Set<string>> {
  const rota = await getRota();
  const at = localTime(now, rota.timeZone);
  const ids = new Set(users.filter((u) => u.onCall).map((u) => String(u._id)));
  for (const slot of rota.slots) if (covers(slot, at)) ids.add(slot.userId);
  return ids;
}

/**
 * The members an alert goes to. `page` is whoever is on call and the leads (admins when the desk
 * has no leads); `owner` is the case's owner, or whoever is on call, or the leads. A restricted
 * case is announced only to those who may open it.
 */
export async function audienceOf(audience: Audience, doc: CaseDoc, now: Date): Promise<UserDoc[]> {
  const users = await User.find().lean<UserDoc[]>();
  const leads = users.filter((u) => u.role === 'lead');
  const leadsOrAdmins = leads.length ? leads : users.filter((u) => u.role === 'admin');
  const onCall = await onCallNow(now, users);
  const onCallUsers = users.filter((u) => onCall.has(String(u._id)));
  const owner = doc.owner?.id ? users.filter((u) => String(u._id) === doc.owner!.id) : [];
  const firstOf = (...groups: UserDoc[][]) => groups.find((g) => g.length) ?? [];
  const picked: Record<Audience, () => UserDoc[]> = {
    page: () => [...onCallUsers, ...leadsOrAdmins],
    leads: () => leadsOrAdmins,
    members: () => users,
    owner: () => firstOf(owner, onCallUsers, leadsOrAdmins),
    'owner-and-leads': () => [...owner, ...leadsOrAdmins],
  };
  const seen = new Set<string>();
  return picked[audience]().filter((u) => {
    const id = String(u._id);
    if (seen.has(id)) return false;
    seen.add(id);
    return seesCase(u, doc);
  });
}
