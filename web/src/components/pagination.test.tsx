import { act, render, renderHook, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { CursorPager } from './CursorPager';
import { useCursorPages } from './useCursorPages';

describe('useCursorPages', () => {
  it('walks forward and back through cursors and resets', () => {
    const { result } = renderHook(() => useCursorPages());
    expect(result.current).toMatchObject({ page: 0, cursor: undefined });
    act(() => result.current.next('c1'));
    act(() => result.current.next('c2'));
    expect(result.current).toMatchObject({ page: 2, cursor: 'c2' });
    act(() => result.current.previous());
    expect(result.current).toMatchObject({ page: 1, cursor: 'c1' });
    act(() => result.current.next(null)); // the last page has no next cursor
    expect(result.current.page).toBe(1);
    act(() => result.current.reset());
    expect(result.current).toMatchObject({ page: 0, cursor: undefined });
    act(() => result.current.previous());
    expect(result.current.page).toBe(0);
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
