import type { UseQueryResult } from '@tanstack/react-query';
import { createColumnHelper } from '@tanstack/react-table';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import type { Page } from '../api/model';
import { PagedTable } from './PagedTable';

type Row = { id: string };
const col = createColumnHelper<Row>();
const columns = [col.accessor('id', { header: 'Id' })];
const pages = { page: 0, cursor: undefined, next: vi.fn(), previous: vi.fn() };

function table(query: Partial<UseQueryResult<Page<Row>>>) {
  return render(
    <PagedTable
      query={query as UseQueryResult<Page<Row>>}
      pages={pages}
      what="rows"
      caption="Rows"
      columns={columns}
      rowKey={(r) => r.id}
      empty="No rows."
    />,
  );
}

describe('PagedTable', () => {
  it('keeps the page it has when a refetch fails, and pages on with its next cursor', async () => {
    table({ isPending: false, isError: true, error: new Error('offline'), data: { items: [{ id: 'r1' }], next_cursor: 'c2' } });
    expect(screen.getByRole('cell', { name: 'r1' })).toBeInTheDocument();
    expect(screen.queryByRole('alert')).toBeNull();
    await userEvent.click(screen.getByRole('button', { name: 'Next' }));
    expect(pages.next).toHaveBeenCalledWith('c2');
  });
  it('says why when there is nothing to show, with a retry', async () => {
    const refetch = vi.fn();
    table({ isPending: false, isError: true, error: new Error('offline'), data: undefined, refetch });
    expect(screen.getByRole('alert')).toHaveTextContent('Could not load rows. offline');
    await userEvent.click(screen.getByRole('button', { name: 'Retry' }));
    expect(refetch).toHaveBeenCalledOnce();
  });
});
