import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A throwaway Dovecot (IMAP + LMTP) for integration tests: its own config, sockets, logs and maildirs
 * under one temp dir, listening on free loopback ports. Needs root (Debian's dovecot drops privileges
 * itself) and /usr/sbin/dovecot.
 */
export interface DovecotRig {
  host: string;
  imapPort: number;
  lmtpPort: number;
  dir: string;
  passwdFile: string;
  /** The rig's dovecot.conf, for doveadm -c. */
  config: string;
  /** Disconnects every IMAP session of `user` (doveadm kick), as a server restart or an admin would. */
  kick(user: string): Promise<void>;
  /** SIGTERMs the master, waits for it to exit, removes dir. Log IMAP clients out first (see spawnMaster). */
  stop(): Promise<void>;
}

/**
 * A rig whose only passdb is Dovecot's oauth2 driver: IMAP logins are AUTHENTICATE XOAUTH2 or
 * OAUTHBEARER with a bearer token, which Dovecot checks by POSTing it to `introspectionUrl`
 * (RFC 7662; an answer `{active: true, username}` for the user signs in). Any user can be
 * delivered to over LMTP (a static userdb).
 */
export interface OAuth2Passdb {
  introspectionUrl: string;
}

export interface DovecotOptions {
  /** Sign in with OAuth 2.0 bearer tokens instead of the passwd-file's passwords. */
  oauth2?: OAuth2Passdb;
}

const HOST = '127.0.0.1';
const DOVECOT_BIN = '/usr/sbin/dovecot';
const DOVEADM_BIN = '/usr/bin/doveadm';
// Every mailbox is owned by this uid/gid; it does not need to exist in /etc/passwd.
const MAIL_UID = 5000;
const MAIL_GID = 5000;
const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 15_000;
const START_ATTEMPTS = 5;

interface RigPaths {
  config: string;
  passwd: string;
  baseDir: string;
  stateDir: string;
  log: string;
  masterOutput: string;
  oauth2: string;
  mail: string;
  home: string;
}

function rigPaths(dir: string): RigPaths {
  return {
    config: path.join(dir, 'dovecot.conf'),
    passwd: path.join(dir, 'passwd'),
    baseDir: path.join(dir, 'run'),
    stateDir: path.join(dir, 'state'),
    log: path.join(dir, 'dovecot.log'),
    masterOutput: path.join(dir, 'master.out'),
    oauth2: path.join(dir, 'dovecot-oauth2.conf.ext'),
    mail: path.join(dir, 'mail'),
    home: path.join(dir, 'home'),
  };
}

class StartupError extends Error {
  constructor(
    message: string,
    readonly portClash: boolean,
  ) {
    super(message);
  }
}

export async function startDovecot(opts: DovecotOptions = {}): Promise<DovecotRig> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'dovecot-rig-'));
  try {
    await prepareDir(dir);
    if (opts.oauth2) await fs.writeFile(rigPaths(dir).oauth2, renderOAuth2Args(opts.oauth2), { mode: 0o644 });
    for (let attempt = 1; ; attempt++) {
      try {
        return await launch(dir, opts);
      } catch (err) {
        // The ports were free when we probed them but someone else may have bound them since.
        if (!(err instanceof StartupError && err.portClash) || attempt >= START_ATTEMPTS) throw err;
      }
    }
  } catch (err) {
    await fs.rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Adds a user to a running rig's passwd-file (used for both passdb and userdb); no restart needed.
 * Idempotent for the same password. Resolves once Dovecot is guaranteed to see the user.
 */
export async function addDovecotUser(passwdFile: string, user: string, password: string): Promise<void> {
  // auth_username_format defaults to %Lu, so Dovecot only ever looks up lower-cased names.
  const name = user.toLowerCase();
  if (name === '' || /[:\r\n]/.test(name) || /[:\r\n]/.test(password)) {
    throw new Error(`addDovecotUser: user and password must be non-empty and free of ':' and newlines`);
  }
  const entry = `${name}:{PLAIN}${password}::::::`;
  const lines = (await fs.readFile(passwdFile, 'utf8')).split('\n');
  const existing = lines.find((line) => line.slice(0, line.indexOf(':')) === name);
  if (existing === undefined) {
    await fs.appendFile(passwdFile, `${entry}\n`);
  } else if (existing !== entry) {
    throw new Error(`addDovecotUser: ${name} already exists with a different password`);
  }
  await waitUntilDovecotRereads(passwdFile);
}

/**
 * Dovecot stats the passwd-file at most once per wall-clock second (passwd_file_sync() in
 * db-passwd-file.c). A lookup in the same second as a write may therefore still be served the old
 * contents, so wait until the clock has moved past the second of the last change. The 20 ms pads
 * cover the coarse kernel clocks behind file mtimes and time().
 */
async function waitUntilDovecotRereads(passwdFile: string): Promise<void> {
  const { mtimeMs } = await fs.stat(passwdFile);
  const safeAt = (Math.floor((mtimeMs + 20) / 1000) + 1) * 1000 + 20;
  const delay = safeAt - Date.now();
  if (delay > 0) await sleep(delay);
}

async function prepareDir(dir: string): Promise<void> {
  const p = rigPaths(dir);
  // Dovecot's auth process runs as the dovecot user and must reach the passwd-file.
  await fs.chmod(dir, 0o755);
  await assertTraversable(path.dirname(dir));
  for (const owned of [p.mail, p.home]) {
    await fs.mkdir(owned, { mode: 0o700 });
    await fs.chown(owned, MAIL_UID, MAIL_GID);
  }
  await fs.writeFile(p.passwd, '', { mode: 0o644 });
}

async function assertTraversable(dir: string): Promise<void> {
  for (let current = dir; ; current = path.dirname(current)) {
    const { mode } = await fs.stat(current);
    if ((mode & 0o001) === 0) {
      throw new Error(
        `${current} is not world-traversable, so Dovecot's auth process cannot read the passwd-file; ` +
          `point TMPDIR somewhere else (e.g. /tmp)`,
      );
    }
    if (path.dirname(current) === current) return;
  }
}

/** The args file of the oauth2 passdb (Dovecot 2.3's dovecot-oauth2.conf.ext). */
function renderOAuth2Args(oauth2: OAuth2Passdb): string {
  return `# Generated by test/support/dovecot.ts
introspection_mode = post
introspection_url = ${oauth2.introspectionUrl}
username_attribute = username
active_attribute = active
active_value = true
`;
}

function renderConfig(dir: string, imapPort: number, lmtpPort: number, opts: DovecotOptions): string {
  const p = rigPaths(dir);
  const auth = opts.oauth2
    ? `passdb {
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = ${p.oauth2}
}
userdb {
  driver = static
  args = uid=${MAIL_UID} gid=${MAIL_GID} home=${p.home}/%u allow_all_users=yes
}`
    : `passdb {
  driver = passwd-file
  args = ${p.passwd}
}
userdb {
  driver = passwd-file
  args = ${p.passwd}
  default_fields = home=${p.home}/%u
}`;
  return `# Generated by test/support/dovecot.ts
instance_name = ${path.basename(dir)}
base_dir = ${p.baseDir}
state_dir = ${p.stateDir}
log_path = ${p.log}
info_log_path = ${p.log}

protocols = imap lmtp
listen = ${HOST}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login${opts.oauth2 ? ' xoauth2 oauthbearer' : ''}
login_trusted_networks = 127.0.0.0/8
default_login_user = dovenull
default_internal_user = dovecot

mail_location = maildir:${p.mail}/%u
mail_uid = ${MAIL_UID}
mail_gid = ${MAIL_GID}
first_valid_uid = ${MAIL_UID}
last_valid_uid = ${MAIL_UID}
first_valid_gid = ${MAIL_GID}
last_valid_gid = ${MAIL_GID}

lmtp_save_to_detail_mailbox = no
postmaster_address = postmaster@example.test

# Tests open many connections, often as one user from one IP.
mail_max_userip_connections = 200
default_process_limit = 300
default_client_limit = 3000
# Failed logins would otherwise be answered only after 2 s.
auth_failure_delay = 0

${auth}

service imap-login {
  inet_listener imap {
    port = ${imapPort}
  }
  # Left at its default, imaps would bind port 993 and clash between rigs.
  inet_listener imaps {
    port = 0
  }
}
# Without this, every login from 127.0.0.1 after a failed one is delayed by up to 15 s: 2.3 does not
# exempt login_trusted_networks from the auth penalty, despite what its docs say.
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
service lmtp {
  inet_listener lmtp {
    port = ${lmtpPort}
  }
}
`;
}

async function launch(dir: string, opts: DovecotOptions): Promise<DovecotRig> {
  const p = rigPaths(dir);
  const [imapPort, lmtpPort] = await freePorts();
  await fs.writeFile(p.config, renderConfig(dir, imapPort, lmtpPort, opts));
  // A failed earlier attempt may have left a master.pid whose PID has since been reused.
  await fs.rm(p.baseDir, { recursive: true, force: true });

  const master = await spawnMaster(p);
  try {
    await waitForGreeting(imapPort, master, dir);
    const pidFile = Number((await fs.readFile(path.join(p.baseDir, 'master.pid'), 'utf8')).trim());
    if (pidFile !== master.pid) {
      throw new StartupError(`master.pid says ${pidFile}, but we started dovecot as ${master.pid}`, false);
    }
  } catch (err) {
    await master.stop();
    throw err;
  }

  let stopping: Promise<void> | undefined;
  return {
    host: HOST,
    imapPort,
    lmtpPort,
    dir,
    passwdFile: p.passwd,
    config: p.config,
    kick: (user) => doveadm(p.config, ['kick', user]),
    stop() {
      stopping ??= master.stop().finally(() => fs.rm(dir, { recursive: true, force: true }));
      return stopping;
    },
  };
}

function doveadm(config: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(DOVEADM_BIN, ['-c', config, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (d: Buffer) => (output = (output + d.toString()).slice(-4000));
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`doveadm ${args.join(' ')} exited with ${code}: ${output.trim()}`));
    });
  });
}

interface Master {
  pid: number;
  hasExited(): boolean;
  stop(): Promise<void>;
}

async function spawnMaster(p: RigPaths): Promise<Master> {
  const output = await fs.open(p.masterOutput, 'w');
  // -F keeps the master in the foreground, so it is our child and its PID is the master's PID.
  const child = spawn(DOVECOT_BIN, ['-F', '-c', p.config], { stdio: ['ignore', output.fd, output.fd] });
  let exited = false;
  let spawnError: Error | undefined;
  // Listen before the next await: a failed spawn emits 'error' on the next tick.
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', (err) => {
      spawnError = err;
      resolve();
    });
  }).then(() => {
    exited = true;
  });
  await output.close();
  const pid = child.pid;
  if (pid === undefined) {
    await exit;
    throw new StartupError(`could not run ${DOVECOT_BIN}: ${spawnError?.message ?? 'no PID'}`, false);
  }

  // Don't keep the test process alive for Dovecot, but don't leave it running after we exit either.
  child.unref();
  const killOnExit = (): void => void child.kill('SIGTERM');
  process.once('exit', killOnExit);

  const stop = async (): Promise<void> => {
    process.off('exit', killOnExit);
    if (exited) return;
    // Only the master is signalled. It exits in about a second; imap processes still serving a client
    // outlive it by about 10 s before they disconnect with "Server shutting down".
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), STOP_TIMEOUT_MS);
    });
    const tooSlow = await Promise.race([exit.then(() => false), timedOut]);
    clearTimeout(timer);
    if (!tooSlow) return;
    child.kill('SIGKILL');
    await exit;
    throw new Error(`dovecot master ${pid} did not exit within ${STOP_TIMEOUT_MS} ms of SIGTERM; killed it`);
  };
  return { pid, hasExited: () => exited, stop };
}

async function waitForGreeting(port: number, master: Master, dir: string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (master.hasExited()) throw await startupFailure(dir, 'dovecot exited during startup');
    const greeting = await readGreeting(port).catch(() => '');
    if (greeting.startsWith('* OK')) return;
    if (Date.now() > deadline) {
      throw await startupFailure(dir, `no IMAP greeting on ${HOST}:${port} within ${START_TIMEOUT_MS} ms`);
    }
    await sleep(50);
  }
}

function readGreeting(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: HOST, port });
    let received = '';
    socket.setTimeout(1000, () => socket.destroy(new Error('timed out')));
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      const end = received.indexOf('\r\n');
      if (end >= 0) {
        socket.destroy();
        resolve(received.slice(0, end));
      }
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error('closed before greeting')));
  });
}

async function startupFailure(dir: string, reason: string): Promise<StartupError> {
  const p = rigPaths(dir);
  const tail = async (file: string): Promise<string> => {
    const text = await fs.readFile(file, 'utf8').catch(() => '');
    return text.trimEnd().split('\n').slice(-20).join('\n');
  };
  const output = [await tail(p.masterOutput), await tail(p.log)].filter((t) => t !== '').join('\n---\n');
  return new StartupError(
    `${reason}\n${output || '(dovecot wrote nothing)'}`,
    output.includes('Address already in use'),
  );
}

/** Two distinct free loopback ports: held open together so they differ, then released for Dovecot. */
async function freePorts(): Promise<[number, number]> {
  const servers = [net.createServer(), net.createServer()];
  try {
    const ports = await Promise.all(servers.map(listenOnFreePort));
    const [imapPort, lmtpPort] = ports;
    if (imapPort === undefined || lmtpPort === undefined) throw new Error('no free ports');
    return [imapPort, lmtpPort];
  } finally {
    await Promise.all(
      servers.filter((s) => s.listening).map((s) => new Promise((resolve) => s.close(resolve))),
    );
  }
}

function listenOnFreePort(server: net.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') reject(new Error('unexpected server address'));
      else resolve(address.port);
    });
  });
}
