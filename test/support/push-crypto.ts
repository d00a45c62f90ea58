import { createDecipheriv, createPublicKey, hkdfSync, verify, type ECDH, type KeyObject } from 'node:crypto';

/**
 * The push service's side of the Web Push crypto, written from the RFCs and independent of the
 * libraries Tocsin sends with: the VAPID check (RFC 8292) and the aes128gcm decryption
 * (RFC 8291 on RFC 8188).
 */

/** A request the push service refuses, with the status it answers and why. */
export class PushRefusal extends Error {
  constructor(
    readonly status: number,
    reason: string,
  ) {
    super(reason);
  }
}

export interface VapidClaims {
  sub: string;
  aud: string;
  exp: number;
}

export interface VerifiedVapid {
  claims: VapidClaims;
  /** The application server's public key, base64url, as sent in `k`. */
  publicKey: string;
}

const MAX_EXPIRY_SECONDS = 24 * 60 * 60;

/**
 * Checks the VAPID credentials of a push request: `Authorization: vapid t=<jwt>, k=<key>`
 * (RFC 8292), or the draft form web-push still sends with the aesgcm encoding,
 * `Authorization: WebPush <jwt>` with `Crypto-Key: p256ecdsa=<key>`.
 */
export function verifyVapid(
  authorization: string | undefined,
  cryptoKey: string | undefined,
  audience: string,
  now = Date.now(),
): VerifiedVapid {
  const { jwt, key } = vapidCredentials(authorization, cryptoKey);
  const parts = jwt.split('.');
  if (parts.length !== 3) throw new PushRefusal(401, 'the VAPID token is not a JWT');
  const [encodedHeader, encodedClaims, signature] = parts as [string, string, string];
  const header = jsonPart(encodedHeader, 'header');
  if (header.alg !== 'ES256')
    throw new PushRefusal(401, `the VAPID JWT alg is ${String(header.alg)}, not ES256`);
  const signed = Buffer.from(`${encodedHeader}.${encodedClaims}`);
  const valid = verify(
    'sha256',
    signed,
    { key: publicKeyObject(key), dsaEncoding: 'ieee-p1363' },
    Buffer.from(signature, 'base64url'),
  );
  if (!valid) throw new PushRefusal(401, 'the VAPID JWT signature does not match k');
  const claims = jsonPart(encodedClaims, 'claims');
  const { aud, exp, sub } = claims;
  if (aud !== audience) throw new PushRefusal(401, `the VAPID aud is ${String(aud)}, not ${audience}`);
  if (typeof exp !== 'number' || !Number.isInteger(exp))
    throw new PushRefusal(401, 'the VAPID exp is missing');
  const nowSeconds = Math.floor(now / 1000);
  if (exp <= nowSeconds) throw new PushRefusal(401, 'the VAPID JWT has expired');
  if (exp > nowSeconds + MAX_EXPIRY_SECONDS) {
    throw new PushRefusal(401, `the VAPID exp is ${exp - nowSeconds} s ahead, more than 24 h`);
  }
  if (typeof sub !== 'string' || !/^(mailto|https):/.test(sub)) {
    throw new PushRefusal(401, `the VAPID sub is ${String(sub)}, not a mailto: or https: URL`);
  }
  return { claims: { aud, exp, sub }, publicKey: key };
}

function vapidCredentials(authorization = '', cryptoKey = ''): { jwt: string; key: string } {
  const scheme = authorization.split(' ', 1)[0]!.toLowerCase();
  if (scheme === 'vapid') {
    const params = new Map<string, string>();
    for (const param of authorization.slice(scheme.length).split(',')) {
      const match = /^\s*(\w+)\s*=\s*(\S+)\s*$/.exec(param);
      if (match) params.set(match[1]!.toLowerCase(), match[2]!);
    }
    const jwt = params.get('t');
    const key = params.get('k');
    if (jwt && key) return { jwt, key };
    throw new PushRefusal(401, 'the vapid Authorization lacks t= or k=');
  }
  if (scheme === 'webpush') {
    const key = /(?:^|[;,]\s*)p256ecdsa=([A-Za-z0-9_-]+)/.exec(cryptoKey)?.[1];
    if (key) return { jwt: authorization.slice(scheme.length).trim(), key };
    throw new PushRefusal(401, 'a WebPush Authorization came without Crypto-Key p256ecdsa=');
  }
  throw new PushRefusal(401, authorization ? `unknown Authorization scheme ${scheme}` : 'no Authorization');
}

function jsonPart(encoded: string, what: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
    if (value && typeof value === 'object') return value as Record<string, unknown>;
  } catch {
    // answered below
  }
  throw new PushRefusal(401, `the VAPID JWT ${what} is not a JSON object`);
}

/** A raw uncompressed P-256 point (65 bytes, base64url) as a KeyObject, or a 401. */
function publicKeyObject(key: string): KeyObject {
  const raw = Buffer.from(key, 'base64url');
  if (raw.length !== 65 || raw[0] !== 0x04) {
    throw new PushRefusal(401, 'k is not an uncompressed P-256 public key');
  }
  const coordinate = (from: number) => raw.subarray(from, from + 32).toString('base64url');
  try {
    return createPublicKey({
      key: { kty: 'EC', crv: 'P-256', x: coordinate(1), y: coordinate(33) },
      format: 'jwk',
    });
  } catch {
    throw new PushRefusal(401, 'k is not a point on P-256');
  }
}

/** The user agent's keys of one subscription: what a browser keeps to read its pushes. */
export interface SubscriptionKeys {
  ecdh: ECDH;
  authSecret: Buffer;
}

const HEADER_FIXED_BYTES = 16 + 4 + 1;
const TAG_BYTES = 16;

/**
 * Decrypts an `aes128gcm` push message body: the RFC 8188 header (salt, record size, key id =
 * the sender's ephemeral public key), keys per RFC 8291, one AES-128-GCM record ending in the
 * 0x02 delimiter and zero padding. Throws a 400 refusal on anything malformed.
 */
export function decryptPushMessage(body: Buffer, keys: SubscriptionKeys): Buffer {
  if (body.length < HEADER_FIXED_BYTES)
    throw new PushRefusal(400, 'the body is shorter than an aes128gcm header');
  const salt = body.subarray(0, 16);
  const recordSize = body.readUInt32BE(16);
  const idLength = body[20]!;
  const senderPublicKey = body.subarray(HEADER_FIXED_BYTES, HEADER_FIXED_BYTES + idLength);
  const record = body.subarray(HEADER_FIXED_BYTES + idLength);
  if (idLength !== 65) throw new PushRefusal(400, `the key id is ${idLength} bytes, not a 65-byte P-256 key`);
  if (record.length <= TAG_BYTES) throw new PushRefusal(400, 'the body holds no ciphertext');
  if (record.length > recordSize) throw new PushRefusal(400, 'the message spans more than one record');

  let sharedSecret: Buffer;
  try {
    sharedSecret = keys.ecdh.computeSecret(senderPublicKey);
  } catch {
    throw new PushRefusal(400, "the sender's key id is not a point on P-256");
  }
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), keys.ecdh.getPublicKey(), senderPublicKey]);
  const ikm = hkdf(sharedSecret, keys.authSecret, keyInfo, 32);
  const cek = hkdf(ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16);
  const nonce = hkdf(ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12);

  let padded: Buffer;
  try {
    const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
    decipher.setAuthTag(record.subarray(record.length - TAG_BYTES));
    padded = Buffer.concat([
      decipher.update(record.subarray(0, record.length - TAG_BYTES)),
      decipher.final(),
    ]);
  } catch {
    throw new PushRefusal(400, 'the payload does not decrypt with the subscription keys');
  }
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  if (padded[end] !== 0x02) throw new PushRefusal(400, 'the last record lacks the 0x02 padding delimiter');
  return padded.subarray(0, end);
}

function hkdf(ikm: Buffer, salt: Buffer, info: Buffer, length: number): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, salt, info, length));
}
