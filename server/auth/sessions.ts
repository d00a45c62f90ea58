import mongoose, { Schema } from 'mongoose';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { sha256 } from '../lib/hash';
import { Recent } from './recent';
import { User, type UserDoc } from './users';

/**
 * Sign-in sessions, kept in the database so that they can be listed and ended. The cookie holds
 * a random token; only its SHA-256 is stored. Each session has its own CSRF token, which the
 * client sends back as X-CSRF-Token on every state-changing request made with the cookie.
 */

export const SESSION_MAX_AGE_MS = 30 * 24 * 3600_000;
export const SESSION_IDLE_MS = 7 * 24 * 3600_000;
/** How stale lastSeenAt may get: a request reads the session and rarely writes it. */
const SEEN_RESOLUTION_MS = 60_000;

const sessionSchema = new Schema(
  {
    _id: String,
    /** What the member sees and ends a session by; not the cookie's secret. */
    publicId: { type: String, required: true },
    userId: { type: Schema.Types.ObjectId, required: true, index: true },
    csrf: { type: String, required: true },
    method: { type: String, required: true },
    userAgent: { type: String, default: '' },
    ip: { type: String, default: '' },
    createdAt: { type: Date, required: true },
    lastSeenAt: { type: Date, required: true },
    expiresAt: { type: Date, required: true },
    endedAt: Date,
  },
  { versionKey: false },
);
const Session = mongoose.model('Session', sessionSchema, 'sessions');

interface SessionDoc {
  _id: string;
  publicId: string;
  userId: mongoose.Types.ObjectId;
  csrf: string;
  method: string;
  userAgent: string;
  ip: string;
  createdAt: Date;
  lastSeenAt: Date;
  expiresAt: Date;
  endedAt?: Date;
}

export type SignInMethod = 'magic-link' | 'passkey';

const hash = (token: string) => sha256(token);

export interface NewSession {
  /** The cookie's value, shown once. */
  token: string;
  csrf: string;
}

/** Starts a new session for the member (a sign-in never reuses an earlier one). */
export async function startSession(
  user: UserDoc,
  method: SignInMethod,
  client: { userAgent?: string; ip?: string },
): Promise<NewSession> {
  const token = randomBytes(32).toString('base64url');
  const csrf = randomBytes(24).toString('base64url');
  const now = new Date();
  await Session.create({
    _id: hash(token),
    publicId: randomBytes(9).toString('base64url'),
    userId: user._id,
    csrf,
    method,
    userAgent: (client.userAgent ?? '').slice(0, 300),
    ip: client.ip ?? '',
    createdAt: now,
    lastSeenAt: now,
    expiresAt: new Date(now.getTime() + SESSION_MAX_AGE_MS),
  });
  return { token, csrf };
}

export interface ActiveSession {
  user: UserDoc;
  publicId: string;
  csrf: string;
}

/** The live session a cookie token names, or undefined (unknown, ended, expired or idle too long). */
const recentSessions = new Recent<ActiveSession>();

export async function sessionForToken(token: string): Promise<ActiveSession | undefined> {
  const id = hash(token);
  const known = recentSessions.get(id);
  if (known) return known;
  const doc = await Session.findById(id).lean<SessionDoc>();
  const now = Date.now();
  if (!doc || doc.endedAt || doc.expiresAt.getTime() <= now) return undefined;
  if (now - doc.lastSeenAt.getTime() > SESSION_IDLE_MS) return undefined;
  const user = await User.findById(doc.userId).lean<UserDoc>();
  if (!user) return undefined;
  if (now - doc.lastSeenAt.getTime() > SEEN_RESOLUTION_MS)
    await Session.updateOne({ _id: id }, { $set: { lastSeenAt: new Date(now) } });
  const session = { user, publicId: doc.publicId, csrf: doc.csrf };
  recentSessions.set(id, session);
  return session;
}

export function csrfMatches(expected: string, given: string | undefined): boolean {
  if (!given) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A member's own live sessions, newest first, for the settings screen. */
export async function listSessions(user: UserDoc, current?: string) {
  const docs = await Session.find({ userId: user._id }).lean<SessionDoc[]>();
  const now = Date.now();
  return docs
    .filter(
      (d) => !d.endedAt && d.expiresAt.getTime() > now && now - d.lastSeenAt.getTime() <= SESSION_IDLE_MS,
    )
    .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())
    .map((d) => ({
      id: d.publicId,
      current: d.publicId === current,
      method: d.method,
      userAgent: d.userAgent,
      ip: d.ip,
      createdAt: d.createdAt,
      lastSeenAt: d.lastSeenAt,
      expiresAt: d.expiresAt,
    }));
}

/** Ends one of the member's own sessions; false when it is not theirs or not found. */
export async function endSession(user: UserDoc, publicId: string): Promise<boolean> {
  const docs = await Session.find({ userId: user._id }).lean<SessionDoc[]>();
  const doc = docs.find((d) => d.publicId === publicId && !d.endedAt);
  if (!doc) return false;
  await Session.updateOne({ _id: doc._id }, { $set: { endedAt: new Date() } });
  recentSessions.forget(doc._id);
  return true;
}

/** The session cookie: `__Host-` prefixed and Secure when the desk is served over https. */
export function sessionCookie(publicUrl: string) {
  const secure = publicUrl.startsWith('https:');
  return {
    name: secure ? '__Host-tocsin' : 'tocsin',
    options: {
      httpOnly: true,
      secure,
      sameSite: 'lax' as const,
      path: '/',
      maxAge: SESSION_MAX_AGE_MS,
    },
  };
}
