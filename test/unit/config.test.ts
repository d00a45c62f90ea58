import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  ConfigError,
  VARIABLES,
  describeConfig,
  loadConfig,
  loadDotEnv,
  mailboxesOf,
} from '../../server/config';

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
      history: { mode: 'archive', since: undefined },
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
      imap: {
        host: 'imap.example.org',
        port: 993,
        secure: true,
        user: 'desk',
        auth: 'password',
        history: 'archive',
        mailbox: 'INBOX',
      },
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

describe('loadConfig several folders (IMAP_MAILBOX)', () => {
  it('when IMAP_MAILBOX lists folders, then each is watched, the first is the mailbox, and spaces are trimmed', () => {
    const config = loadConfig({ ...imapEnv, IMAP_MAILBOX: 'INBOX, Phishing ,Reports/Abuse' });
    expect(config.imapFolders).toEqual(['INBOX', 'Phishing', 'Reports/Abuse']);
    expect(config.imap?.mailbox).toBe('INBOX');
    expect(mailboxesOf(config).map((m) => [m.mailbox, m.user])).toEqual([
      ['INBOX', 'desk'],
      ['Phishing', 'desk'],
      ['Reports/Abuse', 'desk'],
    ]);
  });

  it('when IMAP is off, then no folder is watched', () => {
    expect(mailboxesOf(loadConfig({ IMAP_MAILBOX: 'INBOX,Phishing' }))).toEqual([]);
  });

  it.each([
    ['INBOX,,Phishing', /^IMAP_MAILBOX must name folders separated by commas, with no empty name/],
    ['INBOX,Phishing,INBOX', /^IMAP_MAILBOX names the folder "INBOX" twice/],
  ])(
    'when IMAP_MAILBOX is %j, then start-up stops with one sentence naming the variable',
    (value, message) => {
      const err = configError({ ...imapEnv, IMAP_MAILBOX: value });
      expect(err.message).toMatch(message);
      expectOneSentence(err.message);
    },
  );
});

describe('loadConfig the mailbox history (IMAP_HISTORY, IMAP_HISTORY_SINCE)', () => {
  it('when neither is set, then the first connection archives all the mail already there', () => {
    expect(loadConfig(imapEnv).imap?.history).toEqual({ mode: 'archive', since: undefined });
  });

  it('when both are set, then the mode and the day (midnight UTC) are taken', () => {
    const config = loadConfig({ ...imapEnv, IMAP_HISTORY: 'open', IMAP_HISTORY_SINCE: '2024-02-29' });
    expect(config.imap?.history).toEqual({ mode: 'open', since: new Date('2024-02-29T00:00:00Z') });
  });

  it.each([
    [{ IMAP_HISTORY: 'import' }, /^IMAP_HISTORY must be archive, open or skip/],
    [{ IMAP_HISTORY_SINCE: '01/02/2024' }, /^IMAP_HISTORY_SINCE must be a day, YYYY-MM-DD/],
    [{ IMAP_HISTORY_SINCE: '2023-02-29' }, /^IMAP_HISTORY_SINCE must be a day of the calendar/],
  ])('when %j, then start-up stops with one sentence naming the variable', (extra, message) => {
    const err = configError({ ...imapEnv, ...extra });
    expect(err.message).toMatch(message);
    expectOneSentence(err.message);
  });
});

describe('loadConfig the monitoring systems (ALERT_SENDERS)', () => {
  it('when unset, then no sender is an alert sender', () => {
    expect(loadConfig({}).alertSenders).toEqual([]);
  });

  it('when addresses and @domains are listed, then each is taken lower-cased and trimmed', () => {
    expect(loadConfig({ ALERT_SENDERS: ' Alerts@Uptime.example , @GitHub.com' }).alertSenders).toEqual([
      'alerts@uptime.example',
      '@github.com',
    ]);
  });

  it.each([['github.com'], ['alerts@uptime.example,,@github.com'], ['@localhost'], ['a b@example.org']])(
    'when ALERT_SENDERS is %j, then start-up stops with one sentence naming it',
    (value) => {
      const err = configError({ ALERT_SENDERS: value });
      expect(err.message).toMatch(/^ALERT_SENDERS must list addresses or @domains separated by commas/);
      expectOneSentence(err.message);
    },
  );
});

describe('loadConfig OAuth 2.0 (IMAP_AUTH, SMTP_AUTH)', () => {
  const oauthImap = {
    IMAP_HOST: 'outlook.office365.com',
    IMAP_USER: 'security@example.org',
    IMAP_AUTH: 'oauth2',
    IMAP_OAUTH_TOKEN_URL: 'https://login.microsoftonline.com/tenant-id/oauth2/v2.0/token',
    IMAP_OAUTH_CLIENT_ID: 'app-id-1',
    IMAP_OAUTH_CLIENT_SECRET: 'client-secret-Vb55',
    IMAP_OAUTH_SCOPE: 'https://outlook.office365.com/.default',
  };

  it('when IMAP_AUTH=oauth2 has a client secret and no refresh token, then the mailbox signs in by the client-credentials grant, without a password', () => {
    const config = loadConfig(oauthImap);

    expect(config.imap?.password).toBeUndefined();
    expect(config.imap?.oauth).toEqual({
      tokenUrl: 'https://login.microsoftonline.com/tenant-id/oauth2/v2.0/token',
      clientId: 'app-id-1',
      clientSecret: 'client-secret-Vb55',
      scope: 'https://outlook.office365.com/.default',
      refreshToken: undefined,
    });
    expect(describeConfig(config).imap).toMatchObject({ auth: 'oauth2 (client credentials)' });
  });

  it('when a refresh token is set, then it is kept for the refresh-token grant, and a public client needs no secret', () => {
    const config = loadConfig({
      ...oauthImap,
      IMAP_OAUTH_CLIENT_SECRET: '',
      IMAP_OAUTH_REFRESH_TOKEN: 'refresh-Tt09',
    });

    expect(config.imap?.oauth?.refreshToken).toBe('refresh-Tt09');
    expect(config.imap?.oauth?.clientSecret).toBeUndefined();
    expect(describeConfig(config).imap).toMatchObject({ auth: 'oauth2 (refresh token)' });
  });

  it.each([
    [
      'IMAP_OAUTH_TOKEN_URL',
      { IMAP_OAUTH_TOKEN_URL: '' },
      /^IMAP_OAUTH_TOKEN_URL must be set when IMAP_AUTH=oauth2/,
    ],
    [
      'IMAP_OAUTH_CLIENT_ID',
      { IMAP_OAUTH_CLIENT_ID: '' },
      /^IMAP_OAUTH_CLIENT_ID must be set when IMAP_AUTH=oauth2/,
    ],
    [
      'IMAP_OAUTH_CLIENT_SECRET',
      { IMAP_OAUTH_CLIENT_SECRET: '' },
      /^IMAP_OAUTH_CLIENT_SECRET must be set when IMAP_AUTH=oauth2 without IMAP_OAUTH_REFRESH_TOKEN/,
    ],
    ['IMAP_AUTH', { IMAP_AUTH: 'kerberos' }, /^IMAP_AUTH must be password or oauth2/],
    [
      'IMAP_OAUTH_TOKEN_URL',
      { IMAP_OAUTH_TOKEN_URL: 'http://login.example.org/token' },
      /^IMAP_OAUTH_TOKEN_URL must be an https:\/\/ URL/,
    ],
  ])('when %s is missing or wrong, then start-up stops in one sentence naming it', (_, change, message) => {
    const err = configError({ ...oauthImap, ...change });

    expect(err.message).toMatch(message);
    expectOneSentence(err.message);
    expect(err.message).not.toContain('client-secret-Vb55');
  });

  it('when the token URL is http:// to this machine (a local provider), then it is accepted', () => {
    const config = loadConfig({ ...oauthImap, IMAP_OAUTH_TOKEN_URL: 'http://127.0.0.1:8080/token' });

    expect(config.imap?.oauth?.tokenUrl).toBe('http://127.0.0.1:8080/token');
  });

  it('when the OAuth variables are set but IMAP_AUTH is not, then the missing password says to set IMAP_AUTH=oauth2', () => {
    const err = configError({ ...oauthImap, IMAP_AUTH: '' });

    expect(err.message).toMatch(/^IMAP_PASSWORD must be set .* or IMAP_AUTH=oauth2/);
    expectOneSentence(err.message);
  });

  it('when SMTP_AUTH=oauth2 sets nothing of its own, then it takes each IMAP_OAUTH_* value and signs in as IMAP_USER', () => {
    const config = loadConfig({
      ...oauthImap,
      SMTP_URL: 'smtp://smtp.office365.com:587',
      SMTP_AUTH: 'oauth2',
      MAIL_FROM: 'security@example.org',
    });

    expect(config.smtpOauth).toEqual({ user: 'security@example.org', client: config.imap?.oauth });
    expect(describeConfig(config).smtp).toBe('configured, oauth2 as security@example.org');
  });

  it('when SMTP_OAUTH_* and a user in SMTP_URL are set, then they win over the IMAP values', () => {
    const config = loadConfig({
      ...oauthImap,
      SMTP_URL: 'smtp://sender%40example.org@smtp.gmail.com:587',
      SMTP_AUTH: 'oauth2',
      SMTP_OAUTH_TOKEN_URL: 'https://oauth2.googleapis.com/token',
      SMTP_OAUTH_SCOPE: 'https://mail.google.com/',
      SMTP_OAUTH_REFRESH_TOKEN: 'smtp-refresh-Pp31',
      MAIL_FROM: 'security@example.org',
    });

    expect(config.smtpOauth).toEqual({
      user: 'sender@example.org',
      client: {
        tokenUrl: 'https://oauth2.googleapis.com/token',
        clientId: 'app-id-1',
        clientSecret: 'client-secret-Vb55',
        scope: 'https://mail.google.com/',
        refreshToken: 'smtp-refresh-Pp31',
      },
    });
  });

  it('when SMTP_AUTH=oauth2 has no token URL anywhere, then start-up names both variables', () => {
    const err = configError({
      SMTP_URL: 'smtp://smtp.office365.com:587',
      SMTP_AUTH: 'oauth2',
      MAIL_FROM: 'security@example.org',
    });

    expect(err.message).toBe(
      "SMTP_OAUTH_TOKEN_URL (or IMAP_OAUTH_TOKEN_URL) must be set when SMTP_AUTH=oauth2: it is the provider's OAuth 2.0 token endpoint.",
    );
  });

  it('when the OAuth secrets are described or refused, then neither the client secret nor the refresh token shows', () => {
    const config = loadConfig({ ...oauthImap, IMAP_OAUTH_REFRESH_TOKEN: 'refresh-Tt09' });
    const text = JSON.stringify(describeConfig(config));
    const err = configError({ ...oauthImap, IMAP_OAUTH_REFRESH_TOKEN: 'refresh-Tt09', PORT: 'x' });

    for (const secret of ['client-secret-Vb55', 'refresh-Tt09']) {
      expect(text).not.toContain(secret);
      expect(err.message).not.toContain(secret);
    }
  });
});

describe('the documentation of the configuration', () => {
  const root = path.resolve(__dirname, '..', '..');
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const example = fs.readFileSync(path.join(root, '.env.example'), 'utf8');

  it.each(VARIABLES)('when the configuration reads %s, then README and .env.example name it', (name) => {
    const short = name.replace(/^(SMTP|IMAP)_OAUTH_/, '…_');
    expect(readme.includes(`\`${name}\``) || readme.includes(`\`${short}\``)).toBe(true);
    expect(example).toMatch(new RegExp(`^${name}=`, 'm'));
  });
});
