import { useQuery } from '@tanstack/react-query';
import { createColumnHelper } from '@tanstack/react-table';
import { Link } from 'react-router';
import { request } from '../../api/client';
import type { Email, Page } from '../../api/types';
import { DataTable } from '../../components/DataTable';
import { PageHeader } from '../../components/PageHeader';
import { QueryBoundary } from '../../components/QueryBoundary';
import { StatusBadge } from '../../components/StatusBadge';
import { formatPrecise } from '../../format/time';
import { LIVE_INTERVAL_MS } from '../orders/ordersApi';

const col = createColumnHelper<Email>();
const columns = [
  col.accessor((e) => e.sent_at ?? e.created_at, { id: 'when', header: 'When', cell: (c) => formatPrecise(c.getValue()) }),
  col.accessor((e) => e.to ?? e.recipient ?? '—', { id: 'to', header: 'To' }),
  col.accessor((e) => e.subject ?? e.template ?? e.kind ?? '—', { id: 'subject', header: 'Subject' }),
  col.accessor('status', { header: 'Status', cell: (c) => <StatusBadge status={c.getValue()} /> }),
  col.accessor('order_id', {
    header: 'Order',
    cell: (c) => {
      const id = c.getValue();
      return id ? <Link to={`/orders/${id}`}>Open</Link> : '—';
    },
  }),
];

export function EmailsPage() {
  const emails = useQuery({
    queryKey: ['emails'],
    queryFn: ({ signal }) => request<Page<Email>>('/api/v1/emails', { signal }),
    refetchInterval: LIVE_INTERVAL_MS * 3,
  });
  return (
    <section className="page">
      <PageHeader title="Emails" subtitle="Order emails sent to customers through SES." />
      <QueryBoundary query={emails} what="emails">
        {(data) => (
          <DataTable caption="Emails sent" data={data.items ?? []} columns={columns} rowKey={(e) => e.id} empty="No emails sent yet." />
        )}
      </QueryBoundary>
    </section>
  );
}
