import { Readable } from 'node:stream';
import type { Request, RequestHandler } from 'express';
import { z } from 'zod';
import { STATUSES } from '../cases/lifecycle';
import { loadPlaybook, type Playbook } from '../cases/playbook';
import { attachmentOf, getCase, listCases, registerCsv, type CaseFilter } from '../cases/service';
import { ReplyError, sendReply } from '../conversation/replies';
import type { ConversationSettings } from '../mail/ingest';
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
  /** The JSON body's fields, for the OpenAPI document. */
  body?: Record<string, string>;
  handler: RequestHandler;
}

export interface RouteDeps {
  /** Mail settings; undefined in a desk that can not send (replies then get 503). */
  conversation?: ConversationSettings;
  playbook?: Playbook;
}

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

/** An attachment's name for Content-Disposition: RFC 6266, with an ASCII fallback. */
function contentDisposition(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]|["\\]/g, '_') || 'attachment';
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
}

const wrap =
  (fn: (req: Request) => Promise<unknown>): RequestHandler =>
  (req, res, next) => {
    fn(req).then((body) => res.json(body), next);
  };

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

function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new HttpError(400, 'bad-body', `${issue.path.join('.') || 'body'} ${issue.message}.`);
  }
  return parsed.data;
}

const REPLY_ERRORS: Record<ReplyError['code'], number> = {
  'case-not-found': 404,
  'no-recipient': 409,
  'mail-off': 503,
};

const FILTER_QUERY = {
  status: 'status to match',
  type: 'case type key, such as INC',
  severity: 'SEV1 to SEV4',
  q: 'text in the key, subject or reporter',
};

function caseFilter(req: Request): CaseFilter {
  return {
    status: stringParam(req, 'status', [...STATUSES]),
    type: stringParam(req, 'type'),
    severity: stringParam(req, 'severity', ['SEV1', 'SEV2', 'SEV3', 'SEV4']),
    q: stringParam(req, 'q'),
  };
}

let defaultPlaybook: Playbook | undefined;
const builtInPlaybook = () => (defaultPlaybook ??= loadPlaybook());

export function apiRoutes(deps: RouteDeps = {}): ApiRoute[] {
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
      handler: wrap(async (req) =>
        listCases(caseFilter(req), {
          limit: Math.max(1, intParam(req, 'limit', 50, 200)),
          offset: intParam(req, 'offset', 0, 1_000_000),
        }),
      ),
    },
    {
      method: 'get',
      path: '/cases.csv',
      summary: 'The case register as CSV (RFC 4180; cells that would be spreadsheet formulas are made text)',
      query: FILTER_QUERY,
      handler: (req, res, next) => {
        const filter = caseFilter(req);
        const playbook = deps.playbook ?? builtInPlaybook();
        res.set({
          'Content-Type': 'text/csv; charset=utf-8',
          'Content-Disposition': `attachment; filename="tocsin-cases-${new Date().toISOString().slice(0, 10)}.csv"`,
          'Cache-Control': 'private, no-store',
        });
        Readable.from(registerCsv(filter, playbook)).on('error', next).pipe(res);
      },
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
      method: 'post',
      path: '/cases/:key/replies',
      summary: 'Send a reply to the reporter, or to a vendor contact given in `to`, and record it',
      body: {
        text: 'the message (plain text)',
        to: 'optional [{ name, address }]; defaults to the reporter',
        cc: 'optional [{ name, address }]',
        subject: 'optional; defaults to "Re: [KEY] <case subject>"',
      },
      handler: (req, res, next) => {
        const input = parseBody(replyBody, req.body);
        const user = req.user!;
        sendReply(
          deps.conversation,
          String(req.params.key),
          {
            ...input,
            idempotencyKey: req.get('idempotency-key')?.slice(0, 200),
          },
          { id: String(user._id), name: user.name, email: user.email },
        )
          .then((entry) => res.status(202).json(entry))
          .catch((err: unknown) =>
            next(
              err instanceof ReplyError ? new HttpError(REPLY_ERRORS[err.code], err.code, err.message) : err,
            ),
          );
      },
    },
    {
      method: 'get',
      path: '/cases/:key/attachments/:sha256',
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
          .catch(next);
      },
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
