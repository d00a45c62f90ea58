import { apiRoutes } from '../../server/http/routes';
import { startDesk, type Desk } from '../support/desk';

let desk: Desk;
beforeAll(async () => {
  desk = await startDesk();
});
afterAll(() => desk.stop());

/** Each registered route, with its path parameters filled in. */
const routes = apiRoutes().map((r) => ({
  method: r.method.toUpperCase(),
  path: '/api' + r.path.replace(/:(\w+)/g, 'INC-2026-001'),
}));

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

describe('when a member with a token calls the API', () => {
  it('then the OpenAPI document lists exactly the routes the app serves', async () => {
    const { status, body } = await desk.api<{ paths: Record<string, Record<string, unknown>> }>(
      '/api/openapi.json',
    );
    expect(status).toBe(200);
    const documented = Object.entries(body.paths)
      .flatMap(([p, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${p}`))
      .sort();
    const served = apiRoutes()
      .map((r) => `${r.method.toUpperCase()} /api${r.path.replace(/:(\w+)/g, '{$1}')}`)
      .sort();
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

  it('then /healthz and /readyz answer without a token, and readyz reports the database and mailbox', async () => {
    expect((await fetch(`${desk.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${desk.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      status: 'ready',
      database: { ok: true },
      mailbox: { state: 'off' },
    });
  });
});
