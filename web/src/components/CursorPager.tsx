export interface CursorPagerProps {
  page: number;
  hasNext: boolean;
  onPrevious: () => void;
  onNext: () => void;
  busy?: boolean;
}

/** CursorPager moves through a cursor-paginated list; lists know only "next", so pages are numbered locally. */
export function CursorPager({ page, hasNext, onPrevious, onNext, busy }: CursorPagerProps) {
  return (
    <nav className="pager" aria-label="Pagination">
      <button type="button" className="btn" onClick={onPrevious} disabled={page === 0}>
        Previous
      </button>
      <span aria-live="polite">Page {page + 1}</span>
      <button type="button" className="btn" onClick={onNext} disabled={!hasNext || busy}>
        Next
      </button>
    </nav>
  );
}
