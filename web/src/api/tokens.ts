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
