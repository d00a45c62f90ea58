import { me } from './store';

/**
 * The page's one way to the desk: same-origin fetch with the session cookie, JSON both ways, the
 * session's CSRF token on every write. A 401 sends the member to sign in; any other refusal
 * becomes an ApiError carrying the desk's own message.
 */

/** The desk answered with an error: `{ error, message, …fields }`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** The request never got an answer: offline, or the desk is unreachable. */
export class NetworkError extends Error {}

export interface Answer<T> {
  body: T;
  status: number;
  /** When the service worker answered from its cache: the time the answer was fetched. */
  cachedAt?: Date;
}

let csrfToken: string | undefined;

export function setCsrf(token: string | undefined): void {
  csrfToken = token;
}

export const hasCsrf = () => csrfToken !== undefined;

const SAFE = new Set(['GET', 'HEAD']);

export async function request<T>(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer<T>> {
  const h: Record<string, string> = { accept: 'application/json', ...headers };
  if (body !== undefined) h['content-type'] = 'application/json';
  if (!SAFE.has(method) && csrfToken) h['x-csrf-token'] = csrfToken;
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers: h,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new NetworkError(err instanceof Error ? err.message : 'The desk did not answer.');
  }
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!res.ok) {
    const err = (parsed ?? {}) as Record<string, unknown>;
    const message = typeof err.message === 'string' ? err.message : `The desk answered ${res.status}.`;
    if (res.status === 401 && path.startsWith('/api/')) {
      setCsrf(undefined);
      me.set(null);
    }
    // A gateway error from the service worker or a proxy is as good as no answer.
    if (res.status === 503 && err.error === undefined) throw new NetworkError(message);
    throw new ApiError(res.status, String(err.error ?? 'http-' + res.status), message, err);
  }
  const cached = res.headers.get('x-tocsin-cached-at');
  const cachedAt = cached ? new Date(cached) : undefined;
  return {
    body: parsed as T,
    status: res.status,
    cachedAt: cachedAt && !Number.isNaN(cachedAt.getTime()) ? cachedAt : undefined,
  };
}

export const get = <T>(path: string) => request<T>('GET', path);

/** Who is signed in (and this session's CSRF token), or null. */
export async function loadMe(): Promise<void> {
  try {
    const { body } = await get<import('./types').Me>('/api/me');
    setCsrf(body.csrfToken);
    me.set(body);
    try {
      localStorage.setItem('tocsin.me', JSON.stringify({ ...body, csrfToken: undefined }));
    } catch {
      // Private mode: the page works without remembering.
    }
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      localStorage.removeItem('tocsin.me');
      me.set(null);
      return;
    }
    // Offline: who was signed in last, so the cached cases can still be read.
    const remembered = localStorage.getItem('tocsin.me');
    me.set(remembered ? (JSON.parse(remembered) as import('./types').Me) : null);
  }
}

/** Makes sure a write can carry the session's CSRF token. */
export async function ensureCsrf(): Promise<void> {
  if (!csrfToken) await loadMe();
}

/** The message to show for anything a request threw. */
export function errorText(err: unknown): string {
  if (err instanceof NetworkError) return 'You are offline, or the desk is not answering.';
  if (err instanceof Error) return err.message;
  return String(err);
}
