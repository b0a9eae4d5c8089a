import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AuditStatus, AuditVerifyRun } from '../../api/model';
import { renderAs } from '../../test/render';
import { AuditPage } from './AuditPage';

const running: AuditVerifyRun = {
  id: 7, state: 'running', started_at: '2026-12-06T10:00:00Z', finished_at: null,
  events_checked: 500, events_total: 1200, streams_total: 40, result: null, error: '',
};

const finished: AuditVerifyRun = {
  ...running, state: 'finished', finished_at: '2026-12-06T10:00:03Z', events_checked: 1200,
  result: {
    shop: 'demo.myshopify.com', ok: true, started_at: '2026-12-06T10:00:00Z', finished_at: '2026-12-06T10:00:03Z',
    events: 1200, streams: 40, checkpoint: null, findings: [],
  },
};

function status(run: AuditVerifyRun | null): AuditStatus {
  return { schedule_seconds: 3600, last_run: null, checkpoint: null, verify_run: run };
}

afterEach(() => vi.unstubAllGlobals());

describe('verify now', () => {
  it('starts a run, shows its progress while it runs, then the verdict', async () => {
    let run: AuditVerifyRun | null = null;
    let finish: (r: Response) => void = () => {};
    const calls: string[] = [];
    vi.stubGlobal(
      'fetch',
      vi.fn(async (url: string, init?: RequestInit) => {
        calls.push(`${init?.method ?? 'GET'} ${url}`);
        if (String(url).endsWith('/audit/verify-runs')) {
          run = running; // the server records the run as it walks
          return new Promise<Response>((resolve) => (finish = resolve));
        }
        return new Response(JSON.stringify(status(run)), { status: 200, headers: { 'Content-Type': 'application/json' } });
      }),
    );
    renderAs('auditor', <AuditPage />);
    await userEvent.click(await screen.findByRole('button', { name: 'Verify now' }));
    expect(calls).toContain('POST /api/v1/audit/verify-runs');

    const bar = await screen.findByRole('progressbar', { name: 'Events verified' });
    expect(bar).toHaveAttribute('aria-valuenow', '500');
    expect(bar).toHaveAttribute('aria-valuemax', '1200');
    expect(screen.getByText(/Verifying: 500 of 1,200 events checked, in 40 streams/)).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Verifying…' })).toBeDisabled();

    run = finished;
    finish(new Response(JSON.stringify(finished), { status: 200, headers: { 'Content-Type': 'application/json' } }));
    expect(await screen.findByText('Verified.')).toBeInTheDocument();
    await waitFor(() => expect(screen.getByRole('progressbar', { name: 'Events verified' })).toHaveAttribute('aria-valuenow', '1200'));
    expect(screen.getByText(/All 1200 events of this shop, in 40 streams, match/)).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Verify again' })).toBeEnabled();
  });

  it('shows a failed verdict with its findings', async () => {
    const failed: AuditVerifyRun = {
      ...finished,
      result: {
        ...finished.result!, ok: false,
        findings: [{ kind: 'altered', stream_id: 'order-1', stream_version: 2, global_position: 9, detail: 'stored hash does not match' }],
      },
    };
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => new Response(JSON.stringify(status(failed)), { status: 200, headers: { 'Content-Type': 'application/json' } })),
    );
    renderAs('auditor', <AuditPage />);
    expect(await screen.findByText('Verification failed.')).toBeInTheDocument();
    expect(screen.getByText('An event was changed after it was stored')).toBeInTheDocument();
  });
});
