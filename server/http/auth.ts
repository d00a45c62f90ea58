import type { Request, RequestHandler } from 'express';
import { parseCookie } from 'cookie';
import { userForToken, type UserDoc } from '../auth/users';
import { csrfMatches, sessionCookie, sessionForToken } from '../auth/sessions';
import { HttpError } from './errors';
import { fromOwnSite } from './same-site';

declare module 'express-serve-static-core' {
  interface Request {
    user?: UserDoc;
    /** How the caller signed in: a session cookie (with its CSRF token) or a bearer token. */
    auth?: { via: 'cookie'; session: string; csrf: string } | { via: 'bearer' };
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export const CSRF_HEADER = 'x-csrf-token';

/** The session cookie's value on this request, if any. */
export function sessionToken(req: Request, publicUrl: string): string | undefined {
  const header = req.get('cookie');
  if (!header) return undefined;
  return parseCookie(header)[sessionCookie(publicUrl).name];
}

/**
 * Every /api route sits behind this: `Authorization: Bearer <token>` for scripts, or the session
 * cookie for the PWA. A state-changing request made with the cookie must carry the session's
 * CSRF token in X-CSRF-Token, and come from our own site (same-site.ts).
 */
export function requireAuth(publicUrl: string): RequestHandler {
  const ownOrigin = new URL(publicUrl).origin;
  return async (req, _res, next) => {
    try {
      const header = req.get('authorization');
      if (header !== undefined) {
        const match = /^Bearer\s+(\S+)$/i.exec(header);
        const user = match ? await userForToken(match[1]!) : undefined;
        if (!user) throw new HttpError(401, 'unauthenticated', 'That token is not valid.');
        req.user = user;
        req.auth = { via: 'bearer' };
        return next();
      }
      const token = sessionToken(req, publicUrl);
      const session = token ? await sessionForToken(token) : undefined;
      if (!session) {
        throw new HttpError(
          401,
          'unauthenticated',
          token
            ? 'Your session has ended: sign in again.'
            : 'Sign in, or send Authorization: Bearer <token>.',
        );
      }
      if (!SAFE_METHODS.has(req.method)) {
        if (!fromOwnSite(req, ownOrigin))
          throw new HttpError(403, 'csrf', 'Requests from other sites are not accepted.');
        if (!csrfMatches(session.csrf, req.get(CSRF_HEADER)))
          throw new HttpError(403, 'csrf', 'This request needs the X-CSRF-Token header of your session.');
      }
      req.user = session.user;
      req.auth = { via: 'cookie', session: session.publicId, csrf: session.csrf };
      next();
    } catch (err) {
      next(err);
    }
  };
}
