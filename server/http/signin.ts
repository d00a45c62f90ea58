import express, { type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import { linkMail, type MemberMailer } from '../auth/member-mail';
import { issueLoginLink, useLoginLink, type LinkRefusal } from '../auth/magic-link';
import { takeRate, type Limit } from '../auth/rate-limit';
import { sessionCookie, startSession, type SignInMethod } from '../auth/sessions';
import type { UserDoc } from '../auth/users';
import type { Logger } from '../lib/logger';
import { HttpError } from './errors';
import { fromOwnSite } from './same-site';
import { parseBody } from './body';
import { passkeySignIn } from './passkey-routes';

/**
 * Signing in, under /auth (outside /api, whose every route needs a signed-in caller): asking
 * for a link by email, using it, and ending the session.
 */

export interface SignInDeps {
  log: Logger;
  publicUrl: string;
  /** Mails sign-in links; undefined when SMTP is not configured (use `tocsin login-link`). */
  mailMember?: MemberMailer;
  /** Allowances for link requests, per address and per client IP. */
  limits?: { perAddress: Limit; perIp: Limit };
}

export const DEFAULT_LINK_LIMITS = {
  perAddress: { limit: 5, windowMs: 15 * 60_000 },
  perIp: { limit: 20, windowMs: 15 * 60_000 },
};

const linkRequest = z.object({
  email: z.string().trim().toLowerCase().max(320).email('must be an email address'),
});

const REFUSED: Record<LinkRefusal, string> = {
  unknown: 'This sign-in link is not valid. Ask for a new one.',
  expired: 'This sign-in link has expired: links work for 15 minutes. Ask for a new one.',
  used: 'This sign-in link was used already: each link works once. Ask for a new one.',
};

/** A small page with no script: the CSP forbids inline code, and none is needed. */
function page(res: Response, status: number, title: string, body: string): void {
  res
    .status(status)
    .type('html')
    .set('Cache-Control', 'no-store')
    .send(
      `<!doctype html><html lang="en"><head><meta charset="utf-8">` +
        `<meta name="viewport" content="width=device-width, initial-scale=1">` +
        `<title>${title} · Tocsin</title></head><body><main><h1>${title}</h1>${body}</main></body></html>`,
    );
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Starts a session for the member and sets its cookie; the body tells the client its CSRF token. */
export async function signIn(
  req: Request,
  res: Response,
  user: UserDoc,
  method: SignInMethod,
  publicUrl: string,
): Promise<{ csrfToken: string; user: { id: string; name: string; email: string; role: string } }> {
  const session = await startSession(user, method, { userAgent: req.get('user-agent'), ip: req.ip });
  const cookie = sessionCookie(publicUrl);
  res.cookie(cookie.name, session.token, cookie.options);
  return {
    csrfToken: session.csrf,
    user: { id: String(user._id), name: user.name, email: user.email, role: user.role },
  };
}

export function signInRoutes(deps: SignInDeps): Router {
  const router = express.Router();
  const limits = deps.limits ?? DEFAULT_LINK_LIMITS;
  router.use(express.json({ limit: '16kb' }), express.urlencoded({ extended: false, limit: '16kb' }));
  const ownOrigin = new URL(deps.publicUrl).origin;
  router.use((req, res, next) => {
    res.set('Cache-Control', 'no-store');
    // A sign-in posted from another site could sign the browser in as someone else (login CSRF).
    if (req.method === 'POST' && !fromOwnSite(req, ownOrigin))
      return next(new HttpError(403, 'csrf', 'Sign-in requests from other sites are not accepted.'));
    next();
  });

  router.post('/magic-link', async (req, res, next) => {
    try {
      const { email } = parseBody(linkRequest, req.body);
      const wait = Math.max(
        await takeRate('link-ip', req.ip ?? 'unknown', limits.perIp),
        await takeRate('link-address', email, limits.perAddress),
      );
      if (wait > 0) {
        res.set('Retry-After', String(Math.ceil(wait / 1000)));
        throw new HttpError(429, 'rate-limited', 'Too many sign-in links were asked for: try again later.');
      }
      if (!deps.mailMember)
        throw new HttpError(
          503,
          'mail-off',
          'This desk cannot send mail: ask an admin for `tocsin login-link`.',
        );
      const mailMember = deps.mailMember;
      // The answer is the same whether or not the address is a member's, and comes before the mail.
      res.status(202).json({ message: 'If that address belongs to a member, a sign-in link is on its way.' });
      void issueLoginLink(email, deps.publicUrl)
        .then((link) => link && mailMember(link.user, linkMail(link.user, link.url)))
        .catch((err: unknown) => deps.log.error({ err }, 'sign-in link not sent'));
    } catch (err) {
      next(err);
    }
  });

  // Opening the link shows a button; only the click (a POST) uses it, so a mail scanner that
  // fetches every link does not spend it.
  router.get('/magic', (req, res) => {
    const token = typeof req.query.token === 'string' ? req.query.token : '';
    page(
      res,
      200,
      'Sign in',
      `<form method="post" action="/auth/magic"><input type="hidden" name="token" value="${escapeHtml(token)}">` +
        `<button type="submit">Sign in to Tocsin</button></form>`,
    );
  });

  router.post('/magic', async (req, res, next) => {
    try {
      const token = typeof req.body?.token === 'string' ? req.body.token : '';
      const json = req.is('application/json');
      const used = await useLoginLink(token);
      if (typeof used === 'string') {
        if (json) throw new HttpError(400, `link-${used}`, REFUSED[used]);
        return page(
          res,
          400,
          'Sign-in link not accepted',
          `<p>${REFUSED[used]}</p><p><a href="/">Back to Tocsin</a></p>`,
        );
      }
      const signedIn = await signIn(req, res, used, 'magic-link', deps.publicUrl);
      if (json) res.json(signedIn);
      else res.redirect(303, '/');
    } catch (err) {
      next(err);
    }
  });

  passkeySignIn(router, { log: deps.log, publicUrl: deps.publicUrl, signIn });

  return router;
}
