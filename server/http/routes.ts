import { Readable } from 'node:stream';
import type { Request } from 'express';
import { z } from 'zod';
import { isIsoDate } from '../cases/closure';
import { STATUSES } from '../cases/lifecycle';
import { loadPlaybook, type Playbook } from '../cases/playbook';
import { listCases, registerCsv, type CaseFilter } from '../cases/register';
import { attachmentOf } from '../cases/service';
import { caseDetail, caseFor } from './case-json';
import { ReplyError, sendReply } from '../conversation/replies';
import type { ConversationSettings } from '../conversation/settings';
import { parseBody } from './body';
import { emailHtmlRoute } from './email-html';
import { HttpError } from './errors';
import { memberRoutes } from './member-routes';
import { openApiDocument } from './openapi';
import { passkeyApiRoutes } from './passkey-routes';
import type { MemberMailer } from '../auth/member-mail';
import type { Logger } from '../lib/logger';
import { asHttpError, intParam, stringParam, wrap, type ApiRoute } from './route-kit';
import { splitRoute } from './split-route';
import { triageRoutes } from './triage-routes';
import type { Pager } from '../push/pager';
import { pushRoutes } from './push-routes';
import { clockRoutes } from './clock-routes';

export type { ApiRoute } from './route-kit';

/**
 * Every API route, in one table. The app registers them from here, the OpenAPI document is built
 * from here, and a test walks this table to prove each one refuses anonymous callers, and each
 * case route refuses a member a restricted case's content.
 */

export interface RouteDeps {
  /** Mail settings; undefined in a desk that can not send (replies then get 503). */
  conversation?: ConversationSettings;
  playbook?: Playbook;
  /** Where the desk is served (for the session cookie's name). */
  publicUrl?: string;
  /** Mails members about their account (a passkey added); none without SMTP. */
  mailMember?: MemberMailer;
  log?: Logger;
  /** Pushes to members' devices. */
  pager: Pager;
}

/** An attachment's name for Content-Disposition: RFC 6266, with an ASCII fallback. */
function contentDisposition(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]|["\\]/g, '_') || 'attachment';
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
}

const addressList = z
  .array(
    z.object({
      name: z.string().max(200).optional(),
      address: z
        .string()
        .max(320)
        .regex(
          /^[^\s@<>,;:"()[\]\\]+@[^\s@<>,;:"()[\]\\]+\.[^\s@<>,;:"()[\]\\]+$/,
          'must be an email address',
        ),
    }),
  )
  .max(20);
const replyBody = z.object({
  text: z.string().trim().min(1, 'must not be empty').max(100_000),
  to: addressList.optional(),
  cc: addressList.optional(),
  subject: z.string().max(500).optional(),
});

const REPLY_ERRORS: Record<ReplyError['code'], number> = {
  'case-not-found': 404,
  'no-recipient': 409,
  'mail-off': 503,
};

const FILTER_QUERY = {
  status: 'status to match',
  type: 'case type key, such as INC',
  severity: 'SEV1 to SEV4',
  service: 'text in the service field',
  owner: 'a member id, `me`, or `none` for unowned cases',
  vendor: '`yes` or `no`: whether a vendor is involved',
  from: 'created on or after this day (YYYY-MM-DD, UTC)',
  to: 'created on or before this day (YYYY-MM-DD, UTC)',
  q: 'text in the key, subject or reporter',
  sla: '`breached`: only cases with a clock that has run out',
};

const day = (req: Request, name: string) => {
  const value = stringParam(req, name);
  if (value !== undefined && !isIsoDate(value))
    throw new HttpError(400, 'bad-query', `${name} must be a calendar day written YYYY-MM-DD.`);
  return value;
};

function caseFilter(req: Request): CaseFilter {
  const owner = stringParam(req, 'owner');
  return {
    status: stringParam(req, 'status', STATUSES),
    type: stringParam(req, 'type'),
    severity: stringParam(req, 'severity', ['SEV1', 'SEV2', 'SEV3', 'SEV4']),
    service: stringParam(req, 'service'),
    owner: owner === 'me' ? String(req.user!._id) : owner,
    vendor: stringParam(req, 'vendor', ['yes', 'no']) as CaseFilter['vendor'],
    from: day(req, 'from'),
    to: day(req, 'to'),
    q: stringParam(req, 'q'),
    sla: stringParam(req, 'sla', ['breached']) as CaseFilter['sla'],
  };
}

/** What a client offers when a member triages: the types and severities, in the playbook's order. */
function playbookSummary(p: Playbook) {
  return {
    defaultType: p.defaultType,
    types: Object.entries(p.types).map(([id, t]) => ({
      id,
      name: t.name,
      defaultSeverity: t.defaultSeverity,
      restricted: t.restricted,
    })),
    severities: Object.entries(p.severities).map(([id, s]) => ({
      id,
      name: s.name,
      description: s.description,
      responseMinutes: s.responseMinutes,
      urgent: s.urgent,
    })),
  };
}

let defaultPlaybook: Playbook | undefined;
const builtInPlaybook = () => (defaultPlaybook ??= loadPlaybook());

export function apiRoutes(deps: RouteDeps): ApiRoute[] {
  const playbook = () => deps.playbook ?? builtInPlaybook();
  const routes: ApiRoute[] = [
    {
      method: 'get',
      path: '/cases',
      summary: 'List cases, newest first',
      query: {
        ...FILTER_QUERY,
        limit: 'page size, 1 to 200 (default 50)',
        offset: 'how many to skip (use `next` from the previous page)',
      },
      handler: wrap(async (req) => {
        const now = new Date();
        const page = {
          limit: Math.max(1, intParam(req, 'limit', 50, 200)),
          offset: intParam(req, 'offset', 0, 1_000_000),
        };
        const { cases, next } = await listCases(req.user!, caseFilter(req), page, playbook(), now);
        return { cases: cases.map((doc) => caseFor(req.user!, doc, playbook(), now)), next };
      }),
    },
    {
      method: 'get',
      path: '/cases.csv',
      summary: 'The case register as CSV (RFC 4180; cells that would be spreadsheet formulas are made text)',
      query: FILTER_QUERY,
      handler: (req, res, next) => {
        const filter = caseFilter(req);
        res.set({
          'Content-Type': 'text/csv; charset=utf-8',
          'Content-Disposition': `attachment; filename="tocsin-cases-${new Date().toISOString().slice(0, 10)}.csv"`,
          'Cache-Control': 'private, no-store',
        });
        Readable.from(registerCsv(req.user!, filter, playbook()))
          .on('error', next)
          .pipe(res);
      },
    },
    {
      method: 'get',
      path: '/cases/:key',
      summary:
        'One case with its timeline, the required fields still missing, the checklist, the allowed moves and the closure record',
      access: 'case:read',
      handler: wrap(async (req) => caseDetail(req.case!, playbook())),
    },
    {
      method: 'post',
      path: '/cases/:key/replies',
      access: 'case:work',
      summary: 'Send a reply to the reporter, or to a vendor contact given in `to`, and record it',
      body: {
        text: 'the message (plain text)',
        to: 'optional [{ name, address }]; defaults to the reporter',
        cc: 'optional [{ name, address }]',
        subject: 'optional; defaults to "Re: [KEY] <case subject>"',
      },
      handler: (req, res, next) => {
        const user = req.user!;
        Promise.resolve()
          .then(() =>
            sendReply(
              deps.conversation,
              req.case!.key,
              {
                ...parseBody(replyBody, req.body),
                idempotencyKey: req.get('idempotency-key')?.slice(0, 200),
              },
              { id: String(user._id), name: user.name, email: user.email },
            ),
          )
          .then((entry) => res.status(202).json(entry))
          .catch((err: unknown) =>
            next(
              err instanceof ReplyError
                ? new HttpError(REPLY_ERRORS[err.code], err.code, err.message)
                : asHttpError(err, user),
            ),
          );
      },
    },
    {
      method: 'get',
      path: '/cases/:key/attachments/:sha256',
      access: 'case:read',
      summary: 'Download an attachment of one of the case’s emails (always as a file, never shown inline)',
      handler: (req, res, next) => {
        const key = String(req.params.key);
        const sha = String(req.params.sha256);
        attachmentOf(key, sha)
          .then((found) => {
            if (!found)
              throw new HttpError(404, 'attachment-not-found', `Case ${key} has no attachment ${sha}.`);
            res.set({
              'Content-Type': 'application/octet-stream',
              'Content-Disposition': contentDisposition(found.filename),
              'X-Content-Type-Options': 'nosniff',
              'Content-Security-Policy': "default-src 'none'; sandbox",
              'Cache-Control': 'private, no-store',
            });
            res.send(found.content);
          })
          .catch((err: unknown) => next(asHttpError(err, req.user)));
      },
    },
    {
      method: 'get',
      path: '/playbook',
      summary: 'The case types and severities a case can take (names, response times, which are restricted)',
      handler: (_req, res) => {
        res.json(playbookSummary(playbook()));
      },
    },
    emailHtmlRoute,
    ...triageRoutes(playbook),
    splitRoute(playbook, deps.conversation),
    ...memberRoutes(deps.publicUrl ?? 'http://localhost'),
    ...pushRoutes(deps.pager),
    ...clockRoutes(playbook),
    ...passkeyApiRoutes({
      publicUrl: deps.publicUrl ?? 'http://localhost',
      mailMember: deps.mailMember,
      log: deps.log,
    }),
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
