import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { request } from './client';
import { ApiError } from './problem';
import { loadTokens, saveTokens } from './tokens';

type Handler = (url: string, init: RequestInit) => Response;

function json(status: number, body: unknown, type = 'application/json'): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': type } });
}
function auth(init: RequestInit): string | undefined {
  return (init.headers as Record<string, string>).Authorization;
}

let calls: { url: string; init: RequestInit }[];
function mockFetch(h: Handler) {
  calls = [];
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string, init: RequestInit) => {
      calls.push({ url, init });
      return h(url, init);
    }),
  );
}

describe('request', () => {
  beforeEach(() => saveTokens({ accessToken: 'old-access', refreshToken: 'old-refresh' }));
  afterEach(() => vi.unstubAllGlobals());

  it('refreshes once on 401, stores the rotated tokens and retries', async () => {
    mockFetch((url, init) => {
      if (url === '/auth/refresh') {
        expect(JSON.parse(init.body as string)).toEqual({ refresh_token: 'old-refresh' });
        return json(200, { access_token: 'new-access', refresh_token: 'new-refresh', token_type: 'Bearer', expires_in: 1800 });
      }
      return auth(init) === 'Bearer new-access' ? json(200, { ok: true }) : json(401, { title: 'Unauthorized', status: 401 });
    });
    await expect(request('/api/v1/profile')).resolves.toEqual({ ok: true });
    expect(calls.map((c) => c.url)).toEqual(['/api/v1/profile', '/auth/refresh', '/api/v1/profile']);
    expect(loadTokens()).toEqual({ accessToken: 'new-access', refreshToken: 'new-refresh' });
  });

  it('shares one refresh between concurrent 401s (rotation would revoke a second use)', async () => {
    mockFetch((url, init) => {
      if (url === '/auth/refresh') return json(200, { access_token: 'a2', refresh_token: 'r2', token_type: 'Bearer', expires_in: 1 });
      return auth(init) === 'Bearer a2' ? json(200, { url }) : json(401, { title: 'Unauthorized', status: 401 });
    });
    await Promise.all([request('/api/v1/a'), request('/api/v1/b'), request('/api/v1/c')]);
    expect(calls.filter((c) => c.url === '/auth/refresh')).toHaveLength(1);
  });

  it('ends the session when the refresh is refused', async () => {
    mockFetch((url) =>
      url === '/auth/refresh' ? json(401, { title: 'Unauthorized', status: 401 }) : json(401, { title: 'Unauthorized', status: 401 }),
    );
    await expect(request('/api/v1/orders')).rejects.toMatchObject({ status: 401 });
    expect(loadTokens()).toBeNull();
    expect(calls).toHaveLength(2); // no endless retry
  });

  it('turns problem+json into ApiError with field errors', async () => {
    mockFetch(() =>
      json(
        422,
        { type: 'about:blank', title: 'Unprocessable Entity', status: 422, detail: 'invalid order', errors: [{ field: 'reason', message: 'is required' }] },
        'application/problem+json',
      ),
    );
    const err = await request('/api/v1/orders/x/cancel', { method: 'POST', body: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).message).toBe('invalid order');
    expect((err as ApiError).fieldError('reason')).toBe('is required');
  });

  it('reports 403 as forbidden without refreshing', async () => {
    mockFetch(() => json(403, { title: 'Forbidden', status: 403, detail: 'not allowed' }));
    const err = (await request('/api/v1/users').catch((e: unknown) => e)) as ApiError;
    expect(err.forbidden).toBe(true);
    expect(calls).toHaveLength(1);
  });

  it('sends the last write position on later reads', async () => {
    mockFetch((url) => (url.includes('cancel') ? json(200, { id: '1', position: '42.7' }) : json(200, { items: [] })));
    await request('/api/v1/orders/1/cancel', { method: 'POST', body: { reason: 'x' } });
    await request('/api/v1/orders');
    const headers = calls[1]?.init.headers as Record<string, string>;
    expect(headers['X-Min-Position']).toBe('42.7');
  });

  it('reports network failures as status 0', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => Promise.reject(new TypeError('Failed to fetch'))));
    await expect(request('/api/v1/orders')).rejects.toMatchObject({ status: 0 });
  });
});
