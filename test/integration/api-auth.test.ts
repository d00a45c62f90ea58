import type { Router } from 'express';
import { addUser, createToken } from '../../server/auth/users';
import { apiRoutes } from '../../server/http/routes';
import { storedKeyPager } from '../../server/push/pager';
import { casesTagged } from '../support/conversation';
import { startDesk, testLog, type Desk } from '../support/desk';
import { newMailbox, uniqueName } from '../support/env';
import { appendMessages, compose } from '../support/mail';
import { waitFor } from '../support/wait';

let desk: Desk;
/** A restricted case (a lost phone: DEV), and an open one, both from real mail. */
let restricted: string;
let open: string;
const tag = uniqueName('auth');
/** Words only the restricted case holds. */
const secret = uniqueName('secret');
let member: { id: string; token: string };
let lead: { token: string };

beforeAll(async () => {
  const box = await newMailbox('api-auth');
  desk = await startDesk({ mailbox: box });
  await appendMessages(box, [
    await compose({
      subject: `Lost my phone on the train ${tag} ${secret}`,
      text: `My phone was stolen last night. It has the committee email and the member drive on it. ${secret}`,
    }),
    await compose({ subject: `Printer jam ${tag}`, text: 'Tray 2 again.' }),
  ]);
  const cases = await waitFor('both cases', async () => {
    const found = await casesTagged(desk, tag);
    return found.length === 2 ? found : null;
  });
  restricted = cases.find((c) => c.type === 'DEV')!.key;
  open = cases.find((c) => c.type !== 'DEV')!.key;
  const memberEmail = `${uniqueName('member')}@example.org`;
  const leadEmail = `${uniqueName('lead')}@example.org`;
  const added = await addUser(memberEmail, 'Plain Member', 'member');
  await addUser(leadEmail, 'Lead Person', 'lead');
  member = { id: String(added._id), token: await createToken(memberEmail) };
  lead = { token: await createToken(leadEmail) };
});
afterAll(() => desk.stop());

/** Each registered route, with its path parameters filled in. */
const routes = apiRoutes({ pager: storedKeyPager(testLog) }).map((r) => ({
  method: r.method.toUpperCase(),
  template: r.path,
  path: '/api' + r.path.replace(/:(\w+)/g, 'INC-2026-001'),
}));

async function call(token: string, method: string, path: string) {
  const res = await fetch(desk.url + path, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: method === 'GET' || method === 'DELETE' ? undefined : JSON.stringify({ version: 0, text: 'x' }),
  });
  return { status: res.status, text: await res.text() };
}

describe('when an anonymous caller tries every /api route in the route table', () => {
  it.each(routes)('then $method $path answers 401 with the JSON error shape', async ({ method, path }) => {
    const res = await fetch(desk.url + path, { method });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: 'unauthenticated', message: expect.any(String) });
  });

  it.each(routes)('then $method $path with a made-up token answers 401 too', async ({ method, path }) => {
    const res = await fetch(desk.url + path, {
      method,
      headers: { authorization: 'Bearer tcs_not-a-real-token' },
    });
    expect(res.status).toBe(401);
  });

  it('then a path that is not a route answers 401 as well, so the API does not reveal its shape', async () => {
    expect((await fetch(`${desk.url}/api/no-such-thing`)).status).toBe(401);
  });
});

describe('when a member who is not its owner tries every case route of a restricted case', () => {
  const caseRoutes = routes.filter((r) => r.template.includes(':key'));
  const otherRoutes = routes.filter((r) => !r.template.includes(':key'));

  it('then the route table has the case routes this test must cover', () => {
    expect(caseRoutes.map((r) => `${r.method} ${r.template}`).sort()).toEqual(
      [
        'GET /cases/:key',
        'PATCH /cases/:key',
        'POST /cases/:key/replies',
        'GET /cases/:key/attachments/:sha256',
        'GET /cases/:key/timeline/:entry/html',
        'POST /cases/:key/notes',
        'POST /cases/:key/vendor-updates',
        'PUT /cases/:key/checklist/:item',
        'POST /cases/:key/ack',
        'PUT /cases/:key/breach',
        'PUT /cases/:key/review',
        'POST /cases/:key/split',
      ].sort(),
    );
  });

  it.each(caseRoutes)(
    'then $method $template answers 403 case-restricted and shows nothing of it',
    async (r) => {
      const path = r.path.replace('INC-2026-001', restricted).replace(/INC-2026-001/g, 'x');
      const res = await call(member.token, r.method, path);
      expect(res.status).toBe(403);
      expect(JSON.parse(res.text)).toMatchObject({ error: 'case-restricted' });
      expect(res.text).not.toContain(secret);
    },
  );

  it.each(otherRoutes)('then $method $template reveals none of its content', async (r) => {
    const res = await call(member.token, r.method, r.path);
    expect(res.status).toBeLessThan(500);
    expect(res.text).not.toContain(secret);
  });

  it('then the list and the register show only that it exists, and a search does not find it', async () => {
    const list = JSON.parse((await call(member.token, 'GET', '/api/cases')).text) as {
      cases: Record<string, unknown>[];
    };
    const stub = list.cases.find((c) => c.key === restricted);
    expect(stub).toMatchObject({ key: restricted, type: 'DEV', restricted: true, hidden: true });
    expect(stub).not.toHaveProperty('subject');
    expect(stub).not.toHaveProperty('reporter');
    expect(list.cases.find((c) => c.key === open)).toMatchObject({ subject: expect.stringContaining(tag) });

    const search = JSON.parse((await call(member.token, 'GET', `/api/cases?q=${secret}`)).text) as {
      cases: { key: string }[];
    };
    expect(search.cases).toEqual([]);
    const byTag = JSON.parse((await call(member.token, 'GET', `/api/cases?q=${tag}`)).text) as {
      cases: { key: string }[];
    };
    expect(byTag.cases.map((c) => c.key)).toEqual([open]);
    const csv = await call(member.token, 'GET', '/api/cases.csv');
    expect(csv.text.split('\r\n').find((l) => l.startsWith(restricted))).toContain('(restricted)');
  });

  it('then the same member sees it in full once a lead makes them its owner', async () => {
    const detail = JSON.parse((await call(lead.token, 'GET', `/api/cases/${restricted}`)).text) as {
      version: number;
      subject: string;
    };
    expect(detail.subject).toContain(secret);
    const patched = await fetch(`${desk.url}/api/cases/${restricted}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${lead.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ version: detail.version, owner: member.id }),
    });
    expect(patched.status).toBe(200);
    const mine = await call(member.token, 'GET', `/api/cases/${restricted}`);
    expect(mine.status).toBe(200);
    expect(mine.text).toContain(secret);
  });
});

describe('when a member with a token calls the API', () => {
  it('then the OpenAPI document lists exactly the routes the app serves', async () => {
    const { status, body } = await desk.api<{ paths: Record<string, Record<string, unknown>> }>(
      '/api/openapi.json',
    );
    expect(status).toBe(200);
    const documented = Object.entries(body.paths)
      .flatMap(([p, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${p}`))
      .sort();
    // What Express itself serves under /api, read from its router rather than from our table.
    const router = desk.app.locals.apiRouter as Router;
    const served = router.stack
      .flatMap((layer) =>
        layer.route
          ? Object.keys((layer.route as unknown as { methods: Record<string, boolean> }).methods).map(
              (m) => `${m.toUpperCase()} /api${layer.route!.path.replace(/:(\w+)/g, '{$1}')}`,
            )
          : [],
      )
      .sort();
    expect(served.length).toBeGreaterThan(10);
    expect(documented).toEqual(served);
  });

  it('then an unknown case is a 404 in the error shape, and a bad filter a 400', async () => {
    expect(await desk.api('/api/cases/INC-1999-999')).toMatchObject({
      status: 404,
      body: { error: 'case-not-found', message: expect.any(String) },
    });
    expect(await desk.api('/api/cases?severity=SEV9')).toMatchObject({
      status: 400,
      body: { error: 'bad-query' },
    });
    expect(await desk.api('/api/cases?limit=-1')).toMatchObject({
      status: 400,
      body: { error: 'bad-query' },
    });
  });

  it('then /healthz and /readyz answer without a token, and readyz reports the database and the synced mailbox', async () => {
    expect((await fetch(`${desk.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${desk.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      status: 'ready',
      database: { ok: true },
      mailbox: { state: expect.stringMatching(/^(idle|syncing)$/), lastSyncAt: expect.any(String) },
    });
  });
});
