import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mongoose from 'mongoose';
import type { ImapConfig } from '../../server/config';
import { addUser, createToken } from '../../server/auth/users';
import { connectDatabase } from '../../server/db/connection';
import type { PollerStatus } from '../../server/intake/poller-settings';
import { testLog } from './desk';
import { databaseUri, uniqueName } from './env';
import type { OAuthMailbox } from './oauth-rig';
import { imapEnv, startTocsin, type TocsinProcess } from './tocsin-process';
import { waitFor } from './wait';

/**
 * Real Tocsin processes on one database of the test file's own, for the OAuth tests: the test
 * process shares the database (to sign in to the API and read what the desk kept), and every
 * process and rig a test starts is stopped after the file.
 */
export interface OAuthDesks {
  dbUri: string;
  dataDir: string;
  /** Starts Tocsin on the mailbox (IMAP_AUTH=oauth2) with `env` on top. */
  start(rig: OAuthMailbox, env?: Record<string, string>, box?: ImapConfig): Promise<TocsinProcess>;
  /** Cases whose text matches `q`, as the API lists them. */
  cases(proc: TocsinProcess, q: string): Promise<{ key: string; subject: string }[]>;
  /** Waits until the API lists exactly one case matching `q`. */
  oneCase(proc: TocsinProcess, q: string, timeoutMs?: number): Promise<{ key: string; subject: string }>;
  readyz(proc: TocsinProcess): Promise<{ status: number; mailbox: PollerStatus }>;
  /** Stops a rig after the file. */
  track(rig: OAuthMailbox): OAuthMailbox;
}

export function oauthDesks(name: string): OAuthDesks {
  const dbUri = databaseUri(uniqueName(name));
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tocsin-oauth-'));
  const procs: TocsinProcess[] = [];
  const rigs: OAuthMailbox[] = [];
  let apiToken = '';

  beforeAll(async () => {
    await connectDatabase(dbUri, testLog);
    const email = `${uniqueName('admin')}@example.org`;
    await addUser(email, 'OAuth Admin', 'admin');
    apiToken = await createToken(email);
  });
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await Promise.all(rigs.map((r) => r.stop()));
    await mongoose.connection.dropDatabase();
    await mongoose.disconnect();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  const cases: OAuthDesks['cases'] = async (proc, q) => {
    const res = await fetch(`${proc.url}/api/cases?q=${encodeURIComponent(q)}`, {
      headers: { authorization: `Bearer ${apiToken}` },
    });
    if (!res.ok) throw new Error(`GET /api/cases answered ${res.status}`);
    return ((await res.json()) as { cases: { key: string; subject: string }[] }).cases;
  };

  return {
    dbUri,
    dataDir,
    async start(rig, env = {}, box = rig.box) {
      const proc = await startTocsin({ MONGODB_URI: dbUri, ...imapEnv(box), ...env });
      procs.push(proc);
      return proc;
    },
    cases,
    oneCase: (proc, q, timeoutMs = 30_000) =>
      waitFor(
        `one case matching ${q}`,
        async () => {
          const found = await cases(proc, q);
          if (found.length > 1) throw new Error(`${found.length} cases match ${q}`);
          return found[0];
        },
        timeoutMs,
        200,
      ),
    async readyz(proc) {
      const res = await fetch(`${proc.url}/readyz`);
      return { status: res.status, mailbox: ((await res.json()) as { mailbox: PollerStatus }).mailbox };
    },
    track(rig) {
      rigs.push(rig);
      return rig;
    },
  };
}
