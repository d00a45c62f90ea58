import { z } from 'zod';
import { authorize } from '../auth/policy';
import { endSession, listSessions, sessionCookie } from '../auth/sessions';
import { addUser, listMembers, ROLES, UserError } from '../auth/users';
import { parseBody } from './body';
import { HttpError } from './errors';
import { wrap, type ApiRoute } from './route-kit';

/** The signed-in member, their sessions, and the member list. */

const newMember = z
  .object({
    email: z.string().trim().toLowerCase().max(320).email('must be an email address'),
    name: z.string().trim().min(1, 'must not be empty').max(200),
    role: z.enum(ROLES),
  })
  .strict();

export function memberRoutes(publicUrl: string): ApiRoute[] {
  return [
    {
      method: 'get',
      path: '/me',
      summary:
        'The signed-in member, their role, their sessions, and (with a cookie) the CSRF token to send back',
      handler: wrap(async (req) => {
        const user = req.user!;
        const current = req.auth?.via === 'cookie' ? req.auth : undefined;
        return {
          id: String(user._id),
          name: user.name,
          email: user.email,
          role: user.role,
          signedInWith: req.auth?.via,
          csrfToken: current?.csrf,
          sessions: await listSessions(user, current?.session),
        };
      }),
    },
    {
      method: 'delete',
      path: '/me/sessions/:id',
      summary: 'End one of your sessions (`current` ends this one: sign out)',
      handler: (req, res, next) => {
        const user = req.user!;
        const id =
          req.params.id === 'current' && req.auth?.via === 'cookie'
            ? req.auth.session
            : String(req.params.id);
        endSession(user, id)
          .then((ended) => {
            if (!ended) throw new HttpError(404, 'session-not-found', 'You have no such session.');
            if (req.auth?.via === 'cookie' && id === req.auth.session) {
              const cookie = sessionCookie(publicUrl);
              res.clearCookie(cookie.name, { ...cookie.options, maxAge: undefined });
            }
            res.status(204).end();
          })
          .catch(next);
      },
    },
    {
      method: 'get',
      path: '/members',
      summary: 'Everyone who can sign in, for assigning owners',
      handler: wrap(async () => ({ members: await listMembers() })),
    },
    {
      method: 'post',
      path: '/members',
      summary: 'Invite a member (admins only); they then sign in by email link',
      body: { email: 'their address', name: 'their name', role: ROLES.join(' | ') },
      handler: wrap(async (req) => {
        authorize(req.user!, 'members:manage');
        const body = parseBody(newMember, req.body);
        try {
          const user = await addUser(body.email, body.name, body.role);
          return { id: String(user._id), name: user.name, email: user.email, role: user.role };
        } catch (err) {
          if (err instanceof UserError) throw new HttpError(409, 'member-exists', err.message);
          throw err;
        }
      }, 201),
    },
  ];
}
