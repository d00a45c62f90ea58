import { createHash, createPrivateKey, sign } from 'node:crypto';
import type { Browser, CDPSession, Page } from 'playwright-core';
import { addVirtualAuthenticator, launchChromium } from '../support/browser';
import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import { issueLoginLink } from '../../server/auth/magic-link';
import { finishSignIn, isRefusal, Passkey } from '../../server/auth/passkeys';
import { addUser, type UserDoc } from '../../server/auth/users';
import type { ImapConfig } from '../../server/config';
import { mailFor, startConversationRig, type ConversationRig } from '../support/conversation';
import type { Desk } from '../support/desk';
import { newMailbox } from '../support/env';

/**
 * Passkeys end to end: real headless Chromium with the DevTools virtual authenticator (a
 * platform authenticator that keeps resident keys and verifies the user), against the desk
 * in-process. The page does the browser half of each ceremony; the desk does the rest.
 */

type Answer<T = unknown> = { status: number; body: T };

/** Runs in the page: a same-origin fetch that carries the session cookie and the CSRF token. */
async function fetchInPage(arg: { path: string; method: string; body?: unknown; csrf?: string }) {
  const headers: Record<string, string> = {};
  if (arg.body !== undefined) headers['content-type'] = 'application/json';
  if (arg.csrf) headers['x-csrf-token'] = arg.csrf;
  const res = await fetch(arg.path, {
    method: arg.method,
    headers,
    body: arg.body === undefined ? undefined : JSON.stringify(arg.body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
}

type Descriptor = { id: string; type: string; transports?: string[] };
interface CeremonyOptions {
  challenge: string;
  user?: { id: string; name: string; displayName: string };
  excludeCredentials?: Descriptor[];
  allowCredentials?: Descriptor[];
  [field: string]: unknown;
}

/**
 * Runs in the page: navigator.credentials.create() or get() with options as the desk sends them
 * (base64url strings), answering with the JSON shape @simplewebauthn reads, or the DOM error's name.
 */
async function ceremonyInPage(arg: { kind: 'create' | 'get'; options: CeremonyOptions }) {
  interface Credential {
    id: string;
    rawId: ArrayBuffer;
    type: string;
    authenticatorAttachment: string | null;
    getClientExtensionResults(): unknown;
    response: {
      clientDataJSON: ArrayBuffer;
      attestationObject?: ArrayBuffer;
      getTransports?(): string[];
      authenticatorData?: ArrayBuffer;
      signature?: ArrayBuffer;
      userHandle?: ArrayBuffer | null;
    };
  }
  interface Credentials {
    create(o: { publicKey: unknown }): Promise<Credential>;
    get(o: { publicKey: unknown }): Promise<Credential>;
  }
  const credentials = (globalThis as unknown as { navigator: { credentials: Credentials } }).navigator
    .credentials;
  const bytes = (s: string) =>
    Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
  const text = (b: ArrayBuffer) =>
    btoa(String.fromCharCode(...new Uint8Array(b)))
      .replace(/\+/g, '-')
      .replace(/\//g, '_')
      .replace(/=+$/, '');
  const descriptors = (list?: Descriptor[]) => list?.map((d) => ({ ...d, id: bytes(d.id) }));
  const common = (cred: Credential) => ({
    id: cred.id,
    rawId: text(cred.rawId),
    type: cred.type,
    authenticatorAttachment: cred.authenticatorAttachment ?? undefined,
    clientExtensionResults: cred.getClientExtensionResults(),
  });
  const { options } = arg;
  try {
    if (arg.kind === 'create') {
      const cred = await credentials.create({
        publicKey: {
          ...options,
          challenge: bytes(options.challenge),
          user: { ...options.user!, id: bytes(options.user!.id) },
          excludeCredentials: descriptors(options.excludeCredentials),
        },
      });
      return {
        ...common(cred),
        response: {
          clientDataJSON: text(cred.response.clientDataJSON),
          attestationObject: text(cred.response.attestationObject!),
          transports: cred.response.getTransports!(),
        },
      };
    }
    const cred = await credentials.get({
      publicKey: {
        ...options,
        challenge: bytes(options.challenge),
        allowCredentials: descriptors(options.allowCredentials),
      },
    });
    const handle = cred.response.userHandle;
    return {
      ...common(cred),
      response: {
        clientDataJSON: text(cred.response.clientDataJSON),
        authenticatorData: text(cred.response.authenticatorData!),
        signature: text(cred.response.signature!),
        userHandle: handle ? text(handle) : undefined,
      },
    };
  } catch (err) {
    return { error: (err as Error).name, message: (err as Error).message };
  }
}

type Ceremony = Awaited<ReturnType<typeof ceremonyInPage>>;
type Options = { challengeId: string; options: CeremonyOptions };
type Refused = { error: string; message: string };

let desk: Desk;
let rig: ConversationRig;
/** The member's own mailbox, where account notices arrive. */
let memberBox: ImapConfig;
let browser: Browser;
let page: Page;
let cdp: CDPSession;
let authenticatorId: string;
let member: UserDoc;
/** The CSRF token of the page's current session. */
let csrf: string;
let passkeyId: string;

const inPage = <T = unknown>(path: string, method = 'GET', body?: unknown): Promise<Answer<T>> =>
  page.evaluate(fetchInPage, { path, method, body, csrf }) as Promise<Answer<T>>;

async function ceremony(kind: 'create' | 'get', options: CeremonyOptions): Promise<Ceremony> {
  return page.evaluate(ceremonyInPage, { kind, options });
}

/** A passkey sign-in done in the page, up to the answer (not yet sent). */
async function assertion(): Promise<{ challengeId: string; response: Ceremony }> {
  const { body } = await inPage<Options>('/auth/passkey/options', 'POST');
  return { challengeId: body.challengeId, response: await ceremony('get', body.options) };
}

/** The virtual authenticator's one credential, private key included. */
async function storedCredential() {
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  expect(credentials).toHaveLength(1);
  return credentials[0]!;
}

beforeAll(async () => {
  rig = await startConversationRig();
  desk = rig.desk;
  memberBox = await newMailbox('pat');
  member = await addUser(memberBox.user, 'Pat Member', 'member');
  browser = await launchChromium();
  const context = await browser.newContext();
  page = await context.newPage();
  ({ cdp, authenticatorId } = await addVirtualAuthenticator(context, page));
});

afterAll(async () => {
  await browser?.close();
  await rig?.stop();
});

describe('when a member signed in by email link adds a passkey', () => {
  it('then the desk stores it and lists it', async () => {
    // The link's own page, on the desk's origin, and a click on its button, as a member would.
    const link = await issueLoginLink(member.email, desk.publicUrl);
    await page.goto(link!.url);
    const [signedIn] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/auth/magic') && r.request().method() === 'POST'),
      page.getByRole('button', { name: 'Sign in to Tocsin' }).click(),
    ]);
    expect(signedIn.status()).toBe(303);
    const me = await inPage<{ id: string; csrfToken: string }>('/api/me');
    expect(me).toMatchObject({ status: 200, body: { id: String(member._id) } });
    csrf = me.body.csrfToken;

    const { body: start } = await inPage<Options>('/api/me/passkeys/options', 'POST');
    expect(start.options).toMatchObject({
      rp: { id: 'localhost' },
      authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
      excludeCredentials: [],
    });
    const created = await ceremony('create', start.options);
    expect(created).not.toHaveProperty('error');
    const added = await inPage<{ id: string }>('/api/me/passkeys', 'POST', {
      challengeId: start.challengeId,
      response: created,
      name: 'Virtual authenticator',
    });
    expect(added).toMatchObject({ status: 201, body: { name: 'Virtual authenticator' } });
    passkeyId = added.body.id;

    const listed = await inPage<{ passkeys: { id: string; name: string }[] }>('/api/me/passkeys');
    expect(listed.body.passkeys).toEqual([
      expect.objectContaining({ id: passkeyId, name: 'Virtual authenticator' }),
    ]);
    const stored = await Passkey.findById(passkeyId);
    expect(Buffer.isBuffer(stored?.publicKey)).toBe(true);

    // The member is told by mail, so that a passkey they did not add is noticed.
    const [notice] = await mailFor(memberBox, 1);
    expect(notice!.subject).toBe('A passkey was added to your Tocsin account');
    expect(notice!.text).toContain('"Virtual authenticator"');
  });

  it('then the same authenticator is excluded from adding it again', async () => {
    const { body: start } = await inPage<Options>('/api/me/passkeys/options', 'POST');
    expect(start.options.excludeCredentials).toEqual([expect.objectContaining({ id: passkeyId })]);
    expect(await ceremony('create', start.options)).toMatchObject({ error: 'InvalidStateError' });
  });

  it('then an API token can not start adding one', async () => {
    const res = await desk.api('/api/me/passkeys/options', { method: 'POST' });
    expect(res).toMatchObject({ status: 403, body: { error: 'session-required' } });
  });
});

describe('when the member signs out and signs in with the passkey', () => {
  let answer: { challengeId: string; response: Ceremony };

  it('then the session is a passkey session of that member', async () => {
    expect((await inPage('/api/me/sessions/current', 'DELETE')).status).toBe(204);
    expect((await inPage('/api/me')).status).toBe(401);

    answer = await assertion();
    expect(answer.response).not.toHaveProperty('error');
    const signedIn = await inPage<{ csrfToken: string; user: { id: string } }>(
      '/auth/passkey',
      'POST',
      answer,
    );
    expect(signedIn).toMatchObject({ status: 200, body: { user: { id: String(member._id) } } });
    csrf = signedIn.body.csrfToken;

    const me = await inPage<{ id: string; sessions: { method: string }[] }>('/api/me');
    expect(me.status).toBe(200);
    expect(me.body.id).toBe(String(member._id));
    expect(me.body.sessions[0]!.method).toBe('passkey');
    const stored = await Passkey.findById(passkeyId);
    expect(stored?.counter).toBe((await storedCredential()).signCount);
    expect(stored?.lastUsedAt).toBeInstanceOf(Date);
  });

  it('then the same answer sent again is refused: the challenge worked once', async () => {
    const replay = await inPage<Refused>('/auth/passkey', 'POST', answer);
    expect(replay).toMatchObject({ status: 400, body: { error: 'passkey-refused' } });
    expect(replay.body.message).toMatch(/answered already/);
  });

  it('then of one answer sent twice at once, exactly one signs in', async () => {
    const race = await assertion();
    const send = () =>
      fetch(`${desk.url}/auth/passkey`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(race),
      }).then((res) => res.status);
    const statuses = await Promise.all([send(), send(), send()]);
    expect(statuses.sort()).toEqual([200, 400, 400]);
  });
});

describe('when an answer does not fit the challenge it names', () => {
  it('then a registration challenge answered at sign-in is refused', async () => {
    const { body: start } = await inPage<Options>('/api/me/passkeys/options', 'POST');
    const response = await ceremony('get', {
      challenge: start.options.challenge,
      rpId: 'localhost',
      userVerification: 'required',
    });
    expect(response).not.toHaveProperty('error');
    const res = await inPage<Refused>('/auth/passkey', 'POST', { challengeId: start.challengeId, response });
    expect(res).toMatchObject({ status: 400, body: { error: 'passkey-refused' } });
    expect(res.body.message).toMatch(/something else/);
  });

  it('then an assertion checked against another origin is refused', async () => {
    const { challengeId, response } = await assertion();
    const elsewhere = `http://localhost:${Number(new URL(desk.publicUrl).port) + 1}`;
    const result = await finishSignIn(challengeId, response as AuthenticationResponseJSON, elsewhere);
    expect(isRefusal(result) && result).toMatchObject({
      refused: 'not-verified',
      detail: expect.stringMatching(/origin/),
    });
  });

  it('then a stored counter ahead of the authenticator refuses the sign-in as a copy', async () => {
    const real = (await Passkey.findById(passkeyId))!.counter;
    await Passkey.updateOne({ _id: passkeyId }, { $set: { counter: real + 1_000_000 } });
    const res = await inPage<Refused>('/auth/passkey', 'POST', await assertion());
    await Passkey.updateOne({ _id: passkeyId }, { $set: { counter: real } });
    expect(res).toMatchObject({ status: 400, body: { error: 'passkey-refused' } });
    expect(res.body.message).toMatch(/counter/);
  });

  it('then an assertion without user verification is refused, and the same with it accepted', async () => {
    // Signed here with the authenticator's own key, since Chromium will not skip verification
    // that the desk asks for; the control proves the forgery is otherwise sound.
    const key = await storedCredential();
    const privateKey = createPrivateKey({
      key: Buffer.from(key.privateKey, 'base64'),
      format: 'der',
      type: 'pkcs8',
    });
    const forge = async (flags: number, counter: number) => {
      const start = (await (
        await fetch(`${desk.url}/auth/passkey/options`, { method: 'POST' })
      ).json()) as Options;
      const clientData = Buffer.from(
        JSON.stringify({
          type: 'webauthn.get',
          challenge: start.options.challenge,
          origin: new URL(desk.publicUrl).origin,
          crossOrigin: false,
        }),
      );
      const count = Buffer.alloc(4);
      count.writeUInt32BE(counter);
      const authData = Buffer.concat([
        createHash('sha256').update('localhost').digest(),
        Buffer.from([flags]),
        count,
      ]);
      const signature = sign(
        privateKey.asymmetricKeyType === 'ed25519' ? null : 'sha256',
        Buffer.concat([authData, createHash('sha256').update(clientData).digest()]),
        privateKey,
      );
      const res = await fetch(`${desk.url}/auth/passkey`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          challengeId: start.challengeId,
          response: {
            id: passkeyId,
            rawId: passkeyId,
            type: 'public-key',
            clientExtensionResults: {},
            response: {
              clientDataJSON: clientData.toString('base64url'),
              authenticatorData: authData.toString('base64url'),
              signature: signature.toString('base64url'),
              userHandle: Buffer.from(key.userHandle!, 'base64').toString('base64url'),
            },
          },
        }),
      });
      return { status: res.status, body: (await res.json()) as unknown };
    };
    const USER_PRESENT = 0x01;
    const USER_VERIFIED = 0x04;
    const real = (await Passkey.findById(passkeyId))!.counter;
    expect(await forge(USER_PRESENT, 2_000_001)).toMatchObject({
      status: 400,
      body: { error: 'passkey-refused' },
    });
    expect(await forge(USER_PRESENT | USER_VERIFIED, 2_000_002)).toMatchObject({
      status: 200,
      body: { user: { id: String(member._id) } },
    });
    await Passkey.updateOne({ _id: passkeyId }, { $set: { counter: real } });
  });
});

describe('when the member removes the passkey', () => {
  it('then nobody else can, it is no longer listed, and it can no longer sign in', async () => {
    const byOther = await desk.api(`/api/me/passkeys/${encodeURIComponent(passkeyId)}`, {
      method: 'DELETE',
    });
    expect(byOther).toMatchObject({ status: 404, body: { error: 'passkey-not-found' } });

    const removed = await inPage(`/api/me/passkeys/${encodeURIComponent(passkeyId)}`, 'DELETE');
    expect(removed.status).toBe(204);
    expect(await inPage('/api/me/passkeys')).toMatchObject({ status: 200, body: { passkeys: [] } });

    const res = await inPage<Refused>('/auth/passkey', 'POST', await assertion());
    expect(res).toMatchObject({ status: 400, body: { error: 'passkey-refused' } });
    expect(res.body.message).toMatch(/not registered/);
  });
});
