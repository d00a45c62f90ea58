/**
 * OAuth 2.0 access tokens for the mailbox (RFC 6749), as Microsoft 365 and Google require for IMAP
 * and SMTP: the refresh-token grant when a refresh token is configured (Google; Microsoft
 * delegated), the client-credentials grant otherwise (Microsoft 365 app-only access to a shared
 * mailbox). A token is kept until shortly before it expires, fetched by one request however many
 * callers ask at once, and dropped after the server refused it. A provider that rotates refresh
 * tokens (Microsoft) hands back a new one with each refresh: it is kept through `store`, so a
 * restart does not fall back to a dead one. Tokens are never logged or put in an error message.
 */

export interface OAuthClient {
  /** The provider's token endpoint. */
  tokenUrl: string;
  clientId: string;
  clientSecret?: string;
  /** Space-separated scopes, e.g. `https://outlook.office365.com/.default`. */
  scope?: string;
  /** The refresh token the admin's consent gave; without one, the client-credentials grant. */
  refreshToken?: string;
}

/** Where a rotated refresh token is kept (the database, in the desk). */
export interface RefreshTokenStore {
  load(): Promise<string | undefined>;
  save(token: string): Promise<void>;
}

export interface AccessTokenOptions {
  /** A token is renewed this long before it expires (default 60 s; a quarter of a shorter life). */
  marginMs?: number;
  /** How long the token endpoint may take to answer (default 30 s). */
  timeoutMs?: number;
  /** The variables the admin sets for this client, named in advice (default IMAP_OAUTH). */
  variables?: string;
  now?: () => number;
}

/** The token endpoint could not be reached or refused to give a token. */
export class OAuthError extends Error {
  constructor(
    message: string,
    /** The provider's error code (`invalid_client`, `invalid_grant`…), when it gave one. */
    readonly code?: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'OAuthError';
  }
}

interface TokenAnswer {
  access_token?: unknown;
  expires_in?: unknown;
  refresh_token?: unknown;
  error?: unknown;
  error_description?: unknown;
}

/** When the provider does not say how long a token lasts. */
const DEFAULT_LIFETIME_S = 3600;

export class AccessTokens {
  private token?: { value: string; renewAt: number };
  private pending?: Promise<string>;
  private readonly marginMs: number;
  private readonly timeoutMs: number;
  private readonly variables: string;
  private readonly now: () => number;

  constructor(
    private readonly client: OAuthClient,
    private readonly store?: RefreshTokenStore,
    opts: AccessTokenOptions = {},
  ) {
    this.marginMs = opts.marginMs ?? 60_000;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.variables = opts.variables ?? 'IMAP_OAUTH';
    this.now = opts.now ?? Date.now;
  }

  /** Which grant this client uses. */
  get grant(): 'refresh_token' | 'client_credentials' {
    return this.client.refreshToken ? 'refresh_token' : 'client_credentials';
  }

  /** A token that is good for at least the margin, fetching one if need be. */
  async get(): Promise<string> {
    if (this.token && this.token.renewAt > this.now()) return this.token.value;
    this.pending ??= this.fetch().finally(() => (this.pending = undefined));
    return this.pending;
  }

  /** The server refused the token: the next get() fetches a new one. */
  invalidate(): void {
    this.token = undefined;
  }

  private async fetch(): Promise<string> {
    const form = new URLSearchParams({ grant_type: this.grant, client_id: this.client.clientId });
    if (this.client.clientSecret) form.set('client_secret', this.client.clientSecret);
    if (this.client.scope) form.set('scope', this.client.scope);
    const refreshToken = this.client.refreshToken && ((await this.store?.load()) ?? this.client.refreshToken);
    if (refreshToken) form.set('refresh_token', refreshToken);

    const where = endpointName(this.client.tokenUrl);
    let res: Response;
    try {
      res = await fetch(this.client.tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: form,
        signal: AbortSignal.timeout(this.timeoutMs),
        redirect: 'error',
      });
    } catch (err) {
      const why =
        (err as Error).name === 'TimeoutError' ? `no answer within ${this.timeoutMs / 1000} s` : cause(err);
      throw new OAuthError(`The token endpoint ${where} could not be reached: ${why}.`);
    }
    const answer = (await res.json().catch(() => ({}))) as TokenAnswer;
    if (!res.ok || typeof answer.access_token !== 'string' || !answer.access_token) {
      const code = typeof answer.error === 'string' ? answer.error.slice(0, 100) : undefined;
      const detail = typeof answer.error_description === 'string' ? answer.error_description : '';
      throw new OAuthError(
        `The token endpoint ${where} refused the ${this.grant.replace('_', '-')} grant (${res.status}${
          code ? ` ${code}` : ''
        })${detail ? `: ${clause(detail)}` : ''}${advice(code, this.grant, this.variables)}`,
        code,
        res.status,
      );
    }
    if (
      typeof answer.refresh_token === 'string' &&
      answer.refresh_token &&
      answer.refresh_token !== refreshToken
    )
      await this.store?.save(answer.refresh_token);
    const lifetime = Number(answer.expires_in);
    const seconds = Number.isFinite(lifetime) && lifetime > 0 ? lifetime : DEFAULT_LIFETIME_S;
    // A token that lives less than four margins is renewed when three quarters of its life is gone.
    const renewAt = this.now() + seconds * 1000 - Math.min(this.marginMs, (seconds * 1000) / 4);
    this.token = { value: answer.access_token, renewAt };
    return answer.access_token;
  }
}

/** The endpoint as an admin knows it, without its query (which could hold anything). */
function endpointName(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return 'configured';
  }
}

const cause = (err: unknown): string => {
  const c = (err as { cause?: { code?: string; message?: string } }).cause;
  return c?.code ?? c?.message ?? (err as Error).message ?? String(err);
};

const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim().slice(0, 300);

/**
 * The provider's description as a clause of our one sentence: its first sentence, without the
 * full stop (Microsoft's go on with a Trace ID, Correlation ID and Timestamp; Google's end in one).
 */
const clause = (s: string) =>
  oneLine(s)
    .split(/(?<=[.!?]) /)[0]!
    .replace(/[.!?]+$/, '');

function advice(code: string | undefined, grant: AccessTokens['grant'], variables: string): string {
  if (code === 'invalid_grant' && grant === 'refresh_token')
    return `; the refresh token was revoked or has expired: give consent again and set a new ${variables}_REFRESH_TOKEN.`;
  if (code === 'invalid_client') return `; check ${variables}_CLIENT_ID and ${variables}_CLIENT_SECRET.`;
  if (code === 'invalid_scope') return `; check ${variables}_SCOPE.`;
  return '.';
}
