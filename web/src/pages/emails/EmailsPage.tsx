import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { createColumnHelper } from '@tanstack/react-table';
import { Link } from 'react-router';
import { request } from '../../api/client';
import type { Email, Page } from '../../api/model';
import { useCan } from '../../auth/session';
import { PageHeader } from '../../components/PageHeader';
import { PagedTable } from '../../components/PagedTable';
import { StatusBadge } from '../../components/StatusBadge';
import { useCursorPages, useListFilters } from '../../components/useCursorPages';
import { formatPrecise } from '../../format/time';
import { LIVE_INTERVAL_MS } from '../orders/ordersApi';

const kindLabel: Record<string, string> = { welcome: 'Welcome', order_confirmation: 'Order confirmation' };

const col = createColumnHelper<Email>();
const columns = [
  col.accessor('created_at', { header: 'When', cell: (c) => <span className="nowrap">{formatPrecise(c.getValue())}</span> }),
  col.accessor('to', { header: 'To', cell: (c) => <span className="wrap">{c.getValue() || '(erased)'}</span> }),
  col.accessor('subject', { header: 'Subject', cell: (c) => <span className="wrap">{c.getValue()}</span> }),
  col.accessor('kind', { header: 'Kind', cell: (c) => kindLabel[c.getValue()] ?? c.getValue() }),
  col.accessor('status', {
    header: 'Status',
    cell: (c) => (
      <>
        <StatusBadge status={c.getValue()} />
        {c.row.original.reason && <div className="error-text wrap">{c.row.original.reason}</div>}
      </>
    ),
  }),
  col.accessor('order_id', {
    header: 'Order',
    cell: (c) => {
      const id = c.getValue();
      return id ? <Link to={`/orders/${id}`}>Open order</Link> : '—';
    },
  }),
];

export function EmailsPage() {
  const seesAddresses = useCan('customers:read');
  const pages = useCursorPages();
  const filters = useListFilters(['status', 'kind'] as const);
  const { status, kind } = filters.values;
  const emails = useQuery({
    queryKey: ['emails', status, kind, pages.cursor ?? null],
    queryFn: ({ signal }) => request<Page<Email>>('/api/v1/emails', { signal, query: { status, kind, cursor: pages.cursor } }),
    placeholderData: keepPreviousData,
    refetchInterval: LIVE_INTERVAL_MS * 3,
  });
  return (
    <section className="page">
      <PageHeader
        title="Emails"
        subtitle={
          seesAddresses
            ? 'Emails sent to customers and staff through SES.'
            : 'Emails sent through SES. Your role sees recipients masked.'
        }
      />
      <div className="filters">
        <div className="field">
          <label htmlFor="em-status">Status</label>
          <select id="em-status" value={status} onChange={(e) => filters.set({ status: e.target.value })}>
            <option value="">Any</option>
            <option value="sent">sent</option>
            <option value="failed">failed</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor="em-kind">Kind</label>
          <select id="em-kind" value={kind} onChange={(e) => filters.set({ kind: e.target.value })}>
            <option value="">Any</option>
            {Object.entries(kindLabel).map(([k, label]) => (
              <option key={k} value={k}>
                {label}
              </option>
            ))}
          </select>
        </div>
      </div>
      <PagedTable
        query={emails}
        pages={pages}
        what="emails"
        caption="Emails sent"
        columns={columns}
        rowKey={(e) => e.id}
        empty="No emails match."
      />
    </section>
  );
}
