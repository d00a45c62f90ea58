import { compose } from '../support/mail';
import { oauthDesks } from '../support/oauth-desk';
import { startOAuthMailbox } from '../support/oauth-rig';
import { startSmtpRelay, type SmtpRelay } from '../support/smtp';
import { imapEnv, runCli } from '../support/tocsin-process';
import { uniqueName } from '../support/env';

/**
 * SMTP_AUTH=oauth2 (the acknowledgement leaves through a relay that takes XOAUTH2 only) and
 * `tocsin mailbox check` against a mailbox that signs in with OAuth 2.0.
 */

const desks = oauthDesks('oauth_smtp');
let relay: SmtpRelay | undefined;
afterAll(() => relay?.close());

describe('when Tocsin sends with SMTP_AUTH=oauth2', () => {
  it('then the acknowledgement of a new report is sent as the mailbox user with a token the provider issued', async () => {
    const rig = desks.track(await startOAuthMailbox('smtp'));
    relay = await startSmtpRelay({
      lmtp: { host: rig.dovecot.host, port: rig.dovecot.lmtpPort },
      xoauth2: { isLive: (token, user) => rig.provider.isLive(token, user) },
    });
    const tocsin = await desks.start(rig, {
      SMTP_URL: relay.url,
      SMTP_AUTH: 'oauth2',
      MAIL_FROM: rig.box.user,
    });
    const marker = uniqueName('ack');
    const reporter = `${uniqueName('reporter')}@example.org`;
    await rig.deliver(await compose({ from: reporter, to: rig.box.user, subject: `VPN down ${marker}` }));
    const { key } = await desks.oneCase(tocsin, marker);

    const [sent] = await relay.waitForMessages(1, 30_000);
    expect(sent!.envelope).toEqual({ from: rig.box.user, to: [reporter] });
    expect(sent!.raw.toString()).toContain(key);
    expect(sent!.user).toBe(rig.box.user);
    expect(rig.provider.accessTokens).toContain(sent!.accessToken);
    // IMAP and SMTP share one client and consent, so one token served both.
    expect(rig.provider.counts.client_credentials).toBe(1);
  });
});

describe('when an admin runs tocsin mailbox check on an OAuth mailbox', () => {
  it('then every step is ok: the token, the greeting, the XOAUTH2 or OAUTHBEARER login, the folder and its history', async () => {
    const rig = desks.track(await startOAuthMailbox('check'));
    for (const n of [1, 2]) await rig.deliver(await compose({ to: rig.box.user, subject: `Report ${n}` }));
    const env = { MONGODB_URI: desks.dbUri, DATA_DIR: desks.dataDir, ...imapEnv(rig.box) };

    const { code, stdout } = await runCli(['mailbox', 'check'], env);
    const lines = stdout.trimEnd().split('\n');
    expect(lines).toEqual([
      `ok   server: ${rig.box.host}:${rig.box.port} without TLS, as ${rig.box.user}`,
      `ok   token: client-credentials grant at ${rig.provider.tokenUrl}: an access token was issued`,
      // The capabilities as the server gives them after the login (imapflow keeps the last list).
      expect.stringMatching(
        /^ok {3}greeting: Dovecot .*ready\.; capabilities: IMAP4rev1 .*\bIDLE\b.*\bUIDPLUS\b/,
      ),
      expect.stringMatching(
        new RegExp(`^ok {3}login: signed in as ${rig.box.user} with (XOAUTH2|OAUTHBEARER)$`),
      ),
      expect.stringMatching(/^ok {3}folder INBOX: 2 messages, UIDVALIDITY \d+$/),
      'ok   history of INBOX: intake has not read it yet; its first start turns the 2 messages here into draft cases in the inbox (IMAP_HISTORY=open)',
    ]);
    expect(code).toBe(0);
    expect(rig.provider.counts).toMatchObject({ client_credentials: 1, activeIntrospections: 1 });
  });

  it('then with a wrong client secret it stops at a FAIL token line and exits 1', async () => {
    const rig = desks.track(await startOAuthMailbox('checkbad'));
    const box = { ...rig.box, oauth: { ...rig.box.oauth!, clientSecret: 'wrong' } };
    const env = { MONGODB_URI: desks.dbUri, DATA_DIR: desks.dataDir, ...imapEnv(box) };

    const { code, stdout } = await runCli(['mailbox', 'check'], env);
    const lines = stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toBe(
      `FAIL token: The token endpoint ${rig.provider.tokenUrl} refused the client-credentials grant (401 invalid_client): ` +
        'AADSTS7000215: Invalid client secret provided; check IMAP_OAUTH_CLIENT_ID and IMAP_OAUTH_CLIENT_SECRET.',
    );
    expect(code).toBe(1);
    expect(rig.provider.counts).toMatchObject({ client_credentials: 0, refused: 1, introspections: 0 });
  });
});
