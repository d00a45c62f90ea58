import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { findFerretDb, startFerretDb } from '../../server/db/embedded';
import { startDovecot } from './dovecot';
import { ensurePushCertificate } from './push-cert';

/**
 * Brings up the real servers once per test run: a MongoDB-compatible database (MONGODB_URI, or
 * FerretDB with SQLite under a temp dir) and a Dovecot on loopback ports. Workers inherit the
 * environment set here; each test file then uses its own database and mailbox users. The local
 * push service's throwaway CA goes into NODE_EXTRA_CA_CERTS here, before the workers (and the
 * desks they run) start, since Node reads it only at start-up; TLS checks stay on.
 */
export default async function globalSetup(): Promise<void> {
  const log = pino({ level: 'warn' });
  const g = globalThis as Record<string, unknown>;
  if (!process.env.MONGODB_URI) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tocsin-test-db-'));
    const db = await startFerretDb(dir, await findFerretDb(log, true), log);
    process.env.MONGODB_URI = db.uri;
    g.__tocsinDb = { stop: db.stop, dir };
  }
  const dovecot = await startDovecot();
  process.env.TOCSIN_TEST_IMAP_HOST = dovecot.host;
  process.env.TOCSIN_TEST_IMAP_PORT = String(dovecot.imapPort);
  process.env.TOCSIN_TEST_LMTP_PORT = String(dovecot.lmtpPort);
  process.env.TOCSIN_TEST_PASSWD_FILE = dovecot.passwdFile;
  g.__tocsinDovecot = dovecot;
  process.env.NODE_EXTRA_CA_CERTS = ensurePushCertificate().caFile;
}
