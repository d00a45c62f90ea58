import fs from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { z } from 'zod';
import type { MailboxSettings } from './intake/poller-settings';
import type { OAuthClient } from './mail/oauth';
import { urlUser } from './mail/transport';

/**
 * Configuration is read once, from the environment, at start-up. A bad value stops
 * start-up with one sentence that names the variable (ConfigError.message).
 */

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const boolFromEnv = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], {
    message: 'must be true or false',
  })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const port = (fallback: number) =>
  z.coerce
    .number({ message: 'must be a whole number from 0 to 65535' })
    .int('must be a whole number from 0 to 65535')
    .min(0, 'must be a whole number from 0 to 65535')
    .max(65535, 'must be a whole number from 0 to 65535')
    .default(fallback);

const mongoUri = z
  .string()
  .regex(/^mongodb(\+srv)?:\/\/\S+$/, 'must be a mongodb:// or mongodb+srv:// connection string');

const httpUrl = z
  .string()
  .regex(/^https?:\/\/[^\s/]+\S*$/i, 'must be an http:// or https:// URL such as https://tocsin.example.org');

const email = z.string().email('must be an email address such as security@example.org');

/** Comma-separated addresses or @domains, lower-cased. */
const senderList = z
  .string()
  .transform((v) => v.split(',').map((s) => s.trim().toLowerCase()))
  .refine(
    (list) => list.every((s) => /^([^\s@]+@|@)[^\s@]+\.[^\s@]+$/.test(s)),
    'must list addresses or @domains separated by commas, such as alerts@uptime.example,@github.com',
  );

const authKind = z
  .enum(['password', 'oauth2'], { message: 'must be password or oauth2' })
  .default('password');

/** A token endpoint: https, or http to this machine only (a local provider, the tests). */
const tokenUrl = z.string().refine((value) => {
  try {
    const url = new URL(value);
    if (url.username || url.password) return false;
    if (url.protocol === 'https:') return true;
    return url.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  } catch {
    return false;
  }
}, 'must be an https:// URL such as https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token (http:// only for localhost)');

/** The OAuth 2.0 client settings of IMAP_OAUTH_* or SMTP_OAUTH_*. */
const oauthVars = <P extends 'IMAP' | 'SMTP'>(prefix: P) =>
  ({
    [`${prefix}_OAUTH_TOKEN_URL`]: tokenUrl.optional(),
    [`${prefix}_OAUTH_CLIENT_ID`]: z.string().min(1).optional(),
    [`${prefix}_OAUTH_CLIENT_SECRET`]: z.string().min(1).optional(),
    [`${prefix}_OAUTH_SCOPE`]: z.string().min(1).optional(),
    [`${prefix}_OAUTH_REFRESH_TOKEN`]: z.string().min(1).optional(),
  }) as Record<
    `${P}_OAUTH_${'TOKEN_URL' | 'CLIENT_ID' | 'CLIENT_SECRET' | 'SCOPE' | 'REFRESH_TOKEN'}`,
    z.ZodOptional<z.ZodString>
  >;

const env = z.object({
  MONGODB_URI: mongoUri.optional(),
  PORT: port(3000),
  PUBLIC_URL: httpUrl.optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      message: 'must be one of fatal, error, warn, info, debug, trace or silent',
    })
    .default('info'),
  PLAYBOOK_FILE: z.string().min(1).optional(),
  ALERT_SENDERS: senderList.optional(),

  IMAP_HOST: z.string().min(1).optional(),
  IMAP_AUTH: authKind,
  ...oauthVars('IMAP'),
  IMAP_PORT: port(0).optional(),
  IMAP_SECURE: boolFromEnv.default(true),
  IMAP_USER: z.string().min(1).optional(),
  IMAP_PASSWORD: z.string().min(1).optional(),
  IMAP_MAILBOX: z.string().min(1).default('INBOX'),
  IMAP_HISTORY: z
    .enum(['archive', 'open', 'skip'], { message: 'must be archive, open or skip' })
    .default('archive'),
  IMAP_HISTORY_SINCE: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a day, YYYY-MM-DD')
    .refine(
      (d) =>
        !Number.isNaN(Date.parse(`${d}T00:00:00Z`)) && new Date(`${d}T00:00:00Z`).toISOString().startsWith(d),
      'must be a day of the calendar, YYYY-MM-DD',
    )
    .optional(),
  IMAP_MAX_MESSAGE_BYTES: z.coerce
    .number({ message: 'must be a number of bytes' })
    .int('must be a whole number of bytes')
    .min(1024, 'must be at least 1024 bytes')
    .default(25 * 1024 * 1024),
  IMAP_LEASE_SECONDS: z.coerce
    .number({ message: 'must be a number of seconds' })
    .int('must be a whole number of seconds')
    .min(3, 'must be at least 3 seconds')
    .max(3600, 'must be at most 3600 seconds')
    .default(30),

  SMTP_URL: z
    .string()
    .regex(/^(smtps?|lmtp):\/\/\S+$/, 'must be a nodemailer connection URL such as smtps://user:pass@host')
    .optional(),
  SMTP_AUTH: authKind,
  ...oauthVars('SMTP'),
  MAIL_FROM: email.optional(),
  MAIL_AUTHSERV_ID: z
    .string()
    .regex(
      /^[A-Za-z0-9.-]+(\s*,\s*[A-Za-z0-9.-]+)*$/,
      'must be the authserv-id (a host name such as mx.example.org) your mailbox provider writes in Authentication-Results, or several separated by commas',
    )
    .optional(),

  VAPID_PUBLIC_KEY: z
    .string()
    .refine(
      (k) => /^[A-Za-z0-9_-]+$/.test(k) && Buffer.from(k, 'base64url').length === 65,
      'must be a P-256 public key, 65 bytes in URL-safe base64 (as `npx web-push generate-vapid-keys` prints)',
    )
    .optional(),
  VAPID_PRIVATE_KEY: z
    .string()
    .refine(
      (k) => /^[A-Za-z0-9_-]+$/.test(k) && Buffer.from(k, 'base64url').length === 32,
      'must be a P-256 private key, 32 bytes in URL-safe base64',
    )
    .optional(),
  VAPID_SUBJECT: z
    .string()
    .regex(/^(mailto:|https:\/\/)\S+$/, 'must be a mailto: or https:// URL')
    .optional(),
});

/** Every variable the configuration reads (README and .env.example document each). */
export const VARIABLES = Object.keys(env.shape);

/** The mailbox intake watches (IMAP_*). */
export type ImapConfig = MailboxSettings;

/** IMAP_MAILBOX: folders of the one account, comma-separated (`INBOX,Phishing`). */
function folderList(value: string): string[] {
  const folders = value.split(',').map((f) => f.trim());
  if (folders.some((f) => !f))
    throw new ConfigError(
      `IMAP_MAILBOX must name folders separated by commas, with no empty name (got ${JSON.stringify(value)}).`,
    );
  const twice = folders.find((f, i) => folders.indexOf(f) !== i);
  if (twice) throw new ConfigError(`IMAP_MAILBOX names the folder ${JSON.stringify(twice)} twice.`);
  return folders;
}

/** The settings of each folder intake watches: one poller, cursor and lease each. */
export const mailboxesOf = (config: Pick<Config, 'imap' | 'imapFolders'>): MailboxSettings[] =>
  config.imap ? config.imapFolders.map((mailbox) => ({ ...config.imap!, mailbox })) : [];

export interface Config {
  mongodbUri?: string;
  port: number;
  publicUrl: string;
  dataDir: string;
  logLevel: string;
  playbookFile?: string;
  /** Monitoring systems' addresses or @domains (ALERT_SENDERS): their mail opens cases. */
  alertSenders: string[];
  /** The mailbox's account and settings, with the first folder of IMAP_MAILBOX. */
  imap?: ImapConfig;
  /** Every folder of IMAP_MAILBOX, in order: each is watched on its own (mailboxesOf). */
  imapFolders: string[];
  smtpUrl?: string;
  /** SMTP_AUTH=oauth2: who signs in, and the token client (SMTP_OAUTH_*, else IMAP_OAUTH_*). */
  smtpOauth?: { user: string; client: OAuthClient };
  mailFrom?: string;
  /** Authentication-Results from these hosts (the mailbox provider's own) are trusted. */
  authservIds: string[];
  vapid?: { publicKey: string; privateKey: string; subject: string };
  /** Who push services may contact about our pushes (VAPID `sub`), with or without keys set. */
  vapidSubject: string;
}

/** The names of the variables whose values must never be logged. */
export const SECRET_KEYS = [
  'IMAP_PASSWORD',
  'IMAP_OAUTH_CLIENT_SECRET',
  'IMAP_OAUTH_REFRESH_TOKEN',
  'SMTP_URL',
  'SMTP_OAUTH_CLIENT_SECRET',
  'SMTP_OAUTH_REFRESH_TOKEN',
  'VAPID_PRIVATE_KEY',
  'MONGODB_URI',
] as const;

/**
 * Reads `.env` (or TOCSIN_ENV_FILE) from the working directory into process.env when the file
 * exists, as docker-compose would; variables already set in the environment win.
 */
export function loadDotEnv(
  file = process.env.TOCSIN_ENV_FILE || '.env',
  env: NodeJS.ProcessEnv = process.env,
): void {
  if (!fs.existsSync(file)) return;
  for (const [name, value] of Object.entries(parseEnv(fs.readFileSync(file, 'utf8')))) {
    if (env[name] === undefined) env[name] = value;
  }
}

export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  // Empty strings in .env files mean "unset", as people write them.
  const present = Object.fromEntries(
    Object.entries(source)
      .map(([k, v]) => [k, k === 'IMAP_PASSWORD' ? v : v?.trim()] as const)
      .filter(([, v]) => v !== undefined && v !== ''),
  );
  const parsed = env.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0] ?? 'configuration');
    const shown = SECRET_KEYS.includes(name as (typeof SECRET_KEYS)[number])
      ? ''
      : ` (got ${JSON.stringify(String(present[name] ?? ''))})`;
    throw new ConfigError(`${name} ${issue.message}${shown}.`);
  }
  const e = parsed.data;

  const vars = e as unknown as Record<string, string | undefined>;
  let imap: ImapConfig | undefined;
  const imapFolders = folderList(e.IMAP_MAILBOX);
  if (e.IMAP_HOST) {
    if (!e.IMAP_USER) throw new ConfigError('IMAP_USER must be set when IMAP_HOST is set.');
    const oauth = e.IMAP_AUTH === 'oauth2' ? oauthClient(vars, 'IMAP', 'IMAP_AUTH=oauth2') : undefined;
    if (!oauth && !e.IMAP_PASSWORD)
      throw new ConfigError(
        vars.IMAP_OAUTH_TOKEN_URL
          ? 'IMAP_PASSWORD must be set when IMAP_HOST is set, or IMAP_AUTH=oauth2 to sign in with the IMAP_OAUTH_* settings.'
          : 'IMAP_PASSWORD must be set when IMAP_HOST is set.',
      );
    imap = {
      host: e.IMAP_HOST,
      port: e.IMAP_PORT || (e.IMAP_SECURE ? 993 : 143),
      secure: e.IMAP_SECURE,
      user: e.IMAP_USER,
      ...(oauth ? { oauth } : { password: e.IMAP_PASSWORD }),
      mailbox: imapFolders[0]!,
      history: {
        mode: e.IMAP_HISTORY,
        since: e.IMAP_HISTORY_SINCE ? new Date(`${e.IMAP_HISTORY_SINCE}T00:00:00Z`) : undefined,
      },
      maxMessageBytes: e.IMAP_MAX_MESSAGE_BYTES,
      leaseSeconds: e.IMAP_LEASE_SECONDS,
    };
  } else if (e.IMAP_USER || e.IMAP_PASSWORD) {
    throw new ConfigError('IMAP_HOST must be set when IMAP_USER or IMAP_PASSWORD is set.');
  }

  if (e.SMTP_URL && !e.MAIL_FROM)
    throw new ConfigError(
      'MAIL_FROM must be set when SMTP_URL is set: it is the address the desk writes from.',
    );
  let smtpOauth: Config['smtpOauth'];
  if (e.SMTP_AUTH === 'oauth2') {
    if (!e.SMTP_URL)
      throw new ConfigError(
        'SMTP_URL must be set when SMTP_AUTH=oauth2: it names the server, such as smtp://smtp.office365.com:587.',
      );
    smtpOauth = {
      user: urlUser(e.SMTP_URL) ?? e.IMAP_USER ?? e.MAIL_FROM!,
      client: oauthClient(vars, 'SMTP', 'SMTP_AUTH=oauth2'),
    };
  }

  const vapidSet = [e.VAPID_PUBLIC_KEY, e.VAPID_PRIVATE_KEY].filter(Boolean).length;
  if (vapidSet === 1) {
    throw new ConfigError('VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY must be set together, or both left unset.');
  }

  const vapidSubject = e.VAPID_SUBJECT ?? `mailto:${e.MAIL_FROM ?? 'admin@localhost'}`;
  return {
    mongodbUri: e.MONGODB_URI,
    port: e.PORT,
    publicUrl: (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ''),
    dataDir: path.resolve(e.DATA_DIR),
    logLevel: e.LOG_LEVEL,
    playbookFile: e.PLAYBOOK_FILE,
    alertSenders: e.ALERT_SENDERS ?? [],
    imap,
    imapFolders: imap ? imapFolders : [],
    smtpUrl: e.SMTP_URL,
    smtpOauth,
    mailFrom: e.MAIL_FROM,
    authservIds: (e.MAIL_AUTHSERV_ID ?? '')
      .split(',')
      .map((id) => id.trim().toLowerCase())
      .filter(Boolean),
    vapid:
      e.VAPID_PUBLIC_KEY && e.VAPID_PRIVATE_KEY
        ? { publicKey: e.VAPID_PUBLIC_KEY, privateKey: e.VAPID_PRIVATE_KEY, subject: vapidSubject }
        : undefined,
    vapidSubject,
  };
}

/**
 * The OAuth client of IMAP_OAUTH_* or SMTP_OAUTH_*; each SMTP_OAUTH_* left unset takes its
 * IMAP_OAUTH_* value. Without a refresh token the client-credentials grant is used, and it needs
 * the client's secret.
 */
function oauthClient(
  env: Record<string, string | undefined>,
  prefix: 'IMAP' | 'SMTP',
  because: string,
): OAuthClient {
  const value = (name: string) =>
    env[`${prefix}_OAUTH_${name}`] ?? (prefix === 'SMTP' ? env[`IMAP_OAUTH_${name}`] : undefined);
  const named = (name: string) =>
    `${prefix}_OAUTH_${name}${prefix === 'SMTP' ? ` (or IMAP_OAUTH_${name})` : ''}`;
  const tokenUrl = value('TOKEN_URL');
  const clientId = value('CLIENT_ID');
  if (!tokenUrl)
    throw new ConfigError(
      `${named('TOKEN_URL')} must be set when ${because}: it is the provider's OAuth 2.0 token endpoint.`,
    );
  if (!clientId) throw new ConfigError(`${named('CLIENT_ID')} must be set when ${because}.`);
  const refreshToken = value('REFRESH_TOKEN');
  const clientSecret = value('CLIENT_SECRET');
  if (!refreshToken && !clientSecret)
    throw new ConfigError(
      `${named('CLIENT_SECRET')} must be set when ${because} without ${named('REFRESH_TOKEN')}: the client-credentials grant signs in with the client's secret.`,
    );
  return { tokenUrl, clientId, clientSecret, scope: value('SCOPE'), refreshToken };
}

/** A copy of the configuration that is safe to log. */
export function describeConfig(config: Config): Record<string, unknown> {
  return {
    port: config.port,
    publicUrl: config.publicUrl,
    dataDir: config.dataDir,
    database: config.mongodbUri ? 'external (MONGODB_URI)' : 'embedded',
    imap: config.imap
      ? {
          host: config.imap.host,
          port: config.imap.port,
          secure: config.imap.secure,
          user: config.imap.user,
          auth: config.imap.oauth
            ? `oauth2 (${config.imap.oauth.refreshToken ? 'refresh token' : 'client credentials'})`
            : 'password',
          mailbox: config.imapFolders.join(','),
          history: config.imap.history.since
            ? `${config.imap.history.mode} since ${config.imap.history.since.toISOString().slice(0, 10)}`
            : config.imap.history.mode,
        }
      : 'off',
    smtp: config.smtpUrl
      ? config.smtpOauth
        ? `configured, oauth2 as ${config.smtpOauth.user}`
        : 'configured'
      : 'off',
    mailFrom: config.mailFrom,
    trustedAuthservIds: config.authservIds,
    vapid: config.vapid ? 'from environment' : 'generated and kept in the database',
  };
}
