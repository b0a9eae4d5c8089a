import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { BulkPanel } from './BulkPanel';

type Filter = { error_contains: string; since: string | null; until: string | null; kind: string };
type Report = { dry_run: boolean; matched: number; failed: number; done: number; items: { id: number }[] };

function panel(data: Report | undefined, mutate = vi.fn()) {
  render(
    <BulkPanel<Filter, Report>
      id="t"
      title="Do it in bulk"
      formLabel="Choose items"
      when="Failed"
      bulk={{ mutate, reset: vi.fn(), data, error: null, isPending: false }}
      filter={(common) => ({ ...common, kind: 'k' })}
      fields={null}
      summary={(r) => (r.dry_run ? `Preview: ${r.matched} match.` : `Done: ${r.done}.`)}
      caption={() => 'items'}
      columns={(r) => ['Item', r.dry_run ? 'Would' : 'Did']}
      row={(item) => (
        <tr key={item.id}>
          <td>#{item.id}</td>
          <td>x</td>
        </tr>
      )}
      run={(r) => `Run ${r.items.length}`}
    />,
  );
  return mutate;
}

describe('BulkPanel', () => {
  it('previews with the filter, then runs what the preview showed', async () => {
    const mutate = panel({ dry_run: true, matched: 3, failed: 0, done: 0, items: [{ id: 1 }, { id: 2 }] });
    await userEvent.type(screen.getByLabelText('Error contains'), ' 429 ');
    await userEvent.click(screen.getByRole('button', { name: 'Preview' }));
    expect(mutate).toHaveBeenLastCalledWith({ error_contains: '429', since: null, until: null, kind: 'k', dry_run: true });
    expect(screen.getByRole('status').textContent).toBe('Preview: 3 match. Only the oldest 2 are handled per run.');
    expect(screen.getAllByRole('columnheader').map((h) => h.textContent)).toEqual(['Item', 'Would']);
    expect(screen.getAllByRole('row')).toHaveLength(3);
    await userEvent.click(screen.getByRole('button', { name: 'Run 2' }));
    expect(mutate).toHaveBeenLastCalledWith({ error_contains: '429', since: null, until: null, kind: 'k', dry_run: false });
  });

  it('offers no run after the run, and labels the time fields', () => {
    panel({ dry_run: false, matched: 1, failed: 0, done: 1, items: [{ id: 1 }] });
    expect(screen.getByRole('status').textContent).toBe('Done: 1.');
    expect(screen.queryByRole('button', { name: /^Run/ })).toBeNull();
    expect(screen.getByLabelText('Failed from')).toBeTruthy();
    expect(screen.getByLabelText('Failed before')).toBeTruthy();
  });
});
