import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A small OAuth 2.0 provider on 127.0.0.1 for tests, shaped like Microsoft's and Google's token
 * endpoints: POST /token answers the client-credentials and refresh-token grants (RFC 6749 §4.4,
 * §6) with short-lived bearer tokens, and may rotate the refresh token on each use, as Microsoft
 * does. POST /introspect (RFC 7662) is what Dovecot's oauth2 passdb asks whether a token is live
 * and whose it is. Errors are answered as real providers answer them: 400 or 401 with
 * `{error, error_description}`.
 */

export interface OAuthProviderOptions {
  /** The mailbox user every token is issued for (the `username` introspection answers). */
  user: string;
  clientId?: string;
  clientSecret?: string;
  /** How long an access token lives, in seconds (default 3600). */
  lifetimeSeconds?: number;
  /** Whether the refresh grant hands back a new refresh token and kills the old one (default false). */
  rotate?: boolean;
}

export interface GrantCounts {
  client_credentials: number;
  refresh_token: number;
  /** Token requests refused (bad client, dead refresh token, refuse mode…). */
  refused: number;
  introspections: number;
  /** Introspections answered `active: true`. */
  activeIntrospections: number;
}

export interface OAuthProvider {
  /** `http://127.0.0.1:<port>/token`, usable as IMAP_OAUTH_TOKEN_URL. */
  readonly tokenUrl: string;
  /** `http://127.0.0.1:<port>/introspect`, for Dovecot's introspection_url. */
  readonly introspectionUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly user: string;
  /** Read at each grant; change it at any time. */
  lifetimeSeconds: number;
  rotate: boolean;
  /** While set, the token endpoint answers every request 401 invalid_client. */
  refuse: boolean;
  /** While set, introspection answers `active: false` for every token: the mailbox refuses them all. */
  inactive: boolean;
  readonly counts: Readonly<GrantCounts>;
  /** Every refresh token issued, oldest first (the consent's first, then each rotation). */
  readonly refreshTokens: readonly string[];
  /** Every access token issued, oldest first. */
  readonly accessTokens: readonly string[];
  /** A new consent: a refresh token the refresh grant accepts. */
  consent(): string;
  /** Whether `token` was issued here, is not revoked and has not expired (for `user`, if given). */
  isLive(token: string, user?: string): boolean;
  /** Every access token issued so far becomes inactive before its expiry. */
  revokeAll(): void;
  /** Stops listening and drops every connection; the port is free afterwards. */
  close(): Promise<void>;
}

const HOST = '127.0.0.1';
const BAD_SECRET =
  'AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.';
const MAX_BODY_BYTES = 64 * 1024;

interface Issued {
  user: string;
  expiresAt: number;
  revoked: boolean;
}

type Answer = { status: number; body: Record<string, unknown> };

/** As Microsoft answers: a coded description of a sentence or more, then the trace. */
const oauthError = (status: number, error: string, description: string): Answer => ({
  status,
  body: {
    error,
    error_description: `${description}\r\nTrace ID: ${randomBytes(8).toString('hex')}\r\nTimestamp: ${new Date().toISOString()}.`,
  },
});

class Provider implements OAuthProvider {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly user: string;
  lifetimeSeconds: number;
  rotate: boolean;
  refuse = false;
  inactive = false;
  readonly counts: GrantCounts = {
    client_credentials: 0,
    refresh_token: 0,
    refused: 0,
    introspections: 0,
    activeIntrospections: 0,
  };
  readonly refreshTokens: string[] = [];
  readonly accessTokens: string[] = [];
  private readonly issued = new Map<string, Issued>();
  /** The refresh tokens the refresh grant still accepts. */
  private readonly liveRefresh = new Set<string>();
  private readonly sockets = new Set<Socket>();
  private readonly server = createServer((req, res) => void this.handle(req, res));
  private port = 0;
  private closing?: Promise<void>;

  constructor(opts: OAuthProviderOptions) {
    this.user = opts.user;
    this.clientId = opts.clientId ?? `client-${randomBytes(4).toString('hex')}`;
    this.clientSecret = opts.clientSecret ?? randomBytes(12).toString('base64url');
    this.lifetimeSeconds = opts.lifetimeSeconds ?? 3600;
    this.rotate = opts.rotate ?? false;
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  get tokenUrl(): string {
    return `http://${HOST}:${this.port}/token`;
  }

  get introspectionUrl(): string {
    return `http://${HOST}:${this.port}/introspect`;
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, HOST, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.port = (this.server.address() as AddressInfo).port;
  }

  consent(): string {
    const token = `rt-${randomBytes(16).toString('base64url')}`;
    this.refreshTokens.push(token);
    this.liveRefresh.add(token);
    return token;
  }

  isLive(token: string, user?: string): boolean {
    const issued = this.issued.get(token);
    return (
      issued !== undefined &&
      !issued.revoked &&
      issued.expiresAt > Date.now() &&
      (user === undefined || issued.user === user.toLowerCase())
    );
  }

  revokeAll(): void {
    for (const issued of this.issued.values()) issued.revoked = true;
  }

  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const socket of this.sockets) socket.destroy();
    });
    return this.closing;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let answer: Answer;
    try {
      const path = new URL(req.url ?? '/', `http://${HOST}`).pathname;
      if (req.method !== 'POST') answer = oauthError(405, 'invalid_request', 'Only POST is supported.');
      else if (path === '/token') answer = this.token(await readForm(req, true));
      else if (path === '/introspect') answer = this.introspect(await readForm(req, false));
      else answer = oauthError(404, 'invalid_request', `No endpoint at ${path}.`);
    } catch (err) {
      answer = oauthError(400, 'invalid_request', (err as Error).message);
    }
    const body = JSON.stringify(answer.body);
    res.writeHead(answer.status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
    });
    res.end(body);
  }

  private token(form: URLSearchParams): Answer {
    const answer = this.grant(form);
    if (answer.status !== 200) this.counts.refused++;
    return answer;
  }

  private grant(form: URLSearchParams): Answer {
    if (this.refuse) return oauthError(401, 'invalid_client', BAD_SECRET);
    const grantType = form.get('grant_type');
    if (form.get('client_id') !== this.clientId)
      return oauthError(401, 'invalid_client', 'The client_id is not known to this provider.');
    if (grantType === 'client_credentials') {
      if (form.get('client_secret') !== this.clientSecret)
        return oauthError(401, 'invalid_client', BAD_SECRET);
      this.counts.client_credentials++;
      return { status: 200, body: this.issue() };
    }
    if (grantType === 'refresh_token') {
      const secret = form.get('client_secret');
      if (secret !== null && secret !== this.clientSecret)
        return oauthError(401, 'invalid_client', BAD_SECRET);
      const refresh = form.get('refresh_token') ?? '';
      if (!this.liveRefresh.has(refresh))
        return oauthError(400, 'invalid_grant', 'AADSTS70000: The refresh token is invalid or was revoked.');
      this.counts.refresh_token++;
      const body = this.issue();
      if (this.rotate) {
        this.liveRefresh.delete(refresh);
        body.refresh_token = this.consent();
      }
      return { status: 200, body };
    }
    return oauthError(
      400,
      'unsupported_grant_type',
      `The grant type ${grantType ?? '(none)'} is not supported.`,
    );
  }

  private issue(): Record<string, unknown> {
    const token = `at-${randomBytes(24).toString('base64url')}`;
    const lifetime = this.lifetimeSeconds;
    this.issued.set(token, {
      user: this.user.toLowerCase(),
      expiresAt: Date.now() + lifetime * 1000,
      revoked: false,
    });
    this.accessTokens.push(token);
    return { access_token: token, token_type: 'Bearer', expires_in: lifetime, ext_expires_in: lifetime };
  }

  private introspect(form: URLSearchParams): Answer {
    this.counts.introspections++;
    const token = form.get('token') ?? '';
    const issued = this.issued.get(token);
    if (!issued || this.inactive || !this.isLive(token)) return { status: 200, body: { active: false } };
    this.counts.activeIntrospections++;
    return {
      status: 200,
      body: {
        active: true,
        username: issued.user,
        client_id: this.clientId,
        token_type: 'Bearer',
        exp: Math.floor(issued.expiresAt / 1000),
        scope: 'IMAP.AccessAsApp SMTP.Send',
      },
    };
  }
}

/** Reads a bounded application/x-www-form-urlencoded body (`typed`: the header must say so). */
async function readForm(req: IncomingMessage, typed: boolean): Promise<URLSearchParams> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error('The request body is too large.');
    chunks.push(chunk as Buffer);
  }
  if (type !== 'application/x-www-form-urlencoded' && (typed || type !== ''))
    throw new Error(`The body must be application/x-www-form-urlencoded, not ${type || '(none)'}.`);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

export async function startOAuthProvider(opts: OAuthProviderOptions): Promise<OAuthProvider> {
  const provider = new Provider(opts);
  await provider.listen();
  return provider;
}
