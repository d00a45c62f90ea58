import mongoose, { Schema, type InferSchemaType } from 'mongoose';
import { randomBytes } from 'node:crypto';
import { sha256 } from '../lib/hash';
import { isDuplicateKey } from '../db/connection';
import { Recent } from './recent';

export const ROLES = ['admin', 'lead', 'member'] as const;
export type Role = (typeof ROLES)[number];

const userSchema = new Schema(
  {
    email: { type: String, required: true, unique: true, lowercase: true, trim: true },
    name: { type: String, required: true },
    role: { type: String, enum: ROLES, required: true },
    /** Marked on call by the member themselves (server/clocks/oncall.ts; a rota may add others). */
    onCall: { type: Boolean, default: false },
    /** Hours in which only urgent (SEV1–2) alerts reach the member: local times in their zone. */
    quietHours: {
      type: new Schema({ start: String, end: String, timeZone: String }, { _id: false }),
      default: null,
    },
  },
  { timestamps: true, versionKey: false },
);
export const User = mongoose.model('User', userSchema, 'users');
export type UserDoc = InferSchemaType<typeof userSchema> & { _id: mongoose.Types.ObjectId };

/** Personal API tokens. Only the SHA-256 of a token is stored; the token is shown once. */
const tokenSchema = new Schema(
  {
    _id: String,
    userId: { type: Schema.Types.ObjectId, required: true, index: true },
    createdAt: { type: Date, default: () => new Date() },
    lastUsedAt: Date,
  },
  { versionKey: false },
);
const ApiToken = mongoose.model('ApiToken', tokenSchema, 'api_tokens');

export class UserError extends Error {}

const hashToken = (token: string) => sha256(token);

export async function addUser(email: string, name: string, role: string): Promise<UserDoc> {
  if (!/^[^\s@]+@[^\s@]+$/.test(email)) throw new UserError(`${email} is not an email address.`);
  if (!ROLES.includes(role as Role)) throw new UserError(`--role must be one of ${ROLES.join(', ')}.`);
  if (!name.trim()) throw new UserError('--name must not be empty.');
  try {
    const user = await User.create({ email, name: name.trim(), role: role as Role });
    return user.toObject() as UserDoc;
  } catch (err) {
    if (isDuplicateKey(err)) throw new UserError(`A member with the address ${email} exists already.`);
    throw err;
  }
}

export async function createToken(email: string): Promise<string> {
  const user = await User.findOne({ email: email.toLowerCase().trim() }).lean<UserDoc>();
  if (!user) throw new UserError(`No member has the address ${email}: add one with tocsin user add.`);
  const token = `tcs_${randomBytes(32).toString('base64url')}`;
  await ApiToken.create({ _id: hashToken(token), userId: user._id });
  return token;
}

/** How stale lastUsedAt may get: a request then reads the token, and rarely writes it. */
const LAST_USED_RESOLUTION_MS = 60_000;

const recentTokens = new Recent<UserDoc>();

export async function userForToken(token: string): Promise<UserDoc | undefined> {
  const id = hashToken(token);
  const known = recentTokens.get(id);
  if (known) return known;
  const doc = await ApiToken.findById(id).lean();
  if (!doc) return undefined;
  const now = Date.now();
  if (!doc.lastUsedAt || now - doc.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
    await ApiToken.updateOne({ _id: id }, { $set: { lastUsedAt: new Date(now) } });
  }
  const user = (await User.findById(doc.userId).lean<UserDoc>()) ?? undefined;
  if (user) recentTokens.set(id, user);
  return user;
}

/** Everyone who can sign in, by name, for assigning owners. */
export async function listMembers() {
  const users = await User.find().lean<UserDoc[]>();
  return users
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((u) => ({ id: String(u._id), name: u.name, email: u.email, role: u.role }));
}

/** A member by id or by address, or undefined. */
export async function findMember(idOrEmail: string): Promise<UserDoc | undefined> {
  if (mongoose.isValidObjectId(idOrEmail) && !idOrEmail.includes('@'))
    return (await User.findById(idOrEmail).lean<UserDoc>()) ?? undefined;
  return (await User.findOne({ email: idOrEmail.trim().toLowerCase() }).lean<UserDoc>()) ?? undefined;
}
