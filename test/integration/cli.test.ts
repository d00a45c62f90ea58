import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import webpush from 'web-push';
import { Pager } from '../../server/push/pager';
import { vapidKeys } from '../../server/push/vapid';
import { startDesk, testLog, type Desk } from '../support/desk';
import { uniqueName } from '../support/env';
import { compose } from '../support/mail';
import { runCli, startTocsin } from '../support/tocsin-process';

let desk: Desk;
let dir: string;
let env: Record<string, string>;
beforeAll(async () => {
  desk = await startDesk();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tocsin-cli-'));
  env = { MONGODB_URI: desk.dbUri, DATA_DIR: dir };
});
afterAll(async () => {
  await desk.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('when an admin sets up members from the command line', () => {
  it('then user add and token create give a token that the API accepts', async () => {
    const email = `${uniqueName('marta')}@example.org`;
    const added = await runCli(['user', 'add', email, '--name', 'Marta S.', '--role', 'lead'], env);
    expect(added).toMatchObject({ code: 0, stdout: expect.stringContaining('as lead') });
    const again = await runCli(['user', 'add', email, '--name', 'Marta S.', '--role', 'lead'], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('exists already');

    const token = await runCli(['token', 'create', email], env);
    expect(token.code).toBe(0);
    const res = await fetch(`${desk.url}/api/cases`, {
      headers: { authorization: `Bearer ${token.stdout.trim()}` },
    });
    expect(res.status).toBe(200);
  });

  it('then login-link prints a one-time sign-in URL for the first admin of a headless server', async () => {
    const email = `${uniqueName('first')}@example.org`;
    await runCli(['user', 'add', email, '--name', 'First Admin', '--role', 'admin'], env);
    const printed = await runCli(['login-link', email], { ...env, PUBLIC_URL: desk.publicUrl });
    expect(printed.code).toBe(0);
    const url = new URL(printed.stdout.split('\n')[0]!);
    expect(url.origin).toBe(desk.publicUrl);
    expect(url.pathname).toBe('/auth/magic');

    const signIn = () =>
      fetch(`${desk.url}/auth/magic`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token: url.searchParams.get('token') }),
      });
    const first = await signIn();
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({ user: { email: email.toLowerCase(), role: 'admin' } });
    expect((await signIn()).status).toBe(400);

    const stranger = await runCli(['login-link', 'nobody@example.org'], env);
    expect(stranger).toMatchObject({ code: 1, stderr: expect.stringContaining('No member has the address') });
  });

  it('then a wrong role or a missing argument is refused with the usage', async () => {
    const bad = await runCli(['user', 'add', 'x@example.org', '--name', 'X', '--role', 'owner'], env);
    expect(bad).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('--role must be one of admin, lead, member'),
    });
    const usage = await runCli(['user'], env);
    expect(usage).toMatchObject({ code: 64, stderr: expect.stringContaining('tocsin ingest FILE.eml') });
  });
});

describe('when mail is ingested from files', () => {
  it('then tocsin ingest runs the intake pipeline, once per message', async () => {
    const marker = uniqueName('cli');
    const file = path.join(dir, 'report.eml');
    fs.writeFileSync(
      file,
      await compose({
        to: 'desk@example.org',
        subject: `Laptop stolen ${marker}`,
        text: 'My laptop was stolen.',
      }),
    );
    const first = await runCli(['ingest', file, path.join(dir, 'missing.eml')], env);
    expect(first.code).toBe(1); // the missing file is reported, the real one still ingested
    expect(first.stdout).toMatch(/report\.eml: new case DEV-\d{4}-\d{3}/);
    expect(first.stdout).toContain('missing.eml: not read');
    const second = await runCli(['ingest', file], env);
    expect(second).toMatchObject({ code: 0, stdout: expect.stringMatching(/already ingested, case DEV-/) });

    // The CLI is another process: the desk's register (cached, already read by the first test)
    // learns of the case through the case feed.
    const { body } = await desk.api<{ cases: { key: string }[] }>(`/api/cases?q=${marker}`);
    expect(body.cases).toHaveLength(1);
  });

  it('then a quarantined message is listed, and retry turns it into a case', async () => {
    const marker = uniqueName('quarantine');
    const raw = await compose({ to: 'desk@example.org', subject: `Held back ${marker}`, text: 'kept aside' });
    const held = await desk.intake.quarantine(
      raw,
      'parser crashed (test)',
      { kind: 'file', file: 'held.eml' },
      3,
    );
    if (held.outcome !== 'quarantined') throw new Error('expected a quarantine record');

    const list = await runCli(['quarantine', 'list'], env);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(held.quarantineId);
    expect(list.stdout).toContain(`Held back ${marker}`);

    const retry = await runCli(['quarantine', 'retry', held.quarantineId], env);
    expect(retry).toMatchObject({ code: 0, stdout: expect.stringMatching(/ingested as SUP-\d{4}-\d{3}/) });
    expect((await runCli(['quarantine', 'list'], env)).stdout).not.toContain(held.quarantineId);
    const { body } = await desk.api<{ cases: unknown[] }>(`/api/cases?q=${marker}`);
    expect(body.cases).toHaveLength(1);
  });
});

describe('when the server is started with a bad setting', () => {
  it.each([
    ['PORT', 'abc'],
    ['IMAP_PORT', '99999'],
    ['MONGODB_URI', 'postgres://localhost/x'],
  ])('then %s=%s stops start-up with one sentence naming the variable', async (name, value) => {
    const proc = await startTocsin({ ...env, [name]: value }, { waitReady: false });
    expect(await proc.exited).toBe(78);
    const lines = proc.output().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^tocsin: ${name} must `));
  });

  it('then a password is never echoed in the error', async () => {
    const proc = await startTocsin(
      { ...env, IMAP_HOST: 'imap.example.org', IMAP_PASSWORD: 'hunter2-secret' },
      { waitReady: false },
    );
    expect(await proc.exited).toBe(78);
    expect(proc.output()).toContain('IMAP_USER must be set');
    expect(proc.output()).not.toContain('hunter2-secret');
  });
});

describe('when the server gets SIGTERM', () => {
  it('then it shuts down gracefully with exit code 0', async () => {
    const proc = await startTocsin(env);
    expect((await fetch(`${proc.url}/readyz`)).status).toBe(200);
    expect(await proc.stop()).toBe(0);
  });
});

describe('when an admin rotates the stored Web Push keys', () => {
  it('then vapid rotate prints a new public key, which the desk signs with after a restart', async () => {
    // A restarted desk (a fresh pager) reads the stored pair; the first reading makes one.
    const before = (
      await new Pager({ log: testLog, keys: () => vapidKeys(undefined, 'mailto:a@b.c') }).keys()
    ).publicKey;
    const rotated = await runCli(['vapid', 'rotate'], env);
    expect(rotated.code).toBe(0);
    const printed = /new VAPID public key (\S+)/.exec(rotated.stdout)?.[1];
    expect(printed).toBeDefined();
    expect(printed).not.toBe(before);
    expect(Buffer.from(printed!, 'base64url')).toHaveLength(65);
    const after = await new Pager({ log: testLog, keys: () => vapidKeys(undefined, 'mailto:a@b.c') }).keys();
    expect(after.publicKey).toBe(printed);
  });

  it('then with VAPID_* set it refuses, and says to set new keys instead', async () => {
    const keys = webpush.generateVAPIDKeys();
    const refused = await runCli(['vapid', 'rotate'], {
      ...env,
      VAPID_PUBLIC_KEY: keys.publicKey,
      VAPID_PRIVATE_KEY: keys.privateKey,
    });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY are set');
  });
});
