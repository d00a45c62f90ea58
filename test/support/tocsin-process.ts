import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ImapConfig } from '../../server/config';
import { freePort } from '../../server/db/embedded';
import { waitFor } from './wait';

const ROOT = path.resolve(__dirname, '..', '..');

/** Tocsin as a separate process, started as `npm start` starts it, for crash and multi-instance tests. */
export interface TocsinProcess {
  pid: number;
  url: string;
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
  /** SIGKILL: no shutdown code runs, as in a power cut. */
  kill9(): Promise<void>;
  /** SIGTERM and wait: the graceful path. */
  stop(): Promise<number | null>;
}

/** IMAP_AUTH=oauth2 (or SMTP_AUTH) and its IMAP_OAUTH_* (or SMTP_OAUTH_*) variables. */
export function oauthEnv(
  prefix: 'IMAP' | 'SMTP',
  oauth: NonNullable<ImapConfig['oauth']>,
): Record<string, string> {
  const env: Record<string, string> = {
    [`${prefix}_AUTH`]: 'oauth2',
    [`${prefix}_OAUTH_TOKEN_URL`]: oauth.tokenUrl,
    [`${prefix}_OAUTH_CLIENT_ID`]: oauth.clientId,
  };
  if (oauth.clientSecret) env[`${prefix}_OAUTH_CLIENT_SECRET`] = oauth.clientSecret;
  if (oauth.scope) env[`${prefix}_OAUTH_SCOPE`] = oauth.scope;
  if (oauth.refreshToken) env[`${prefix}_OAUTH_REFRESH_TOKEN`] = oauth.refreshToken;
  return env;
}

export function imapEnv(box: ImapConfig): Record<string, string> {
  return {
    IMAP_HOST: box.host,
    IMAP_PORT: String(box.port),
    IMAP_SECURE: 'false',
    IMAP_USER: box.user,
    ...(box.oauth ? oauthEnv('IMAP', box.oauth) : { IMAP_PASSWORD: box.password ?? '' }),
    IMAP_MAILBOX: box.mailbox,
    IMAP_HISTORY: box.history.mode,
    ...(box.history.since ? { IMAP_HISTORY_SINCE: box.history.since.toISOString().slice(0, 10) } : {}),
    IMAP_LEASE_SECONDS: String(box.leaseSeconds),
    IMAP_MAX_MESSAGE_BYTES: String(box.maxMessageBytes),
  };
}

export async function startTocsin(
  env: Record<string, string>,
  opts: { waitReady?: boolean; port?: number } = {},
): Promise<TocsinProcess> {
  // A fixed port is the same origin again, as a desk restarted behind its own address is.
  const port = opts.port ?? (await freePort());
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tocsin-proc-'));
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    cwd: ROOT,
    // A developer's own .env must not leak into the tests.
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      TOCSIN_ENV_FILE: '/dev/null',
      LOG_LEVEL: 'warn',
      // The local push service's CA (global-setup.ts): Tocsin trusts it as it would a real one.
      ...(process.env.NODE_EXTRA_CA_CERTS ? { NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS } : {}),
      DATA_DIR: dataDir,
      PORT: String(port),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (d: Buffer) => {
    output = (output + d.toString()).slice(-20_000);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  exited.then(
    () => fs.rmSync(dataDir, { recursive: true, force: true }),
    () => undefined,
  );
  const url = `http://127.0.0.1:${port}`;
  const proc: TocsinProcess = {
    pid: child.pid!,
    url,
    child,
    output: () => output,
    exited,
    async kill9() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
  if (opts.waitReady !== false) {
    await waitFor(
      `Tocsin (pid ${proc.pid}) to answer /healthz`,
      async () => {
        if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}: ${output}`);
        return (await fetch(`${url}/healthz`).catch(() => undefined))?.ok;
      },
      60_000,
      100,
    );
  }
  return proc;
}

/** Runs the CLI (`bin/tocsin.js`) to completion. */
export function runCli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'tocsin.js'), ...args], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        TOCSIN_ENV_FILE: '/dev/null',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
