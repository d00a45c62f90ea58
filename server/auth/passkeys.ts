import mongoose, { Schema, type InferSchemaType } from 'mongoose';
import { randomBytes } from 'node:crypto';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { isDuplicateKey } from '../db/connection';
import { happenOnce } from '../db/once';
import { User, type UserDoc } from './users';

/**
 * Passkeys (WebAuthn): a member adds them once signed in, then signs in with one and no username
 * (they are discoverable credentials). User verification is required both times; the origin and
 * RP ID are exactly those of PUBLIC_URL. Each ceremony answers a stored challenge that lives five
 * minutes and is spent by a unique insert before the answer is verified, so it works once even
 * when two requests race.
 */

export const CHALLENGE_TTL_MS = 5 * 60_000;
export const MAX_PASSKEYS = 20;
const RP_NAME = 'Tocsin';

const passkeySchema = new Schema(
  {
    /** The credential id, base64url. */
    _id: String,
    userId: { type: Schema.Types.ObjectId, required: true, index: true },
    /** The COSE public key, as the authenticator gave it. */
    publicKey: { type: Buffer, required: true },
    /** The signature counter last seen; 0 for authenticators that do not count (synced passkeys). */
    counter: { type: Number, required: true },
    transports: { type: [String], default: [] },
    deviceType: { type: String, required: true },
    backedUp: { type: Boolean, required: true },
    name: { type: String, required: true },
    createdAt: { type: Date, required: true },
    lastUsedAt: Date,
  },
  { versionKey: false },
);
export const Passkey = mongoose.model('Passkey', passkeySchema, 'passkeys');
type PasskeyDoc = InferSchemaType<typeof passkeySchema> & { _id: string };

const PURPOSES = ['register', 'sign-in'] as const;
type Purpose = (typeof PURPOSES)[number];

const challengeSchema = new Schema(
  {
    _id: String,
    challenge: { type: String, required: true },
    purpose: { type: String, enum: PURPOSES, required: true },
    /** Whose registration this is; unset for sign-in, where nobody is known yet. */
    userId: Schema.Types.ObjectId,
    expiresAt: { type: Date, required: true },
  },
  { versionKey: false },
);
const PasskeyChallenge = mongoose.model('PasskeyChallenge', challengeSchema, 'passkey_challenges');
type ChallengeDoc = InferSchemaType<typeof challengeSchema> & { _id: string };

export type RefusalReason =
  | 'challenge-unknown'
  | 'challenge-expired'
  | 'challenge-used'
  | 'challenge-mismatch'
  | 'unknown-passkey'
  | 'not-verified'
  | 'counter-regressed'
  | 'not-discoverable'
  | 'already-registered'
  | 'too-many';

/** Why a ceremony was not accepted: `message` is for the member, `detail` for the log only. */
export interface PasskeyRefusal {
  refused: RefusalReason;
  message: string;
  detail?: string;
}

const MESSAGES: Record<RefusalReason, string> = {
  'challenge-unknown': 'This passkey request is not known, or was answered already: start again.',
  'challenge-expired': 'This passkey request has expired (they last 5 minutes): start again.',
  'challenge-used': 'This passkey request was answered already: each works once. Start again.',
  'challenge-mismatch': 'This passkey request was made for something else: start again.',
  'unknown-passkey': 'This passkey is not registered with this desk: sign in by email link and add it.',
  'not-verified': 'The passkey’s answer could not be verified.',
  'counter-regressed':
    'This passkey’s signature counter went backwards, so it may have been copied: sign in by email link and check your passkeys.',
  'not-discoverable': 'This authenticator did not store a discoverable passkey, so it cannot sign in alone.',
  'already-registered': 'This passkey is registered already.',
  'too-many': `You have ${MAX_PASSKEYS} passkeys: remove one before adding another.`,
};

const refuse = (refused: RefusalReason, detail?: string): PasskeyRefusal => ({
  refused,
  message: MESSAGES[refused],
  ...(detail ? { detail } : {}),
});

export const isRefusal = (value: unknown): value is PasskeyRefusal =>
  typeof value === 'object' && value !== null && 'refused' in value;

/** The relying party PUBLIC_URL names: its exact origin, and its host name as the RP ID. */
function relyingParty(publicUrl: string) {
  const url = new URL(publicUrl);
  return { origin: url.origin, rpID: url.hostname };
}

/** The WebAuthn user handle: the member's id as 12 bytes, so no address or name is in it. */
const userHandle = (userId: mongoose.Types.ObjectId) => new Uint8Array(Buffer.from(String(userId), 'hex'));

/** Abandoned challenges are dropped now and then (the collection is scanned: it stays small). */
const PRUNE_EVERY_MS = 60_000;
let lastPrune = 0;
async function pruneChallenges(now: number): Promise<void> {
  if (now - lastPrune < PRUNE_EVERY_MS) return;
  lastPrune = now;
  await PasskeyChallenge.deleteMany({ expiresAt: { $lt: new Date(now) } });
}

async function storeChallenge(challenge: string, purpose: Purpose, userId?: mongoose.Types.ObjectId) {
  const now = Date.now();
  await pruneChallenges(now);
  const id = randomBytes(18).toString('base64url');
  await PasskeyChallenge.create({
    _id: id,
    challenge,
    purpose,
    userId,
    expiresAt: new Date(now + CHALLENGE_TTL_MS),
  });
  return id;
}

/**
 * Spends a challenge: its stored value when it is live, of this purpose and (for registration)
 * this member's, and this is the one call that gets to answer it.
 */
async function spendChallenge(
  id: string,
  purpose: Purpose,
  userId?: mongoose.Types.ObjectId,
): Promise<string | PasskeyRefusal> {
  const doc = await PasskeyChallenge.findById(id).lean<ChallengeDoc>();
  if (!doc) return refuse('challenge-unknown');
  if (doc.purpose !== purpose) return refuse('challenge-mismatch');
  if (purpose === 'register' && (!userId || !doc.userId || !doc.userId.equals(userId)))
    return refuse('challenge-mismatch');
  if (doc.expiresAt.getTime() <= Date.now()) return refuse('challenge-expired');
  if (!(await happenOnce(`passkey-challenge:${id}`))) return refuse('challenge-used');
  await PasskeyChallenge.deleteOne({ _id: id });
  return doc.challenge;
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

export interface PasskeySummary {
  id: string;
  name: string;
  deviceType: string;
  backedUp: boolean;
  transports: string[];
  createdAt: Date;
  lastUsedAt?: Date;
}

const summary = (p: PasskeyDoc): PasskeySummary => ({
  id: p._id,
  name: p.name,
  deviceType: p.deviceType,
  backedUp: p.backedUp,
  transports: [...p.transports],
  createdAt: p.createdAt,
  ...(p.lastUsedAt ? { lastUsedAt: p.lastUsedAt } : {}),
});

/** Options for navigator.credentials.create(), excluding the member's existing passkeys. */
export async function registrationOptions(
  user: UserDoc,
  publicUrl: string,
): Promise<{ challengeId: string; options: PublicKeyCredentialCreationOptionsJSON }> {
  const { rpID } = relyingParty(publicUrl);
  const existing = await Passkey.find({ userId: user._id }).lean<PasskeyDoc[]>();
  const options = await generateRegistrationOptions({
    rpName: RP_NAME,
    rpID,
    userID: userHandle(user._id),
    userName: user.email,
    userDisplayName: user.name,
    timeout: CHALLENGE_TTL_MS,
    attestationType: 'none',
    excludeCredentials: existing.map((p) => ({ id: p._id, transports: [...p.transports] })),
    authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
  });
  const challengeId = await storeChallenge(options.challenge, 'register', user._id);
  return { challengeId, options };
}

/** Verifies the authenticator's answer and stores the new passkey. */
export async function finishRegistration(
  user: UserDoc,
  challengeId: string,
  response: RegistrationResponseJSON,
  publicUrl: string,
  name?: string,
): Promise<PasskeySummary | PasskeyRefusal> {
  const challenge = await spendChallenge(challengeId, 'register', user._id);
  if (isRefusal(challenge)) return challenge;
  const { origin, rpID } = relyingParty(publicUrl);
  let verified;
  try {
    verified = await verifyRegistrationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: origin,
      expectedRPID: rpID,
      requireUserPresence: true,
      requireUserVerification: true,
    });
  } catch (err) {
    return refuse('not-verified', errorText(err));
  }
  if (!verified.verified) return refuse('not-verified');
  // credProps is always asked for; an authenticator that says it kept no resident key can not
  // be used for username-less sign-in.
  if (response.clientExtensionResults?.credProps?.rk === false) return refuse('not-discoverable');
  const owned = await Passkey.find({ userId: user._id }).lean<PasskeyDoc[]>();
  if (owned.length >= MAX_PASSKEYS) return refuse('too-many');
  const info = verified.registrationInfo;
  const now = new Date();
  const doc: PasskeyDoc = {
    _id: info.credential.id,
    userId: user._id,
    publicKey: Buffer.from(info.credential.publicKey),
    counter: info.credential.counter,
    transports: info.credential.transports ?? [],
    deviceType: info.credentialDeviceType,
    backedUp: info.credentialBackedUp,
    name: name?.trim() || `Passkey added ${now.toISOString().slice(0, 10)}`,
    createdAt: now,
  };
  try {
    await Passkey.create(doc);
  } catch (err) {
    if (isDuplicateKey(err)) return refuse('already-registered');
    throw err;
  }
  return summary(doc);
}

/** Options for navigator.credentials.get(): no allowCredentials, the authenticator offers its own. */
export async function signInOptions(
  publicUrl: string,
): Promise<{ challengeId: string; options: PublicKeyCredentialRequestOptionsJSON }> {
  const options = await generateAuthenticationOptions({
    rpID: relyingParty(publicUrl).rpID,
    timeout: CHALLENGE_TTL_MS,
    userVerification: 'required',
  });
  const challengeId = await storeChallenge(options.challenge, 'sign-in');
  return { challengeId, options };
}

/** Verifies a sign-in assertion: the member it signs in, or why not. */
export async function finishSignIn(
  challengeId: string,
  response: AuthenticationResponseJSON,
  publicUrl: string,
): Promise<UserDoc | PasskeyRefusal> {
  const challenge = await spendChallenge(challengeId, 'sign-in');
  if (isRefusal(challenge)) return challenge;
  const id = response.id;
  const passkey = await Passkey.findById(id);
  if (!passkey) return refuse('unknown-passkey');
  // The user was not named before the ceremony, so the authenticator must say whose key it is.
  const handle = response.response.userHandle;
  if (!handle || handle !== Buffer.from(userHandle(passkey.userId)).toString('base64url'))
    return refuse('not-verified', 'the user handle does not match the passkey’s owner');
  const { origin, rpID } = relyingParty(publicUrl);
  let verified;
  try {
    verified = await verifyAuthenticationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: origin,
      expectedRPID: rpID,
      credential: {
        id,
        publicKey: new Uint8Array(passkey.publicKey),
        counter: passkey.counter,
        transports: [...passkey.transports],
      },
      requireUserVerification: true,
    });
  } catch (err) {
    const text = errorText(err);
    return refuse(/counter value/i.test(text) ? 'counter-regressed' : 'not-verified', text);
  }
  if (!verified.verified) return refuse('not-verified');
  const info = verified.authenticationInfo;
  // Two answers carrying the same counter value mean a copied key: only the first may use it.
  if (info.newCounter > 0 && !(await happenOnce(`passkey-counter:${id}:${info.newCounter}`)))
    return refuse('counter-regressed', `counter ${info.newCounter} was seen already`);
  // Conditional, so that a slower request can not wind the counter back.
  await Passkey.updateOne(
    { _id: id, counter: { $lte: info.newCounter } },
    {
      $set: {
        counter: info.newCounter,
        backedUp: info.credentialBackedUp,
        deviceType: info.credentialDeviceType,
        lastUsedAt: new Date(),
      },
    },
  );
  return (await User.findById(passkey.userId).lean<UserDoc>()) ?? refuse('unknown-passkey');
}

/** The member's passkeys, oldest first. */
export async function listPasskeys(user: UserDoc): Promise<PasskeySummary[]> {
  const docs = await Passkey.find({ userId: user._id }).lean<PasskeyDoc[]>();
  return docs.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime()).map(summary);
}

/** Removes one of the member's own passkeys; false when it is not theirs or not found. */
export async function removePasskey(user: UserDoc, id: string): Promise<boolean> {
  const result = await Passkey.deleteOne({ _id: id, userId: user._id });
  return result.deletedCount === 1;
}
