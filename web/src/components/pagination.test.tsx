import { act, render, renderHook, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import type { ReactNode } from 'react';
import { MemoryRouter, useLocation } from 'react-router';
import { describe, expect, it, vi } from 'vitest';
import { CursorPager } from './CursorPager';
import { useCursorPages, useListFilters } from './useCursorPages';

const inRouter = ({ children }: { children: ReactNode }) => <MemoryRouter initialEntries={['/orders?status=paid']}>{children}</MemoryRouter>;

describe('useCursorPages', () => {
  it('walks forward and back through cursors kept in the address', () => {
    const { result } = renderHook(
      () => ({ pages: useCursorPages(), filters: useListFilters(['status']), location: useLocation() }),
      { wrapper: inRouter },
    );
    expect(result.current.pages).toMatchObject({ page: 0, cursor: undefined });
    act(() => result.current.pages.next('c1'));
    act(() => result.current.pages.next('c2'));
    expect(result.current.pages).toMatchObject({ page: 2, cursor: 'c2' });
    expect(result.current.location.search).toBe('?status=paid&pages=c1.c2');
    act(() => result.current.pages.previous());
    expect(result.current.pages).toMatchObject({ page: 1, cursor: 'c1' });
    act(() => result.current.pages.next(null)); // the last page has no next cursor
    expect(result.current.pages.page).toBe(1);
    // A new filter starts again at the first page and keeps the others.
    act(() => result.current.filters.set({ status: 'refunded' }));
    expect(result.current.pages).toMatchObject({ page: 0, cursor: undefined });
    expect(result.current.filters.values.status).toBe('refunded');
    expect(result.current.location.search).toBe('?status=refunded');
    act(() => result.current.pages.previous());
    expect(result.current.pages.page).toBe(0);
  });
});

describe('CursorPager', () => {
  it('disables Previous on the first page and Next on the last', async () => {
    const onNext = vi.fn();
    const onPrevious = vi.fn();
    const { rerender } = render(<CursorPager page={0} hasNext onNext={onNext} onPrevious={onPrevious} />);
    expect(screen.getByRole('button', { name: 'Previous' })).toBeDisabled();
    await userEvent.click(screen.getByRole('button', { name: 'Next' }));
    expect(onNext).toHaveBeenCalledOnce();
    rerender(<CursorPager page={3} hasNext={false} onNext={onNext} onPrevious={onPrevious} />);
    expect(screen.getByText('Page 4')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Next' })).toBeDisabled();
    await userEvent.click(screen.getByRole('button', { name: 'Previous' }));
    expect(onPrevious).toHaveBeenCalledOnce();
  });
});
