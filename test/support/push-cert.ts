import { execFileSync } from 'node:child_process';
import { createPrivateKey, randomBytes, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * A throwaway certificate authority and a `localhost` / `127.0.0.1` server certificate it signed,
 * for the local push service: web-push speaks only https, and the tests trust this CA (through
 * NODE_EXTRA_CA_CERTS or an https.Agent `ca`) instead of turning TLS checks off.
 */
export interface PushCertificate {
  /** The CA certificate (PEM): what NODE_EXTRA_CA_CERTS points at. */
  caFile: string;
  /** The server's private key (PEM). */
  keyFile: string;
  /** The server's certificate (PEM), for DNS:localhost and IP:127.0.0.1. */
  certFile: string;
}

const OPENSSL = '/usr/bin/openssl';
const VALID_DAYS = '2';
// Certificates closer than this to their end are made again, so no test run sees one expire.
const MIN_REMAINING_MS = 12 * 60 * 60_000;

const CONFIG = `
[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`;

/** Where the tests keep the certificate unless told otherwise: one per user, reused across runs. */
export function pushCertDir(): string {
  return path.join(os.tmpdir(), `tocsin-push-cert-${os.userInfo().uid}`);
}

/**
 * Returns the certificate files in `dir`, making them first when they are missing, broken or near
 * their end. Safe to call from several processes at once: a new set is made in a temporary
 * directory and renamed into place whole, and the loser of a race uses the winner's set.
 */
export function ensurePushCertificate(dir: string = pushCertDir()): PushCertificate {
  const files = filesIn(dir);
  if (isUsable(files)) return files;
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const tmp = fs.mkdtempSync(`${dir}.tmp-`);
  try {
    makeCertificate(tmp);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(tmp, dir);
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    if (!isUsable(files)) throw err;
  }
  return files;
}

function filesIn(dir: string): PushCertificate {
  return {
    caFile: path.join(dir, 'ca.pem'),
    keyFile: path.join(dir, 'server.key'),
    certFile: path.join(dir, 'server.pem'),
  };
}

function makeCertificate(dir: string): void {
  const config = path.join(dir, 'openssl.cnf');
  fs.writeFileSync(config, CONFIG);
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  const openssl = (args: string[]) => execFileSync(OPENSSL, args, { cwd: dir, stdio: 'pipe' });
  openssl(
    ['req', '-x509', '-new', ...newKey, '-keyout', 'ca.key', '-out', 'ca.pem', '-sha256'].concat([
      '-days',
      VALID_DAYS,
      '-subj',
      '/CN=Tocsin test push CA',
      '-config',
      config,
      '-extensions',
      'ca',
    ]),
  );
  openssl(
    ['req', '-new', ...newKey, '-keyout', 'server.key', '-out', 'server.csr'].concat([
      '-subj',
      '/CN=localhost',
      '-config',
      config,
    ]),
  );
  const serial = randomBytes(8);
  serial[0]! &= 0x7f;
  openssl(
    ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-sha256']
      .concat(['-set_serial', `0x${serial.toString('hex')}`, '-days', VALID_DAYS])
      .concat(['-extfile', config, '-extensions', 'server', '-out', 'server.pem']),
  );
  // The CA key has done its work; nobody should sign anything else with it.
  for (const name of ['ca.key', 'server.csr', 'openssl.cnf']) fs.rmSync(path.join(dir, name));
}

function isUsable(files: PushCertificate): boolean {
  try {
    const ca = new X509Certificate(fs.readFileSync(files.caFile));
    const cert = new X509Certificate(fs.readFileSync(files.certFile));
    const key = createPrivateKey(fs.readFileSync(files.keyFile));
    const lastsUntil = Date.now() + MIN_REMAINING_MS;
    return (
      ca.ca &&
      new Date(ca.validTo).getTime() > lastsUntil &&
      new Date(cert.validTo).getTime() > lastsUntil &&
      cert.checkIssued(ca) &&
      cert.verify(ca.publicKey) &&
      cert.checkPrivateKey(key) &&
      cert.checkHost('localhost') !== undefined &&
      cert.checkIP('127.0.0.1') !== undefined
    );
  } catch {
    return false;
  }
}
