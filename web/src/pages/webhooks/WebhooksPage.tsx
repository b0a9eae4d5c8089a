import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { createColumnHelper } from '@tanstack/react-table';
import { useMemo, useState } from 'react';
import { Link } from 'react-router';
import { request } from '../../api/client';
import type { Page, Webhook } from '../../api/model';
import { useCan } from '../../auth/session';
import { MutationError } from '../../components/ErrorNotice';
import { PageHeader } from '../../components/PageHeader';
import { PagedTable } from '../../components/PagedTable';
import { StatusBadge } from '../../components/StatusBadge';
import { useCursorPages, useListFilters } from '../../components/useCursorPages';
import { formatPrecise } from '../../format/time';
import { LIVE_INTERVAL_MS } from '../orders/ordersApi';
import { useRedeliver } from './webhooksApi';

const col = createColumnHelper<Webhook>();
const statuses = ['received', 'processed', 'failed', 'duplicate', 'ignored'];

export function WebhooksPage() {
  const pages = useCursorPages();
  const filters = useListFilters(['status', 'topic'] as const);
  const { status, topic } = filters.values;
  const canRedeliver = useCan('orders:write');
  const redeliver = useRedeliver();
  const webhooks = useQuery({
    queryKey: ['webhooks', 'list', status, topic, pages.cursor ?? null],
    queryFn: ({ signal }) =>
      request<Page<Webhook>>('/api/v1/webhooks', { signal, query: { status, topic, cursor: pages.cursor } }),
    placeholderData: keepPreviousData,
    refetchInterval: LIVE_INTERVAL_MS,
  });

  const columns = useMemo(
    () => [
      col.accessor('received_at', {
        header: 'Received',
        cell: (c) => <Link to={`/webhooks/${encodeURIComponent(c.row.original.id)}`}>{formatPrecise(c.getValue())}</Link>,
      }),
      col.accessor('topic', { header: 'Topic', cell: (c) => <code>{c.getValue()}</code> }),
      col.accessor('status', { header: 'Status', cell: (c) => <StatusBadge status={c.getValue()} /> }),
      col.accessor('result', { header: 'Result', cell: (c) => c.getValue() ?? '' }),
      col.accessor('order_id', {
        header: 'Order',
        cell: (c) => {
          const id = c.getValue();
          return id ? <Link to={`/orders/${id}`}>Open</Link> : '—';
        },
      }),
      col.accessor('error', { header: 'Error', cell: (c) => <span className="error-text">{c.getValue() ?? ''}</span> }),
      ...(canRedeliver
        ? [
            col.display({
              id: 'actions',
              header: () => <span className="visually-hidden">Actions</span>,
              cell: (c) => (
                <button
                  type="button"
                  className="btn btn-small"
                  disabled={redeliver.isPending && redeliver.variables === c.row.original.id}
                  onClick={() => redeliver.mutate(c.row.original.id)}
                  aria-label={`Redeliver webhook ${c.row.original.id}`}
                >
                  Redeliver
                </button>
              ),
            }),
          ]
        : []),
    ],
    [canRedeliver, redeliver],
  );

  return (
    <section className="page">
      <PageHeader title="Webhooks" subtitle="Every delivery from Shopify, as received. Updates every few seconds." />
      <div className="filters">
        <div className="field">
          <label htmlFor="wh-status">Status</label>
          <select
            id="wh-status"
            value={status}
            onChange={(e) => {
              filters.set({ status: e.target.value });
            }}
          >
            <option value="">Any</option>
            {statuses.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="wh-topic">Topic</label>
          <input
            id="wh-topic"
            placeholder="orders/create"
            value={topic}
            onChange={(e) => {
              filters.set({ topic: e.target.value.trim() });
            }}
          />
        </div>
      </div>
      <MutationError error={redeliver.error} />
      {redeliver.isSuccess && (
        <p className="notice notice-success" role="status">
          Redelivery queued.
        </p>
      )}
      <PagedTable
        query={webhooks}
        pages={pages}
        what="webhooks"
        caption="Webhook deliveries, newest first"
        columns={columns}
        rowKey={(w) => w.id}
        empty="No webhooks received yet."
      />
    </section>
  );
}
