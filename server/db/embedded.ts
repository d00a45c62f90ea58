import { spawn, execFile, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from '../lib/logger';

/**
 * The database Tocsin starts for itself when MONGODB_URI is unset. Data lives under DATA_DIR, so a
 * restart loses nothing. A real mongod (through mongodb-memory-server, where a binary can be had)
 * is preferred; otherwise FerretDB with its SQLite backend, built from the Go module proxy if need be.
 * Once a data directory holds one engine's files, that engine is used from then on.
 */

export interface EmbeddedDatabase {
  uri: string;
  stop(): Promise<void>;
}

export class EmbeddedDatabaseError extends Error {}

const INSTALL_SCRIPT = path.join(__dirname, 'install-ferretdb.sh');

export async function startEmbeddedDatabase(dataDir: string, log: Logger): Promise<EmbeddedDatabase> {
  fs.mkdirSync(dataDir, { recursive: true });
  const mongoDir = path.join(dataDir, 'mongodb');
  const ferretDir = path.join(dataDir, 'ferretdb');
  if (fs.existsSync(ferretDir)) return startFerretDb(ferretDir, await findFerretDb(log, true), log);
  if (fs.existsSync(mongoDir)) {
    const db = await tryMongoMemoryServer(mongoDir, true, log);
    if (db) return db;
    throw new EmbeddedDatabaseError(
      `${mongoDir} holds MongoDB data but no mongod binary could be had: set MONGOMS_SYSTEM_BINARY to a mongod path, or set MONGODB_URI.`,
    );
  }
  const ready =
    (await tryMongoMemoryServer(mongoDir, false, log)) ?? (await tryFerretDb(ferretDir, false, log));
  if (ready) return ready;
  const last = (await tryMongoMemoryServer(mongoDir, true, log)) ?? (await tryFerretDb(ferretDir, true, log));
  if (last) return last;
  throw new EmbeddedDatabaseError(
    'No embedded database could be started: set MONGODB_URI to a MongoDB 6+ or FerretDB 1.24 server, or install Go (to build FerretDB) or a mongod binary (MONGOMS_SYSTEM_BINARY).',
  );
}

async function tryMongoMemoryServer(dbPath: string, download: boolean, log: Logger) {
  const previous = process.env.MONGOMS_RUNTIME_DOWNLOAD;
  process.env.MONGOMS_RUNTIME_DOWNLOAD = String(download);
  try {
    const { MongoMemoryServer, MongoBinary } = await import('mongodb-memory-server-core');
    await MongoBinary.getPath(); // throws quietly when no binary can be had
    fs.mkdirSync(dbPath, { recursive: true });
    const server = await MongoMemoryServer.create({ instance: { dbPath, storageEngine: 'wiredTiger' } });
    log.info({ dbPath }, 'embedded MongoDB started');
    return {
      uri: server.getUri('tocsin'),
      stop: async () => {
        await server.stop({ doCleanup: false });
      },
    };
  } catch (err) {
    log.debug({ err }, 'mongodb-memory-server unavailable');
    fs.rmSync(dbPath, { recursive: true, force: true });
    return undefined;
  } finally {
    if (previous === undefined) delete process.env.MONGOMS_RUNTIME_DOWNLOAD;
    else process.env.MONGOMS_RUNTIME_DOWNLOAD = previous;
  }
}

async function tryFerretDb(dir: string, build: boolean, log: Logger) {
  const bin = await findFerretDb(log, build).catch((err: Error) => {
    log.debug({ err }, 'FerretDB unavailable');
    return undefined;
  });
  return bin ? startFerretDb(dir, bin, log) : undefined;
}

/** FERRETDB_BIN, then `ferretdb` on PATH, then our per-machine build (made now if `build`). */
export async function findFerretDb(log: Logger, build: boolean): Promise<string> {
  const candidates = [process.env.FERRETDB_BIN, ...pathCandidates('ferretdb')].filter(
    (c): c is string => !!c,
  );
  for (const c of candidates) if (isExecutable(c)) return c;
  // The install script answers at once when its cached build exists.
  const cached = await runInstallScript().catch(() => undefined);
  if (cached && isExecutable(cached)) return cached;
  if (!build) throw new EmbeddedDatabaseError('FerretDB is not built yet');
  log.warn('building FerretDB from the Go module proxy once; this takes a few minutes');
  return runInstallScript(false);
}

async function runInstallScript(cachedOnly = true): Promise<string> {
  const { stdout } = await promisify(execFile)('bash', [INSTALL_SCRIPT], {
    env: { ...process.env, ...(cachedOnly ? { TOCSIN_FERRETDB_CACHED_ONLY: '1' } : {}) },
    maxBuffer: 1024 * 1024,
  });
  return stdout.trim().split('\n').pop() ?? '';
}

function pathCandidates(name: string): string[] {
  return (process.env.PATH ?? '').split(path.delimiter).map((d) => path.join(d, name));
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Starts FerretDB (SQLite backend) on a free loopback port, storing its files in `dir`. */
export async function startFerretDb(dir: string, bin: string, log: Logger): Promise<EmbeddedDatabase> {
  fs.mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const args = [
    '--handler=sqlite',
    `--sqlite-url=file:${dir}/`,
    `--listen-addr=127.0.0.1:${port}`,
    `--state-dir=${dir}`,
    '--telemetry=disable',
    '--debug-addr=-',
    '--log-level=warn',
  ];
  // setpriv (util-linux) makes FerretDB get SIGTERM when Tocsin dies, even by SIGKILL, so no
  // orphaned server keeps the data directory open after a crash.
  const setpriv = pathCandidates('setpriv').find(isExecutable);
  const child: ChildProcess = setpriv
    ? spawn(setpriv, ['--pdeathsig', 'TERM', '--', bin, ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
    : spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitForPort(port, child, () => stderr);
  log.info({ dir, port, pid: child.pid }, 'embedded FerretDB started');
  return {
    uri: `mongodb://127.0.0.1:${port}/tocsin`,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await Promise.race([exited, delay(10_000)]);
    },
  };
}

async function waitForPort(port: number, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new EmbeddedDatabaseError(`FerretDB exited with code ${child.exitCode}: ${stderr().trim()}`);
    }
    if (await canConnect(port)) return;
    await delay(50);
  }
  child.kill('SIGTERM');
  throw new EmbeddedDatabaseError(`FerretDB did not listen on port ${port} within 20 s: ${stderr().trim()}`);
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());
