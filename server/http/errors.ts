import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from '../lib/logger';

/**
 * Every error leaves the API as `{ error: 'kebab-code', message, ...fields }` with its status;
 * `fields` carries what a client acts on, such as `allowed` for an illegal status move.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export const notFound: RequestHandler = (req, _res, next) =>
  next(new HttpError(404, 'not-found', `Nothing is at ${req.method} ${req.path}.`));

export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err, req, res, next) => {
    if (res.headersSent) return next(err);
    if (err instanceof HttpError) {
      res.status(err.status).json({ ...err.fields, error: err.code, message: err.message });
      return;
    }
    const status = (err as { status?: number }).status;
    if (status && status >= 400 && status < 500) {
      // body-parser and friends: malformed JSON, a body over the limit.
      const code = (err as { type?: string }).type?.replace(/\./g, '-') ?? 'bad-request';
      res.status(status).json({ error: code, message: (err as Error).message });
      return;
    }
    log.error({ err, method: req.method, path: req.path }, 'request failed');
    res
      .status(500)
      .json({ error: 'internal', message: 'Something went wrong on our side; it has been logged.' });
  };
}
