import { ApiError, isProblem } from './problem';
import { loadTokens, saveTokens, type Tokens } from './tokens';

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  body?: unknown;
  query?: Record<string, string | number | undefined | null>;
  /** Ask the read side to include at least this write (read-your-writes). */
  minPosition?: string;
  signal?: AbortSignal;
  /** Login and refresh must not trigger a refresh themselves. */
  anonymous?: boolean;
  /** Return the raw Response (downloads). */
  raw?: boolean;
}

interface TokenResponse {
  access_token: string;
  refresh_token: string;
  token_type: string;
  expires_in: number;
}

/** Last position token seen on a write; reads send it so lists include the write. */
let lastPosition: string | undefined;

export function rememberPosition(position: unknown): void {
  if (typeof position === 'string' && position !== '') lastPosition = position;
  else if (typeof position === 'number') lastPosition = String(position);
}

export function buildUrl(path: string, query?: RequestOptions['query']): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

// One refresh at a time: concurrent 401s share it, since the server rotates
// refresh tokens and would treat a second use of the old one as reuse.
let refreshing: Promise<Tokens | null> | null = null;

export function refreshTokens(): Promise<Tokens | null> {
  if (!refreshing) {
    refreshing = doRefresh().finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

async function doRefresh(): Promise<Tokens | null> {
  const current = loadTokens();
  if (!current) return null;
  let res: Response;
  try {
    res = await fetch('/auth/refresh', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ refresh_token: current.refreshToken }),
    });
  } catch {
    return null; // network trouble: keep the session, the caller sees the 401
  }
  if (!res.ok) {
    saveTokens(null);
    return null;
  }
  const body = (await res.json()) as TokenResponse;
  const next = { accessToken: body.access_token, refreshToken: body.refresh_token };
  saveTokens(next);
  return next;
}

async function send(path: string, opts: RequestOptions, token: string | undefined): Promise<Response> {
  const headers: Record<string, string> = { Accept: 'application/json, application/problem+json' };
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  const isRead = (opts.method ?? 'GET') === 'GET';
  const min = opts.minPosition ?? (isRead ? lastPosition : undefined);
  if (min) headers['X-Min-Position'] = min;
  try {
    return await fetch(buildUrl(path, opts.query), {
      method: opts.method ?? 'GET',
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: opts.signal,
    });
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    throw new ApiError(0, null, 'The server could not be reached. Check your connection and retry.');
  }
}

async function toError(res: Response): Promise<ApiError> {
  let problem = null;
  try {
    const body: unknown = await res.json();
    if (isProblem(body)) problem = body;
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(res.status, problem, `${res.status} ${res.statusText || 'error'}`);
}

/**
 * request calls the API with the session's access token. On 401 it refreshes
 * the tokens once and retries; if that fails the session ends (the app shows login).
 */
export async function request<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  const tokens = opts.anonymous ? null : loadTokens();
  let res = await send(path, opts, tokens?.accessToken);
  if (res.status === 401 && !opts.anonymous && tokens) {
    const next = await refreshTokens();
    if (next) res = await send(path, opts, next.accessToken);
  }
  if (!res.ok) throw await toError(res);
  if (opts.raw) return res as T;
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  const body = (text ? JSON.parse(text) : undefined) as T;
  if (body && typeof body === 'object' && 'position' in body) rememberPosition(body.position);
  return body;
}

/** Signs in to shop: an email is unique within a shop only. */
export async function login(shop: string, email: string, password: string): Promise<void> {
  const t = await request<TokenResponse>('/auth/login', {
    method: 'POST',
    body: { shop, email, password },
    anonymous: true,
  });
  saveTokens({ accessToken: t.access_token, refreshToken: t.refresh_token });
}

export async function logout(): Promise<void> {
  const t = loadTokens();
  try {
    if (t) await request<void>('/auth/logout', { method: 'POST', body: { refresh_token: t.refreshToken } });
  } finally {
    lastPosition = undefined;
    saveTokens(null);
  }
}
