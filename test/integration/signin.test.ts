import mongoose from 'mongoose';
import type { ImapConfig } from '../../server/config';
import { pruneOldRecords } from '../../server/housekeeping';
import { issueLoginLink } from '../../server/auth/magic-link';
import { addUser } from '../../server/auth/users';
import { startConversationRig, mailFor, type ConversationRig } from '../support/conversation';
import type { Desk } from '../support/desk';
import { newMailbox, uniqueName } from '../support/env';
import { compose } from '../support/mail';
import { waitFor } from '../support/wait';

/**
 * Signing in by email link, end to end: the link is mailed through the desk's SMTP transport into
 * the member's own Dovecot mailbox and read from there. Sessions live in the database; a cookie
 * write needs the session's CSRF token.
 */

let rig: ConversationRig;
let desk: Desk;
let memberBox: ImapConfig;
let caseKey: string;

beforeAll(async () => {
  rig = await startConversationRig({
    linkLimits: {
      perAddress: { limit: 4, windowMs: 15 * 60_000 },
      perIp: { limit: 6, windowMs: 15 * 60_000 },
    },
  });
  desk = rig.desk;
  memberBox = await newMailbox('member');
  await addUser(memberBox.user, 'Ana R.', 'lead');
  const tag = uniqueName('signin');
  await rig.send(await compose({ subject: `Printer jam ${tag}`, text: 'Tray 2.' }), 'someone@example.org');
  caseKey = await waitFor('the case', async () => {
    const res = await desk.api<{ cases: { key: string }[] }>(`/api/cases?q=${tag}`);
    return res.body.cases[0]?.key ?? null;
  });
});
afterAll(() => rig.stop());

/** Each test asks from its own client address (the desk trusts X-Forwarded-For from loopback). */
let ipCounter = 1;
const nextIp = () => `198.51.100.${ipCounter++}`;

function askForLink(email: string, ip: string) {
  return fetch(`${desk.url}/auth/magic-link`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
    body: JSON.stringify({ email }),
  });
}

/** The sign-in URLs in the member's mailbox, oldest first, once there are `n`. */
async function linksInMailbox(n: number): Promise<URL[]> {
  const mail = await mailFor(memberBox, n);
  return mail.map((m) => {
    const found = /https?:\/\/\S+\/auth\/magic\?token=[\w-]+/.exec(m.text);
    if (!found) throw new Error(`no sign-in link in: ${m.text}`);
    return new URL(found[0]);
  });
}

function useLink(link: URL, headers: Record<string, string> = {}) {
  return fetch(`${desk.url}/auth/magic`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams({ token: link.searchParams.get('token')! }).toString(),
  });
}

const cookieOf = (res: Response) => /^tocsin=([^;]+)/.exec(res.headers.get('set-cookie') ?? '')?.[1];

function withCookie(cookie: string, path: string, init: RequestInit = {}) {
  return fetch(desk.url + path, {
    ...init,
    headers: { cookie: `tocsin=${cookie}`, 'content-type': 'application/json', ...(init.headers ?? {}) },
  });
}

let signedIn: { cookie: string; csrf: string };

describe('when a member signs in with an emailed link', () => {
  it('then the link arrives in their mailbox, and opening it asks for a click before it signs in', async () => {
    expect((await askForLink(memberBox.user, nextIp())).status).toBe(202);
    const [link] = await linksInMailbox(1);
    expect(link!.origin).toBe(desk.publicUrl);
    const mail = (await mailFor(memberBox, 1))[0]!;
    expect(mail.message.headers.find((h) => h.name.toLowerCase() === 'auto-submitted')?.value).toBe(
      'auto-generated',
    );

    const page = await fetch(`${desk.url}${link!.pathname}${link!.search}`);
    expect(page.status).toBe(200);
    expect(page.headers.get('set-cookie')).toBeNull();
    expect(await page.text()).toContain('<form method="post" action="/auth/magic">');
  });

  it('then the click signs in with an HttpOnly, SameSite=Lax session cookie, once', async () => {
    const [link] = await linksInMailbox(1);
    // A cookie an attacker planted beforehand is not adopted: sign-in starts a new session.
    const res = await useLink(link!, { cookie: 'tocsin=planted-by-someone-else' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/');
    const setCookie = res.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/^tocsin=[\w-]{40,};/);
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Lax/i);
    expect(setCookie).toMatch(/Path=\//);
    expect(setCookie).not.toMatch(/Secure/i); // the test desk is served over http
    const cookie = cookieOf(res)!;
    expect(cookie).not.toBe('planted-by-someone-else');

    const me = await withCookie(cookie, '/api/me');
    expect(me.status).toBe(200);
    const body = (await me.json()) as { email: string; role: string; csrfToken: string; sessions: unknown[] };
    expect(body).toMatchObject({ email: memberBox.user, role: 'lead', csrfToken: expect.any(String) });
    expect(body.sessions).toEqual([expect.objectContaining({ current: true, method: 'magic-link' })]);
    signedIn = { cookie, csrf: body.csrfToken };

    // A sign-in posted from another site (login CSRF) is refused before the link is looked at.
    for (const forgedHeaders of <Record<string, string>[]>[
      { origin: 'https://evil.example' },
      { origin: 'null' },
      { 'sec-fetch-site': 'cross-site' },
    ])
      expect((await useLink(link!, forgedHeaders)).status).toBe(403);
    const again = await useLink(link!);
    expect(again.status).toBe(400);
    expect(await again.text()).toContain('was used already');
  });

  it('then a link used after 15 minutes is refused as expired', async () => {
    expect((await askForLink(memberBox.user, nextIp())).status).toBe(202);
    const links = await linksInMailbox(2);
    // Fifteen minutes pass: every link issued so far is now past its expiry.
    await mongoose.connection
      .collection('login_links')
      .updateMany({}, { $set: { expiresAt: new Date(Date.now() - 1000) } });
    const res = await useLink(links[1]!);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('has expired');
    expect(res.headers.get('set-cookie')).toBeNull();
  });

  it('then an unknown address gets the same answer and no mail, and a made-up token is refused', async () => {
    const stranger = `${uniqueName('nobody')}@example.test`;
    const res = await askForLink(stranger, nextIp());
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({
      message: 'If that address belongs to a member, a sign-in link is on its way.',
    });
    const made = await fetch(`${desk.url}/auth/magic`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: 'A'.repeat(43) }),
    });
    expect(made.status).toBe(400);
    expect(await made.json()).toMatchObject({ error: 'link-unknown' });
    // The desk sent mail to the member only, never to the stranger.
    expect(rig.sentByDesk().some((m) => m.to.includes(stranger))).toBe(false);
  });

  it('then asking too often is rate-limited per address and per client address', async () => {
    const email = `${uniqueName('limited')}@example.test`;
    const perAddress = [];
    for (let i = 0; i < 5; i++) perAddress.push((await askForLink(email, nextIp())).status);
    expect(perAddress).toEqual([202, 202, 202, 202, 429]);

    const ip = nextIp();
    const perIp = [];
    for (let i = 0; i < 7; i++) perIp.push((await askForLink(`${uniqueName('ip')}@example.test`, ip)).status);
    expect(perIp).toEqual([202, 202, 202, 202, 202, 202, 429]);
    const refused = await askForLink(`${uniqueName('ip')}@example.test`, ip);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await refused.json()).toMatchObject({ error: 'rate-limited' });
  });
});

describe('when a signed-in browser changes something with its cookie', () => {
  const note = (headers: Record<string, string>) =>
    desk.api<{ version: number }>(`/api/cases/${caseKey}`).then(({ body }) =>
      withCookie(signedIn.cookie, `/api/cases/${caseKey}/notes`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ version: body.version, text: 'Called the reporter back.' }),
      }),
    );

  it('then a POST without the CSRF token is refused', async () => {
    const res = await note({});
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: 'csrf' });
  });

  it('then a POST with a wrong token, or from another origin, is refused', async () => {
    expect((await note({ 'x-csrf-token': 'guessed' })).status).toBe(403);
    expect((await note({ 'x-csrf-token': signedIn.csrf, origin: 'https://evil.example' })).status).toBe(403);
  });

  it('then the same POST with the session’s token is accepted and recorded as the member', async () => {
    const res = await note({ 'x-csrf-token': signedIn.csrf, origin: desk.publicUrl });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { timeline: { kind: string; by?: { name: string } }[] };
    expect(body.timeline.at(-1)).toMatchObject({ kind: 'note', by: { name: 'Ana R.' } });
  });

  it('then API answers are gzipped for it, except the one that carries its CSRF token', async () => {
    const gzip = { 'accept-encoding': 'gzip' };
    const playbook = await withCookie(signedIn.cookie, '/api/playbook', { headers: gzip });
    expect(playbook.headers.get('content-encoding')).toBe('gzip');
    expect(playbook.headers.get('vary')).toMatch(/accept-encoding/i);

    const me = await withCookie(signedIn.cookie, '/api/me', { headers: gzip });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ csrfToken: signedIn.csrf });
    // Not even considered for compression (which would say Vary), whatever its size.
    expect(me.headers.get('content-encoding')).toBeNull();
    expect(me.headers.get('vary') ?? '').not.toMatch(/accept-encoding/i);
  });

  it('then reads need no token, and a bearer token still works for scripts without one', async () => {
    expect((await withCookie(signedIn.cookie, '/api/cases')).status).toBe(200);
    const { body } = await desk.api<{ version: number }>(`/api/cases/${caseKey}`);
    const res = await desk.api(`/api/cases/${caseKey}/notes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ version: body.version, text: 'From a script.' }),
    });
    expect(res.status).toBe(201);
  });
});

describe('when a member manages their sessions', () => {
  it('then they see each session and can end another one, or their own (sign out)', async () => {
    const link = await issueLoginLink(memberBox.user, desk.publicUrl);
    const second = cookieOf(await useLink(new URL(link!.url)))!;
    const me = (await (await withCookie(signedIn.cookie, '/api/me')).json()) as {
      sessions: { id: string; current: boolean }[];
    };
    expect(me.sessions).toHaveLength(2);
    const other = me.sessions.find((s) => !s.current)!;

    const ended = await withCookie(signedIn.cookie, `/api/me/sessions/${other.id}`, {
      method: 'DELETE',
      headers: { 'x-csrf-token': signedIn.csrf },
    });
    expect(ended.status).toBe(204);
    expect((await withCookie(second, '/api/me')).status).toBe(401);

    const out = await withCookie(signedIn.cookie, '/api/me/sessions/current', {
      method: 'DELETE',
      headers: { 'x-csrf-token': signedIn.csrf },
    });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/^tocsin=;/);
    const after = await withCookie(signedIn.cookie, '/api/me');
    expect(after.status).toBe(401);
    expect(await after.json()).toMatchObject({ error: 'unauthenticated' });
  });
});

describe('when the hourly sweep runs', () => {
  it('then it forgets old single-use marks, rate slots, expired links and feed records, and keeps fresh ones', async () => {
    const db = mongoose.connection;
    const old = new Date(Date.now() - 3 * 24 * 3600_000);
    await db.collection('once').insertOne({ _id: 'test:old' as never, at: old });
    await db.collection('rate_limits').insertOne({ _id: 'test:old:1' as never, window: old.getTime() });
    const fresh = await db
      .collection('once')
      .countDocuments({ at: { $gt: new Date(Date.now() - 3600_000) } });
    expect(fresh).toBeGreaterThan(0); // the links used above
    const links = await db.collection('login_links').countDocuments();
    await db.collection('login_links').insertOne({ _id: 'test:old-link' as never, expiresAt: old });
    await db.collection('case_feed').insertOne({ _id: 'feed:test-old' as never, caseKey: caseKey, at: old });
    const feed = await db.collection('case_feed').countDocuments();

    await pruneOldRecords();
    expect(await db.collection('once').findOne({ _id: 'test:old' as never })).toBeNull();
    expect(await db.collection('rate_limits').findOne({ _id: 'test:old:1' as never })).toBeNull();
    expect(await db.collection('login_links').findOne({ _id: 'test:old-link' as never })).toBeNull();
    expect(await db.collection('case_feed').countDocuments()).toBe(feed - 1);
    expect(await db.collection('once').countDocuments({ at: { $gt: new Date(Date.now() - 3600_000) } })).toBe(
      fresh,
    );
    // The links of this run expired a moment ago (the expiry test), not a day ago: kept.
    expect(await db.collection('login_links').countDocuments()).toBe(links);
  });
});
