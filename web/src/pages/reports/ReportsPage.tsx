import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { request } from '../../api/client';
import { saveResponse } from '../../api/download';
import type { Page, Report, ReportAccepted } from '../../api/model';
import { MutationError } from '../../components/ErrorNotice';
import { PageHeader } from '../../components/PageHeader';
import { QueryBoundary } from '../../components/QueryBoundary';
import { StatusBadge } from '../../components/StatusBadge';
import { formatPrecise } from '../../format/time';
import { OrdersExport } from './OrdersExport';

const finished = (r: Report) => r.status !== 'requested';

export function ReportsPage() {
  const queryClient = useQueryClient();
  const today = new Date().toISOString().slice(0, 10);
  const [from, setFrom] = useState(today.slice(0, 8) + '01');
  const [to, setTo] = useState(today);
  const create = useMutation({
    // The API takes calendar dates (UTC days), both included.
    mutationFn: () => request<ReportAccepted>('/api/v1/reports', { method: 'POST', body: { kind: 'sales_summary', from, to } }),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: ['reports'] }),
  });
  const requested = create.data?.id;
  const reports = useQuery({
    queryKey: ['reports'],
    queryFn: ({ signal }) => request<Page<Report>>('/api/v1/reports', { signal }),
    // Poll quickly while a report is being built, or until the one just
    // requested shows up (the list is a read model that may trail the write).
    refetchInterval: (q) => {
      const items = q.state.data?.items ?? [];
      const waiting = items.some((r) => !finished(r)) || (requested !== undefined && !items.some((r) => r.id === requested));
      return waiting ? 1_500 : false;
    },
  });
  const download = useMutation({
    mutationFn: async (r: Report) => {
      const res = await request<Response>(`/api/v1/reports/${encodeURIComponent(r.id)}/download`, { raw: true });
      await saveResponse(res, `sales-summary-${r.from}-to-${r.to}.csv`);
    },
  });

  function submit(e: FormEvent) {
    e.preventDefault();
    create.mutate();
  }

  return (
    <section className="page">
      <PageHeader title="Reports" subtitle="Sales summaries are built in the background; download them as CSV when ready." />
      <section className="panel" aria-labelledby="summary-h">
        <h2 id="summary-h">Sales summary</h2>
        <form className="filters" onSubmit={submit} aria-label="Request a sales summary">
          <div className="field">
            <label htmlFor="r-from">From</label>
            <input id="r-from" type="date" value={from} onChange={(e) => setFrom(e.target.value)} required />
          </div>
          <div className="field">
            <label htmlFor="r-to">To</label>
            <input id="r-to" type="date" value={to} min={from} onChange={(e) => setTo(e.target.value)} required />
          </div>
          <button type="submit" className="btn btn-primary" disabled={create.isPending || !from || !to}>
            Request sales summary
          </button>
        </form>
        <MutationError error={create.error} />
        <MutationError error={download.error} />
        <QueryBoundary query={reports} what="reports">
          {(data) =>
            data.items.length === 0 ? (
              <p className="muted">No reports requested yet.</p>
            ) : (
              <div className="table-wrap">
                <table className="table">
                  <caption className="visually-hidden">Reports</caption>
                  <thead>
                    <tr>
                      <th scope="col">Requested</th>
                      <th scope="col">Days</th>
                      <th scope="col">Status</th>
                      <th scope="col" className="num">
                        Rows
                      </th>
                      <th scope="col">
                        <span className="visually-hidden">Download</span>
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {data.items.map((r) => (
                      <tr key={r.id}>
                        <td>{formatPrecise(r.requested_at)}</td>
                        <td>
                          {r.from} to {r.to}
                        </td>
                        <td>
                          <StatusBadge status={r.status} />
                          {!finished(r) && <progress className="progress" aria-label={`Building the report of ${r.from} to ${r.to}`} />}
                          {r.reason && <div className="error-text">{r.reason}</div>}
                        </td>
                        <td className="num">{r.status === 'completed' ? r.rows : '—'}</td>
                        <td>
                          {r.status === 'completed' && (
                            <button
                              type="button"
                              className="btn btn-small"
                              onClick={() => download.mutate(r)}
                              aria-label={`Download CSV of the sales summary of ${r.from} to ${r.to}`}
                            >
                              Download CSV
                            </button>
                          )}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )
          }
        </QueryBoundary>
      </section>
      <OrdersExport />
    </section>
  );
}
