import type { UseQueryResult } from '@tanstack/react-query';
import type { Page } from '../api/model';
import { CursorPager } from './CursorPager';
import { DataTable, type DataTableProps } from './DataTable';
import { ErrorNotice } from './ErrorNotice';
import { Loading } from './Loading';
import type { useCursorPages } from './useCursorPages';

export interface PagedTableProps<T> extends Omit<DataTableProps<T>, 'data'> {
  /** The query of the page of the list that pages.cursor points at. */
  query: UseQueryResult<Page<T>>;
  pages: ReturnType<typeof useCursorPages>;
  /** What the list holds, for the loading and error notices. */
  what: string;
}

/**
 * PagedTable shows one page of a cursor-paginated list as a table with its pager.
 * A failed refetch keeps the page it has on screen: these lists refresh live.
 */
export function PagedTable<T>({ query, pages, what, ...table }: PagedTableProps<T>) {
  if (query.isPending) return <Loading label={`Loading ${what}…`} />;
  if (!query.data) return <ErrorNotice error={query.error} what={what} onRetry={() => void query.refetch()} />;
  const { items, next_cursor } = query.data;
  return (
    <>
      <DataTable {...table} data={items} />
      <CursorPager page={pages.page} hasNext={Boolean(next_cursor)} onPrevious={pages.previous} onNext={() => pages.next(next_cursor)} />
    </>
  );
}
