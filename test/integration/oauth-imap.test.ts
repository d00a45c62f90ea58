import { Setting } from '../../server/db/settings';
import { sha256 } from '../../server/lib/hash';
import { uniqueName } from '../support/env';
import { compose } from '../support/mail';
import { oauthDesks } from '../support/oauth-desk';
import { startOAuthMailbox } from '../support/oauth-rig';
import { waitFor } from '../support/wait';

/**
 * IMAP_AUTH=oauth2 through a real Tocsin process, a local OAuth 2.0 provider and a Dovecot whose
 * passdb asks that provider whether a token is live (test/support/oauth-rig.ts).
 */

const desks = oauthDesks('oauth_imap');

const report = (to: string, subject: string) => compose({ to, subject, text: 'The wiki is down.' });

describe('when the mailbox signs in with the client-credentials grant', () => {
  it('then mail becomes a case, and after the token expired and the session was dropped a new token reads the next mail', async () => {
    const rig = desks.track(await startOAuthMailbox('cc', { lifetimeSeconds: 4 }));
    const tocsin = await desks.start(rig);

    const before = uniqueName('before');
    await rig.deliver(await report(rig.box.user, `Printer on fire ${before}`));
    expect((await desks.oneCase(tocsin, before)).subject).toBe(`Printer on fire ${before}`);
    const first = rig.provider.accessTokens[0]!;
    expect(rig.provider.counts.client_credentials).toBeGreaterThanOrEqual(1);

    // The session signed in with `first` outlives it: Dovecot checks a token at login only.
    await waitFor('the first token to expire', () => !rig.provider.isLive(first), 10_000, 100);
    rig.provider.revokeAll();
    const issuedBefore = rig.provider.accessTokens.length;
    await rig.dovecot.kick(rig.box.user);
    await waitFor('Tocsin to notice the dropped session', async () => {
      const { mailbox } = await desks.readyz(tocsin);
      return mailbox.reconnects >= 1 && mailbox;
    });

    const after = uniqueName('after');
    await rig.deliver(await report(rig.box.user, `Still on fire ${after}`));
    expect((await desks.oneCase(tocsin, after)).subject).toBe(`Still on fire ${after}`);
    // Only a token issued after the revocation can have signed in again.
    const issued = rig.provider.accessTokens;
    expect(issued.length).toBeGreaterThan(issuedBefore);
    expect(issued.length).toBeGreaterThanOrEqual(2);
    expect(rig.provider.counts.client_credentials).toBe(issued.length);
    expect(rig.provider.counts.activeIntrospections).toBeGreaterThanOrEqual(2);
    const ready = await desks.readyz(tocsin);
    expect(ready).toMatchObject({ status: 200, mailbox: { lastError: null } });
  });

  it('then a token revoked before its expiry is dropped when the login is refused, and a new one signs in', async () => {
    const rig = desks.track(await startOAuthMailbox('revoked', { lifetimeSeconds: 600 }));
    const tocsin = await desks.start(rig);
    await waitFor('the first sync', async () => (await desks.readyz(tocsin)).mailbox.lastSyncAt);
    expect(rig.provider.counts.client_credentials).toBe(1);

    // Still cached by Tocsin (it lives ten minutes), but the provider no longer vouches for it.
    rig.provider.revokeAll();
    await rig.dovecot.kick(rig.box.user);
    const marker = uniqueName('revoked');
    await rig.deliver(await report(rig.box.user, `After the revocation ${marker}`));
    await desks.oneCase(tocsin, marker);
    // One refused login with the cached token, then exactly one new grant.
    expect(rig.provider.counts.client_credentials).toBe(2);
    expect(
      rig.provider.counts.introspections - rig.provider.counts.activeIntrospections,
    ).toBeGreaterThanOrEqual(1);
  });
});

describe('when the mailbox signs in with a refresh token that the provider rotates', () => {
  it('then the new refresh token is kept in the database, and a restart reads mail with it although the configured one is dead', async () => {
    const rig = desks.track(await startOAuthMailbox('rotate', { lifetimeSeconds: 600, rotate: true }));
    const consented = rig.provider.consent();
    const box = { ...rig.box, oauth: { ...rig.box.oauth!, refreshToken: consented } };
    const kept = `oauth-refresh-token:${sha256(
      JSON.stringify([box.oauth.tokenUrl, box.oauth.clientId, box.oauth.scope, consented]),
    ).slice(0, 32)}`;

    const first = await desks.start(rig, {}, box);
    const one = uniqueName('rotate1');
    await rig.deliver(await report(box.user, `Before the restart ${one}`));
    await desks.oneCase(first, one);
    await first.stop();

    expect(rig.provider.counts.refresh_token).toBe(1);
    const [, rotated] = rig.provider.refreshTokens;
    expect(rotated).toBeDefined();
    expect((await Setting.findById(kept).lean())?.value).toBe(rotated);
    // The refresh token in the environment is dead now, as Microsoft's is after a rotation.
    const dead = await fetch(box.oauth.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        client_id: box.oauth.clientId,
        refresh_token: consented,
      }),
    });
    expect(dead.status).toBe(400);
    expect(await dead.json()).toMatchObject({ error: 'invalid_grant' });
    const refusedBefore = rig.provider.counts.refused;

    const second = await desks.start(rig, {}, box);
    const two = uniqueName('rotate2');
    await rig.deliver(await report(box.user, `After the restart ${two}`));
    await desks.oneCase(second, two);
    expect(rig.provider.counts.refresh_token).toBe(2);
    expect(rig.provider.counts.refused).toBe(refusedBefore);
    expect(rig.provider.refreshTokens).toHaveLength(3);
    expect((await Setting.findById(kept).lean())?.value).toBe(rig.provider.refreshTokens[2]);
  });
});

describe('when a token is refused', () => {
  it('then with a wrong client secret /readyz answers 503 and names the token endpoint in one sentence', async () => {
    const rig = desks.track(await startOAuthMailbox('badsecret'));
    const box = { ...rig.box, oauth: { ...rig.box.oauth!, clientSecret: 'not-the-secret' } };
    const tocsin = await desks.start(rig, {}, box);
    const ready = await waitFor('/readyz to give the reason', async () => {
      const r = await desks.readyz(tocsin);
      return r.mailbox.lastError ? r : undefined;
    });
    expect(ready.status).toBe(503);
    const said = ready.mailbox.lastError!;
    expect(said).toMatch(
      new RegExp(
        `^The token endpoint ${rig.provider.tokenUrl} refused the client-credentials grant \\(401 invalid_client\\)`,
      ),
    );
    expect(said).toContain('IMAP_OAUTH_CLIENT_SECRET');
    // One sentence: one full stop, at the end.
    expect(said.match(/[.!?](\s|$)/g)).toEqual(['.']);
    expect(rig.provider.counts.client_credentials).toBe(0);
    expect(rig.provider.counts.introspections).toBe(0);
  });

  it('then with the token issued but refused by the mailbox /readyz answers 503 and names the IMAP login', async () => {
    const rig = desks.track(await startOAuthMailbox('inactive'));
    rig.provider.inactive = true;
    const tocsin = await desks.start(rig);
    const ready = await waitFor('/readyz to give the reason', async () => {
      const r = await desks.readyz(tocsin);
      return r.mailbox.lastError && rig.provider.counts.introspections >= 2 ? r : undefined;
    });
    expect(ready.status).toBe(503);
    expect(ready.mailbox.lastError).toBe(
      `The mailbox server ${rig.box.host}:${rig.box.port} refused the login for ${rig.box.user} (AUTHENTICATIONFAILED): Authentication failed.`,
    );
    // Each refused token was dropped: the second login came with a second token.
    expect(rig.provider.counts.client_credentials).toBeGreaterThanOrEqual(2);
    expect(rig.provider.counts.activeIntrospections).toBe(0);
  });
});
