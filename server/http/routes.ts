import type { Request, RequestHandler } from 'express';
import { getCase, listCases } from '../cases/service';
import { HttpError } from './errors';
import { openApiDocument } from './openapi';

/**
 * Every API route, in one table. The app registers them from here, the OpenAPI document is built
 * from here, and a test walks this table to prove each one refuses anonymous callers.
 */
export interface ApiRoute {
  method: 'get' | 'post' | 'patch' | 'put' | 'delete';
  /** Express path under /api. */
  path: string;
  summary: string;
  query?: Record<string, string>;
  handler: RequestHandler;
}

const STATUSES = ['New', 'Triage', 'InProgress', 'WaitingForVendor', 'Monitoring', 'Escalated', 'Closed'];

function intParam(req: Request, name: string, fallback: number, max: number): number {
  const raw = req.query[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > max) {
    throw new HttpError(400, 'bad-query', `${name} must be a whole number from 0 to ${max}.`);
  }
  return n;
}

function stringParam(req: Request, name: string, allowed?: string[]): string | undefined {
  const raw = req.query[name];
  if (raw === undefined || raw === '') return undefined;
  if (typeof raw !== 'string' || raw.length > 200)
    throw new HttpError(400, 'bad-query', `${name} must be one short value.`);
  if (allowed && !allowed.includes(raw)) {
    throw new HttpError(400, 'bad-query', `${name} must be one of ${allowed.join(', ')}.`);
  }
  return raw;
}

const wrap =
  (fn: (req: Request) => Promise<unknown>): RequestHandler =>
  (req, res, next) => {
    fn(req).then((body) => res.json(body), next);
  };

export function apiRoutes(): ApiRoute[] {
  const routes: ApiRoute[] = [
    {
      method: 'get',
      path: '/cases',
      summary: 'List cases, newest first',
      query: {
        status: 'status to match',
        type: 'case type key, such as INC',
        severity: 'SEV1 to SEV4',
        q: 'text in the key, subject or reporter',
        limit: 'page size, 1 to 200 (default 50)',
        offset: 'how many to skip (use `next` from the previous page)',
      },
      handler: wrap(async (req) =>
        listCases(
          {
            status: stringParam(req, 'status', STATUSES),
            type: stringParam(req, 'type'),
            severity: stringParam(req, 'severity', ['SEV1', 'SEV2', 'SEV3', 'SEV4']),
            q: stringParam(req, 'q'),
          },
          {
            limit: Math.max(1, intParam(req, 'limit', 50, 200)),
            offset: intParam(req, 'offset', 0, 1_000_000),
          },
        ),
      ),
    },
    {
      method: 'get',
      path: '/cases/:key',
      summary: 'One case with its timeline',
      handler: wrap(async (req) => {
        const key = String(req.params.key);
        const found = await getCase(key);
        if (!found) throw new HttpError(404, 'case-not-found', `There is no case ${key}.`);
        return found;
      }),
    },
    {
      method: 'get',
      path: '/openapi.json',
      summary: 'This API, described as OpenAPI 3.1',
      handler: (_req, res) => {
        res.json(openApiDocument(routes));
      },
    },
  ];
  return routes;
}
