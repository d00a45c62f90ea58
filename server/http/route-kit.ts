import type { Request, RequestHandler, Router } from 'express';
import { authorize, PolicyError, type Action } from '../auth/policy';
import type { UserDoc } from '../auth/users';
import { CaseNotFound, settledCase, StaleVersion } from '../cases/changes';
import type { CaseDoc } from '../cases/models';
import { CaseRefusal } from '../cases/refusal';
import { caseFor } from './case-json';
import { HttpError } from './errors';

/** What every route module shares: the route shape, query parsing and the domain's errors as HTTP. */

export interface ApiRoute {
  method: 'get' | 'post' | 'patch' | 'put' | 'delete';
  /** Express path under /api. */
  path: string;
  summary: string;
  query?: Record<string, string>;
  /** The JSON body's fields, for the OpenAPI document. */
  body?: Record<string, string>;
  /**
   * For a route about one case (`:key`), what the member must be allowed to do with it. The app
   * checks it before the handler runs, and puts the case on `req.case`.
   */
  access?: 'case:read' | 'case:work';
  handler: RequestHandler;
}

declare module 'express-serve-static-core' {
  interface Request {
    /** The case named by `:key`, loaded and authorised by the route's access guard. */
    case?: CaseDoc;
  }
}

export function intParam(req: Request, name: string, fallback: number, max: number): number {
  const raw = req.query[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > max) {
    throw new HttpError(400, 'bad-query', `${name} must be a whole number from 0 to ${max}.`);
  }
  return n;
}

export function stringParam(req: Request, name: string, allowed?: readonly string[]): string | undefined {
  const raw = req.query[name];
  if (raw === undefined || raw === '') return undefined;
  if (typeof raw !== 'string' || raw.length > 200)
    throw new HttpError(400, 'bad-query', `${name} must be one short value.`);
  if (allowed && !allowed.includes(raw)) {
    throw new HttpError(400, 'bad-query', `${name} must be one of ${allowed.join(', ')}.`);
  }
  return raw;
}

const REFUSAL_STATUS = { invalid: 400, conflict: 409, 'not-found': 404 } as const;

/** The domain's refusals as HTTP errors; anything else passes through as it is. */
export function asHttpError(err: unknown, user?: UserDoc): unknown {
  if (err instanceof PolicyError) return new HttpError(403, err.code, err.message);
  if (err instanceof CaseRefusal)
    return new HttpError(REFUSAL_STATUS[err.kind], err.code, err.message, err.fields);
  if (err instanceof CaseNotFound) return new HttpError(404, 'case-not-found', err.message);
  if (err instanceof StaleVersion) {
    return new HttpError(412, 'version-conflict', err.message, {
      // Both versions, so the client can show the member what changed rather than overwrite it.
      current: user ? caseFor(user, err.current) : undefined,
    });
  }
  return err;
}

/** A JSON route: the handler's result is the body (status 200 unless given). */
export const wrap =
  (fn: (req: Request) => Promise<unknown>, status = 200): RequestHandler =>
  (req, res, next) => {
    fn(req).then(
      (body) => res.status(status).json(body),
      (err: unknown) => next(asHttpError(err, req.user)),
    );
  };

/**
 * The guard in front of every case route: the case named by `:key` must exist and the member must
 * be allowed `action` with it, before the body is even read.
 */
export function caseGuard(action: Action): RequestHandler {
  return (req, _res, next) => {
    const key = String(req.params.key);
    settledCase(key)
      .then((doc) => {
        if (!doc) throw new HttpError(404, 'case-not-found', `There is no case ${key}.`);
        authorize(req.user!, action, doc);
        req.case = doc;
        next();
      })
      .catch((err: unknown) => next(asHttpError(err, req.user)));
  };
}

/** Registers the routes on a router, each case route behind its guard. */
export function mountRoutes(router: Router, routes: ApiRoute[]): void {
  for (const route of routes) {
    if (route.path.includes(':key') && !route.access)
      throw new Error(`${route.method.toUpperCase()} ${route.path} is about a case but declares no access`);
    const guard = route.access ? [caseGuard(route.access)] : [];
    router[route.method](route.path, ...guard, route.handler);
  }
}
