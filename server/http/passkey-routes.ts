import type { Request, Response, Router } from 'express';
import { z } from 'zod';
import {
  finishRegistration,
  finishSignIn,
  isRefusal,
  listPasskeys,
  registrationOptions,
  removePasskey,
  signInOptions,
} from '../auth/passkeys';
import { takeRate, type Limit } from '../auth/rate-limit';
import type { UserDoc } from '../auth/users';
import type { Logger } from '../lib/logger';
import { passkeyAddedMail, type MemberMailer } from '../auth/member-mail';
import { parseBody } from './body';
import { HttpError } from './errors';
import { wrap, type ApiRoute } from './route-kit';

/**
 * Passkeys over HTTP: managing one's own under /api/me/passkeys, and signing in with one under
 * /auth/passkey. The ceremonies themselves are in auth/passkeys.ts.
 */

const base64url = (max: number) =>
  z
    .string()
    .min(1, 'must not be empty')
    .max(max)
    .regex(/^[A-Za-z0-9_-]+={0,2}$/, 'must be base64url');

const challengeId = z.string().regex(/^[A-Za-z0-9_-]{16,64}$/, 'must be the challengeId of the options');

/** The fields @simplewebauthn reads; anything else the browser adds is dropped. */
const credential = {
  id: base64url(1400),
  rawId: base64url(1400),
  type: z.literal('public-key'),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
  clientExtensionResults: z
    .object({ credProps: z.object({ rk: z.boolean().optional() }).optional() })
    .default({}),
};

const registrationBody = z.object({
  challengeId,
  name: z.string().trim().max(100).optional(),
  response: z.object({
    ...credential,
    response: z.object({
      clientDataJSON: base64url(4096),
      attestationObject: base64url(65_536),
      transports: z.array(z.string().max(32)).max(10).optional(),
    }),
  }),
});

const signInBody = z.object({
  challengeId,
  response: z.object({
    ...credential,
    response: z.object({
      clientDataJSON: base64url(4096),
      authenticatorData: base64url(4096),
      signature: base64url(2048),
      userHandle: base64url(256)
        .nullish()
        .transform((v) => v ?? undefined),
    }),
  }),
});

/**
 * Adding a passkey needs a browser session: an API token (which a script holds) must not be
 * turned into a lasting way to sign in.
 */
function browserSession(req: Request): void {
  if (req.auth?.via !== 'cookie')
    throw new HttpError(
      403,
      'session-required',
      'Passkeys are added from a signed-in browser, not with an API token.',
    );
}

export function passkeyApiRoutes({
  publicUrl,
  mailMember,
  log,
}: {
  publicUrl: string;
  mailMember?: MemberMailer;
  log?: Logger;
}): ApiRoute[] {
  return [
    {
      method: 'get',
      path: '/me/passkeys',
      summary: 'Your passkeys, oldest first',
      handler: wrap(async (req) => ({ passkeys: await listPasskeys(req.user!) })),
    },
    {
      method: 'post',
      path: '/me/passkeys/options',
      summary:
        'Start adding a passkey (signed-in browser only): options for navigator.credentials.create(), and the challengeId to send back within 5 minutes',
      handler: wrap(async (req) => {
        browserSession(req);
        return registrationOptions(req.user!, publicUrl);
      }),
    },
    {
      method: 'post',
      path: '/me/passkeys',
      summary: 'Add a passkey: the answer of navigator.credentials.create(), as JSON',
      body: {
        challengeId: 'from POST /me/passkeys/options',
        response: 'the registration credential as JSON (base64url fields)',
        name: 'optional: what to call it, such as "Work laptop"',
      },
      handler: wrap(async (req) => {
        browserSession(req);
        const body = parseBody(registrationBody, req.body);
        const added = await finishRegistration(
          req.user!,
          body.challengeId,
          body.response,
          publicUrl,
          body.name,
        );
        if (!isRefusal(added)) {
          const user = req.user!;
          void mailMember?.(user, passkeyAddedMail(user, added.name, publicUrl)).catch((err: unknown) =>
            log?.error({ err, userId: String(user._id) }, 'passkey notice not sent'),
          );
          return added;
        }
        if (added.refused === 'already-registered') throw new HttpError(409, 'passkey-exists', added.message);
        throw new HttpError(400, 'passkey-refused', added.message, { reason: added.refused });
      }, 201),
    },
    {
      method: 'delete',
      path: '/me/passkeys/:id',
      summary: 'Remove one of your passkeys; it can no longer sign in',
      handler: (req, res, next) => {
        removePasskey(req.user!, String(req.params.id))
          .then((removed) => {
            if (!removed) throw new HttpError(404, 'passkey-not-found', 'You have no such passkey.');
            res.status(204).end();
          })
          .catch(next);
      },
    },
  ];
}

export interface PasskeySignInDeps {
  log: Logger;
  publicUrl: string;
  /**
   * Starts the member's session and answers the sign-in: signin.ts's own, handed in so that the
   * two modules do not import each other.
   */
  signIn: (
    req: Request,
    res: Response,
    user: UserDoc,
    method: 'passkey',
    publicUrl: string,
  ) => Promise<object>;
  /** Sign-in ceremonies each client IP may start; each stores a challenge. */
  optionsLimit?: Limit;
}

export const DEFAULT_PASSKEY_OPTIONS_LIMIT: Limit = { limit: 60, windowMs: 15 * 60_000 };

/** Adds POST /passkey/options and POST /passkey to the /auth router. */
export function passkeySignIn(router: Router, deps: PasskeySignInDeps): void {
  const limit = deps.optionsLimit ?? DEFAULT_PASSKEY_OPTIONS_LIMIT;

  router.post('/passkey/options', async (req, res, next) => {
    try {
      const wait = await takeRate('passkey-ip', req.ip ?? 'unknown', limit);
      if (wait > 0) {
        res.set('Retry-After', String(Math.ceil(wait / 1000)));
        throw new HttpError(429, 'rate-limited', 'Too many passkey sign-ins were started: try again later.');
      }
      res.json(await signInOptions(deps.publicUrl));
    } catch (err) {
      next(err);
    }
  });

  router.post('/passkey', async (req, res, next) => {
    try {
      const body = parseBody(signInBody, req.body);
      const user = await finishSignIn(body.challengeId, body.response, deps.publicUrl);
      if (isRefusal(user)) {
        deps.log.info({ reason: user.refused, detail: user.detail }, 'passkey sign-in refused');
        throw new HttpError(400, 'passkey-refused', user.message);
      }
      res.json(await deps.signIn(req, res, user, 'passkey', deps.publicUrl));
    } catch (err) {
      next(err);
    }
  });
}
