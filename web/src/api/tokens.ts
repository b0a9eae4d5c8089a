// Where the session's tokens live. The refresh token is kept in localStorage so a
// reload keeps the merchant signed in; the server rotates it on every use.
export interface Tokens {
  accessToken: string;
  refreshToken: string;
}

const KEY = 'ordermill.session';

type Listener = (t: Tokens | null) => void;
const listeners = new Set<Listener>();

export function loadTokens(): Tokens | null {
  try {
    const raw = window.localStorage.getItem(KEY);
    if (!raw) return null;
    const parsed: unknown = JSON.parse(raw);
    if (
      typeof parsed === 'object' &&
      parsed !== null &&
      'accessToken' in parsed &&
      'refreshToken' in parsed &&
      typeof parsed.accessToken === 'string' &&
      typeof parsed.refreshToken === 'string'
    ) {
      return { accessToken: parsed.accessToken, refreshToken: parsed.refreshToken };
    }
  } catch {
    // unreadable storage means no session
  }
  return null;
}

export function saveTokens(t: Tokens | null): void {
  if (t) window.localStorage.setItem(KEY, JSON.stringify(t));
  else window.localStorage.removeItem(KEY);
  listeners.forEach((l) => l(t));
}

/** Calls fn whenever the session starts or ends (login, logout, failed refresh). */
export function onTokensChange(fn: Listener): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/**
 * Installing the app through Shopify lands the owner on the app with a new
 * session in the URL fragment, which never reaches a server: keep it, and
 * take it out of the address bar and history.
 */
export function adoptLandingSession(): void {
  const landing = new URLSearchParams(window.location.hash.slice(1));
  const accessToken = landing.get('access_token');
  const refreshToken = landing.get('refresh_token');
  if (!accessToken || !refreshToken) return;
  saveTokens({ accessToken, refreshToken });
  window.history.replaceState(null, '', window.location.pathname + window.location.search);
}
