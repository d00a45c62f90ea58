import mongoose, { Schema } from 'mongoose';
import { randomBytes } from 'node:crypto';
import { sha256 } from '../lib/hash';
import { happenOnce } from '../db/once';
import { User, type UserDoc } from './users';

/**
 * Sign-in links: single use, valid for 15 minutes. Only the SHA-256 of the link's token is
 * stored; using it is a unique insert, so of two racing clicks exactly one signs in.
 */

export const LINK_TTL_MS = 15 * 60_000;

const LoginLink = mongoose.model(
  'LoginLink',
  new Schema(
    {
      _id: String,
      userId: { type: Schema.Types.ObjectId, required: true },
      expiresAt: { type: Date, required: true },
    },
    { versionKey: false, timestamps: { createdAt: true, updatedAt: false } },
  ),
  'login_links',
);

const hash = (token: string) => sha256(token);

/** The page a link opens; it asks for a click before it signs in, so mail scanners use nothing. */
export const linkPath = (token: string) => `/auth/magic?token=${encodeURIComponent(token)}`;

/** A new sign-in link for the member with this address, or undefined when there is none. */
export async function issueLoginLink(
  email: string,
  publicUrl: string,
): Promise<{ user: UserDoc; url: string } | undefined> {
  const user = await User.findOne({ email: email.trim().toLowerCase() }).lean<UserDoc>();
  if (!user) return undefined;
  const token = randomBytes(32).toString('base64url');
  await LoginLink.create({
    _id: hash(token),
    userId: user._id,
    expiresAt: new Date(Date.now() + LINK_TTL_MS),
  });
  return { user, url: publicUrl + linkPath(token) };
}

export type LinkRefusal = 'unknown' | 'expired' | 'used';

/** Uses a link: the member it signs in, or why not. */
export async function useLoginLink(token: string): Promise<UserDoc | LinkRefusal> {
  if (!/^[A-Za-z0-9_-]{20,100}$/.test(token)) return 'unknown';
  const id = hash(token);
  const link = await LoginLink.findById(id).lean<{ userId: mongoose.Types.ObjectId; expiresAt: Date }>();
  if (!link) return 'unknown';
  if (link.expiresAt.getTime() <= Date.now()) return 'expired';
  if (!(await happenOnce(`login-link:${id}`))) return 'used';
  return (await User.findById(link.userId).lean<UserDoc>()) ?? 'unknown';
}

/** Drops links that expired a day ago; used ones are refused by their expiry then anyway. */
export async function pruneLoginLinks(): Promise<void> {
  await LoginLink.deleteMany({ expiresAt: { $lt: new Date(Date.now() - 24 * 3600_000) } });
}
