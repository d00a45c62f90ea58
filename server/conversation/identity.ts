import { randomBytes } from 'node:crypto';
import { isDuplicateKey } from '../db/connection';
import { Setting } from '../db/settings';

/**
 * Who the desk is when it writes mail: the committee address, the domain of our Message-IDs
 * (mail coming back with one of them is our own), and the secret that signs the reply marker.
 */
export interface MailIdentity {
  from: { name: string; address: string };
  domain: string;
  secret: string;
}

/** The domain of our Message-IDs: MAIL_FROM's, else PUBLIC_URL's host. */
export function messageIdDomain(mailFrom: string | undefined, publicUrl: string): string {
  const fromDomain = mailFrom?.split('@')[1];
  if (fromDomain) return fromDomain.toLowerCase();
  try {
    return new URL(publicUrl).hostname.toLowerCase() || 'tocsin.invalid';
  } catch {
    return 'tocsin.invalid';
  }
}

/** A value generated on first use and kept in the database; every instance reads the same one. */
export async function keptSecret(name: string): Promise<string> {
  const existing = await Setting.findById(name).lean();
  if (existing) return existing.value;
  try {
    await Setting.create({ _id: name, value: randomBytes(32).toString('base64url') });
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
  }
  return (await Setting.findById(name).lean())!.value;
}

export async function loadIdentity(mailFrom: string | undefined, publicUrl: string): Promise<MailIdentity> {
  const domain = messageIdDomain(mailFrom, publicUrl);
  return {
    from: { name: 'Tocsin', address: mailFrom ?? `tocsin@${domain}` },
    domain,
    secret: await keptSecret('reply-marker-secret'),
  };
}
