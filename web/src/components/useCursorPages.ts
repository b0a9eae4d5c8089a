import { useCallback } from 'react';
import { useSearchParams } from 'react-router';

/** The address parameter holding the cursors of the pages visited, dot-separated (cursors are base64url). */
const PAGES_PARAM = 'pages';

/**
 * useCursorPages keeps the cursors of the pages visited so far in the address,
 * so "previous" works on an API that only hands out the next cursor, and a
 * reload, a shared link or the Back button lands on the same page.
 */
export function useCursorPages() {
  const [params, setParams] = useSearchParams();
  const cursors = (params.get(PAGES_PARAM) ?? '').split('.').filter(Boolean);
  const page = cursors.length;
  const cursor = cursors[page - 1];
  const move = useCallback(
    (change: (cursors: string[]) => string[]) =>
      setParams((prev) => {
        const next = new URLSearchParams(prev);
        const moved = change((prev.get(PAGES_PARAM) ?? '').split('.').filter(Boolean));
        if (moved.length > 0) next.set(PAGES_PARAM, moved.join('.'));
        else next.delete(PAGES_PARAM);
        return next;
      }),
    [setParams],
  );
  const next = useCallback(
    (nextCursor: string | null | undefined) => {
      if (nextCursor) move((c) => [...c, nextCursor]);
    },
    [move],
  );
  const previous = useCallback(() => move((c) => c.slice(0, -1)), [move]);
  return { page, cursor, next, previous };
}

/**
 * useListFilters keeps a list's filters in the address next to its page;
 * changing a filter goes back to the first page.
 */
export function useListFilters<K extends string>(keys: readonly K[]) {
  const [params, setParams] = useSearchParams();
  const values = Object.fromEntries(keys.map((k) => [k, params.get(k) ?? ''])) as Record<K, string>;
  const set = useCallback(
    (changes: Partial<Record<K, string>>) =>
      setParams(
        (prev) => {
          const next = new URLSearchParams(prev);
          for (const [k, v] of Object.entries(changes) as [K, string | undefined][]) {
            if (v) next.set(k, v);
            else next.delete(k);
          }
          next.delete(PAGES_PARAM);
          return next;
        },
        { replace: true },
      ),
    [setParams],
  );
  return { values, set };
}
