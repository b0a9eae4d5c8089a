import { render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { StatusBadge, statusLabel, toneFor } from './StatusBadge';

describe('StatusBadge', () => {
  it('maps statuses to tones by meaning', () => {
    expect(toneFor('paid')).toBe('success');
    expect(toneFor('pending')).toBe('warning');
    expect(toneFor('failed')).toBe('critical');
    expect(toneFor('cancelled')).toBe('neutral');
    expect(toneFor('something_new')).toBe('neutral');
  });
  it('always shows the status as text', () => {
    render(<StatusBadge status="partially_refunded" />);
    const badge = screen.getByText('Partially refunded');
    expect(badge).toHaveClass('badge-warning');
    expect(statusLabel('partially_fulfilled')).toBe('Partially fulfilled');
  });
  it('shows Unknown for a missing status', () => {
    render(<StatusBadge status={undefined} />);
    expect(screen.getByText('Unknown')).toBeInTheDocument();
  });
});
