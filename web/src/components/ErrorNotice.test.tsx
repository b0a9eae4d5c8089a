import { render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../api/problem';
import { ErrorNotice } from './ErrorNotice';

describe('ErrorNotice', () => {
  it('shows 403 as Not allowed rather than a failure', () => {
    render(<ErrorNotice error={new ApiError(403, { type: 'about:blank', title: 'Forbidden', status: 403 }, 'x')} what="users" />);
    expect(screen.getByText('Not allowed.')).toBeInTheDocument();
    expect(screen.queryByRole('alert')).toBeNull();
  });
  it('shows other errors as alerts with their detail', () => {
    render(<ErrorNotice error={new ApiError(500, { type: 'about:blank', title: 'Internal', status: 500, detail: 'database down' }, 'x')} what="orders" />);
    expect(screen.getByRole('alert')).toHaveTextContent('Could not load orders. database down');
  });
});
