import type { RequestHandler } from 'express';
import { userForToken, type UserDoc } from '../auth/users';
import { HttpError } from './errors';

declare module 'express-serve-static-core' {
  interface Request {
    user?: UserDoc;
  }
}

/** `Authorization: Bearer <token>`; every /api route sits behind this. */
export const requireAuth: RequestHandler = async (req, _res, next) => {
  try {
    const header = req.get('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match)
      throw new HttpError(401, 'unauthenticated', 'Sign in, or send Authorization: Bearer <token>.');
    const user = await userForToken(match[1]!);
    if (!user) throw new HttpError(401, 'unauthenticated', 'That token is not valid.');
    req.user = user;
    next();
  } catch (err) {
    next(err);
  }
};
