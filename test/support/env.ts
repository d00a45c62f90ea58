import { randomBytes } from 'node:crypto';
import type { ImapConfig } from '../../server/config';
import { addDovecotUser } from './dovecot';

/** What global-setup provides to every test file. */
export function testEnv() {
  const need = (name: string) => {
    const v = process.env[name];
    if (!v) throw new Error(`${name} is unset: run the tests through jest (global-setup provides it)`);
    return v;
  };
  return {
    mongodbUri: need('MONGODB_URI'),
    imapHost: need('TOCSIN_TEST_IMAP_HOST'),
    imapPort: Number(need('TOCSIN_TEST_IMAP_PORT')),
    lmtpPort: Number(need('TOCSIN_TEST_LMTP_PORT')),
    passwdFile: need('TOCSIN_TEST_PASSWD_FILE'),
  };
}

export const uniqueName = (prefix: string) =>
  `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;

/** A database URI of the test server with a database of our own. */
export function databaseUri(name: string): string {
  const uri = new URL(testEnv().mongodbUri);
  uri.pathname = `/${name}`;
  return uri.toString();
}

/** A fresh mailbox user on the test Dovecot, and the IMAP settings Tocsin would use for it. */
export async function newMailbox(prefix = 'desk', overrides: Partial<ImapConfig> = {}): Promise<ImapConfig> {
  const env = testEnv();
  const user = `${uniqueName(prefix)}@example.test`.toLowerCase();
  const password = randomBytes(9).toString('base64url');
  await addDovecotUser(env.passwdFile, user, password);
  return {
    host: env.imapHost,
    port: env.imapPort,
    secure: false,
    user,
    password,
    mailbox: 'INBOX',
    // What a test puts in a fresh mailbox is new mail to it, not the mailbox's history.
    history: { mode: 'open' },
    maxMessageBytes: 25 * 1024 * 1024,
    leaseSeconds: 5,
    ...overrides,
  };
}
