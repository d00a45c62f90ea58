import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, describeConfig, loadConfig, loadDotEnv } from '../../server/config';

/** Keys of the right shapes (web-push's generateVAPIDKeys gives the same): 65 and 32 bytes. */
const PUB = Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 7)]).toString('base64url');
const PRIV = Buffer.alloc(32, 9).toString('base64url');
const VAPID_SECRET = Buffer.alloc(32, 'Q').toString('base64url');

const imapEnv = { IMAP_HOST: 'imap.example.org', IMAP_USER: 'desk', IMAP_PASSWORD: 'imap-pw-Zq81' };

/** Runs loadConfig and returns the ConfigError it throws; fails the test when it does not throw one. */
function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`loadConfig(${JSON.stringify(env)}) did not throw`);
}

/** One sentence: ends with a full stop, and no full stop, ! or ? followed by a space or the end before it. */
function expectOneSentence(message: string): void {
  expect(message).toMatch(/\.$/);
  expect(message.slice(0, -1)).not.toMatch(/[.!?](\s|$)/);
  expect(message).not.toContain('\n');
}

describe('loadConfig defaults', () => {
  it('when the environment is empty, then PORT is 3000, intake is off and the public URL is localhost', () => {
    const config = loadConfig({});

    expect(config.port).toBe(3000);
    expect(config.publicUrl).toBe('http://localhost:3000');
    expect(config.imap).toBeUndefined();
    expect(config.smtpUrl).toBeUndefined();
    expect(config.vapid).toBeUndefined();
    expect(config.logLevel).toBe('info');
    expect(config.dataDir).toBe(path.resolve('./data'));
  });

  it('when IMAP is configured without port or mailbox, then it uses port 993, TLS and INBOX', () => {
    const config = loadConfig(imapEnv);

    expect(config.imap).toEqual({
      host: 'imap.example.org',
      port: 993,
      secure: true,
      user: 'desk',
      password: 'imap-pw-Zq81',
      mailbox: 'INBOX',
      maxMessageBytes: 25 * 1024 * 1024,
      leaseSeconds: 30,
    });
  });

  it('when IMAP_SECURE is false, then the default IMAP port is 143', () => {
    const config = loadConfig({ ...imapEnv, IMAP_SECURE: 'false' });

    expect(config.imap?.secure).toBe(false);
    expect(config.imap?.port).toBe(143);
  });

  it('when IMAP_SECURE is "no" or "0", then it is false too', () => {
    const no = loadConfig({ ...imapEnv, IMAP_SECURE: 'no' });
    const zero = loadConfig({ ...imapEnv, IMAP_SECURE: '0' });

    expect(no.imap?.secure).toBe(false);
    expect(zero.imap?.secure).toBe(false);
  });

  it('when IMAP_PORT and IMAP_MAILBOX are set, then they are used', () => {
    const config = loadConfig({ ...imapEnv, IMAP_PORT: '1143', IMAP_MAILBOX: 'Reports' });

    expect(config.imap?.port).toBe(1143);
    expect(config.imap?.mailbox).toBe('Reports');
  });

  it('when PORT and PUBLIC_URL with a trailing slash are set, then the port is a number and the slash is dropped', () => {
    const config = loadConfig({ PORT: '8080', PUBLIC_URL: 'https://tocsin.example.org/' });

    expect(config.port).toBe(8080);
    expect(config.publicUrl).toBe('https://tocsin.example.org');
  });

  it('when both VAPID keys are set without a subject, then the subject is mailto: MAIL_FROM', () => {
    const config = loadConfig({
      VAPID_PUBLIC_KEY: PUB,
      VAPID_PRIVATE_KEY: PRIV,
      MAIL_FROM: 'security@example.org',
    });

    expect(config.vapid).toEqual({
      publicKey: PUB,
      privateKey: PRIV,
      subject: 'mailto:security@example.org',
    });
  });
});

describe('loadConfig empty strings', () => {
  it('when PORT, IMAP_MAILBOX and LOG_LEVEL are empty strings, then their defaults apply', () => {
    const config = loadConfig({ ...imapEnv, PORT: '', IMAP_MAILBOX: '', LOG_LEVEL: '', IMAP_SECURE: '' });

    expect(config.port).toBe(3000);
    expect(config.logLevel).toBe('info');
    expect(config.imap?.mailbox).toBe('INBOX');
    expect(config.imap?.secure).toBe(true);
    expect(config.imap?.port).toBe(993);
  });

  it('when IMAP_HOST, IMAP_USER and IMAP_PASSWORD are empty strings, then intake is off and nothing throws', () => {
    const config = loadConfig({ IMAP_HOST: '', IMAP_USER: '', IMAP_PASSWORD: '' });

    expect(config.imap).toBeUndefined();
    expect(describeConfig(config).imap).toBe('off');
  });

  it('when optional values are empty strings, then they are unset rather than invalid', () => {
    const config = loadConfig({
      MONGODB_URI: '',
      PUBLIC_URL: '',
      MAIL_FROM: '',
      SMTP_URL: '',
      VAPID_PUBLIC_KEY: '',
      VAPID_PRIVATE_KEY: '',
    });

    expect(config.mongodbUri).toBeUndefined();
    expect(config.publicUrl).toBe('http://localhost:3000');
    expect(config.mailFrom).toBeUndefined();
    expect(config.smtpUrl).toBeUndefined();
    expect(config.vapid).toBeUndefined();
  });

  it('when one VAPID key is set and the other is an empty string, then it counts as only one key set', () => {
    const err = configError({ VAPID_PUBLIC_KEY: PUB, VAPID_PRIVATE_KEY: '' });

    expect(err.message).toBe(
      'VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY must be set together, or both left unset.',
    );
  });
});

describe('loadConfig bad values', () => {
  const cases: [string, Record<string, string>, string][] = [
    ['PORT', { PORT: 'abc' }, 'PORT must be a whole number from 0 to 65535 (got "abc").'],
    ['PORT', { PORT: '70000' }, 'PORT must be a whole number from 0 to 65535 (got "70000").'],
    [
      'PUBLIC_URL',
      { PUBLIC_URL: 'javascript:alert(1)' },
      'PUBLIC_URL must be an http:// or https:// URL such as https://tocsin.example.org (got "javascript:alert(1)").',
    ],
    [
      'LOG_LEVEL',
      { LOG_LEVEL: 'verbose' },
      'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace or silent (got "verbose").',
    ],
    ['IMAP_SECURE', { ...imapEnv, IMAP_SECURE: 'maybe' }, 'IMAP_SECURE must be true or false (got "maybe").'],
    [
      'MONGODB_URI',
      { MONGODB_URI: 'http://x' },
      'MONGODB_URI must be a mongodb:// or mongodb+srv:// connection string.',
    ],
    [
      'PUBLIC_URL',
      { PUBLIC_URL: 'notaurl' },
      'PUBLIC_URL must be an http:// or https:// URL such as https://tocsin.example.org (got "notaurl").',
    ],
    [
      'MAIL_FROM',
      { MAIL_FROM: 'nope' },
      'MAIL_FROM must be an email address such as security@example.org (got "nope").',
    ],
    [
      'SMTP_URL',
      { SMTP_URL: 'ftp://x' },
      'SMTP_URL must be a nodemailer connection URL such as smtps://user:pass@host.',
    ],
    ['IMAP_USER', { IMAP_HOST: 'imap.example.org' }, 'IMAP_USER must be set when IMAP_HOST is set.'],
    [
      'IMAP_PASSWORD',
      { IMAP_HOST: 'imap.example.org', IMAP_USER: 'desk' },
      'IMAP_PASSWORD must be set when IMAP_HOST is set.',
    ],
    ['IMAP_HOST', { IMAP_USER: 'desk' }, 'IMAP_HOST must be set when IMAP_USER or IMAP_PASSWORD is set.'],
    [
      'VAPID_PUBLIC_KEY',
      { VAPID_PUBLIC_KEY: PUB },
      'VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY must be set together, or both left unset.',
    ],
    [
      'VAPID_PUBLIC_KEY',
      { VAPID_PUBLIC_KEY: 'BExample', VAPID_PRIVATE_KEY: PRIV },
      'VAPID_PUBLIC_KEY must be a P-256 public key, 65 bytes in URL-safe base64 (as `npx web-push generate-vapid-keys` prints) (got "BExample").',
    ],
    [
      'VAPID_PRIVATE_KEY',
      { VAPID_PUBLIC_KEY: PUB, VAPID_PRIVATE_KEY: PUB },
      'VAPID_PRIVATE_KEY must be a P-256 private key, 32 bytes in URL-safe base64.',
    ],
    [
      'VAPID_PUBLIC_KEY',
      { VAPID_PRIVATE_KEY: PRIV },
      'VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY must be set together, or both left unset.',
    ],
  ];

  it.each(cases)(
    'when %s is wrong (%j), then ConfigError is one sentence starting with the name',
    (name, env, expected) => {
      const err = configError(env);

      expect(err.name).toBe('ConfigError');
      expect(err.message).toBe(expected);
      expect(err.message.startsWith(`${name} `)).toBe(true);
      expectOneSentence(err.message);
    },
  );
});

describe('secrets', () => {
  it('when IMAP_PASSWORD is set without IMAP_HOST, then the error does not contain the password', () => {
    const err = configError({ IMAP_PASSWORD: 'imap-pw-Zq81' });

    expect(err.message).toBe('IMAP_HOST must be set when IMAP_USER or IMAP_PASSWORD is set.');
    expect(err.message).not.toContain('imap-pw-Zq81');
  });

  it('when SMTP_URL is invalid and holds a password, then the error shows neither the URL nor the password', () => {
    const err = configError({ SMTP_URL: 'ftp://desk:smtp-pw-Kx42@mail.example.org' });

    expect(err.message.startsWith('SMTP_URL ')).toBe(true);
    expect(err.message).not.toContain('smtp-pw-Kx42');
    expect(err.message).not.toContain('mail.example.org');
  });

  it('when MONGODB_URI is invalid and holds a password, then the error does not contain it', () => {
    const err = configError({ MONGODB_URI: 'http://tocsin:db-pw-Lm07@db.example.org' });

    expect(err.message).not.toContain('db-pw-Lm07');
  });

  it('when another variable is wrong while secrets are set, then the error does not contain the secrets', () => {
    const err = configError({
      ...imapEnv,
      SMTP_URL: 'smtps://desk:smtp-pw-Kx42@mail.example.org',
      PORT: 'abc',
    });

    expect(err.message).toBe('PORT must be a whole number from 0 to 65535 (got "abc").');
    expect(err.message).not.toContain('imap-pw-Zq81');
    expect(err.message).not.toContain('smtp-pw-Kx42');
  });

  it('when the configuration is described, then no secret value appears in it', () => {
    const config = loadConfig({
      ...imapEnv,
      SMTP_URL: 'smtps://desk:smtp-pw-Kx42@mail.example.org',
      MONGODB_URI: 'mongodb://tocsin:db-pw-Lm07@db.example.org/tocsin',
      VAPID_PUBLIC_KEY: PUB,
      VAPID_PRIVATE_KEY: VAPID_SECRET,
      MAIL_FROM: 'security@example.org',
    });

    const described = describeConfig(config);
    const text = JSON.stringify(described);

    expect(text).not.toContain('imap-pw-Zq81');
    expect(text).not.toContain('smtp-pw-Kx42');
    expect(text).not.toContain('smtps://');
    expect(text).not.toContain('db-pw-Lm07');
    expect(text).not.toContain(VAPID_SECRET);
    expect(described).toEqual({
      port: 3000,
      publicUrl: 'http://localhost:3000',
      dataDir: path.resolve('./data'),
      database: 'external (MONGODB_URI)',
      imap: { host: 'imap.example.org', port: 993, secure: true, user: 'desk', mailbox: 'INBOX' },
      smtp: 'configured',
      mailFrom: 'security@example.org',
      trustedAuthservIds: [],
      vapid: 'from environment',
    });
  });

  it('when SMTP_URL is set without MAIL_FROM, then start-up stops and names MAIL_FROM', () => {
    expect(configError({ SMTP_URL: 'smtp://mail.example.org' }).message).toBe(
      'MAIL_FROM must be set when SMTP_URL is set: it is the address the desk writes from.',
    );
  });

  it('when MAIL_AUTHSERV_ID lists hosts, then they are trusted in lower case; a bad one names the variable', () => {
    expect(loadConfig({ MAIL_AUTHSERV_ID: 'MX.Google.com, mx.example.org' }).authservIds).toEqual([
      'mx.google.com',
      'mx.example.org',
    ]);
    expect(configError({ MAIL_AUTHSERV_ID: 'mx.example.org; rm -rf' }).message).toMatch(
      /^MAIL_AUTHSERV_ID must be/,
    );
  });

  it('when nothing optional is configured, then the description says embedded, off and generated', () => {
    const described = describeConfig(loadConfig({}));

    expect(described.database).toBe('embedded');
    expect(described.imap).toBe('off');
    expect(described.smtp).toBe('off');
    expect(described.vapid).toBe('generated and kept in the database');
  });
});

describe('loadConfig whitespace', () => {
  it('when PORT is only spaces, then it counts as unset', () => {
    expect(loadConfig({ PORT: '  ' }).port).toBe(3000);
  });
});

describe('loadDotEnv', () => {
  it('when a .env file exists, then its values fill the environment without overriding what is set', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tocsin-dotenv-'));
    const file = path.join(dir, '.env');
    fs.writeFileSync(file, 'TOCSIN_TEST_FROM_FILE=file\nTOCSIN_TEST_ALREADY=file\n');
    process.env.TOCSIN_TEST_ALREADY = 'shell';
    try {
      loadDotEnv(file);
      expect(process.env.TOCSIN_TEST_FROM_FILE).toBe('file');
      expect(process.env.TOCSIN_TEST_ALREADY).toBe('shell');
      loadDotEnv(path.join(dir, 'missing.env'));
    } finally {
      delete process.env.TOCSIN_TEST_FROM_FILE;
      delete process.env.TOCSIN_TEST_ALREADY;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
