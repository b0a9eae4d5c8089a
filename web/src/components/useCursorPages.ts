import { useCallback, useState } from 'react';

/**
 * useCursorPages keeps the cursors of the pages visited so far, so "previous"
 * works on an API that only hands out the next cursor. Reset it when filters change.
 */
export function useCursorPages() {
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const page = cursors.length - 1;
  const cursor = cursors[page];
  const next = useCallback((nextCursor: string | null | undefined) => {
    if (nextCursor) setCursors((c) => [...c, nextCursor]);
  }, []);
  const previous = useCallback(() => setCursors((c) => (c.length > 1 ? c.slice(0, -1) : c)), []);
  const reset = useCallback(() => setCursors([undefined]), []);
  return { page, cursor, next, previous, reset };
}
