import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { createColumnHelper } from '@tanstack/react-table';
import { useMemo, useState } from 'react';
import { Link } from 'react-router';
import { request } from '../../api/client';
import type { InventoryItem, Page } from '../../api/model';
import { useCan } from '../../auth/session';
import { PageHeader } from '../../components/PageHeader';
import { PagedTable } from '../../components/PagedTable';
import { useCursorPages, useListFilters } from '../../components/useCursorPages';
import { productName } from '../../format/product';
import { LIVE_INTERVAL_MS } from '../orders/ordersApi';
import { AdjustForm } from './AdjustForm';

const col = createColumnHelper<InventoryItem>();

export function InventoryPage() {
  const pages = useCursorPages();
  const filters = useListFilters(['backordered'] as const);
  const backordered = filters.values.backordered === 'true';
  const [editing, setEditing] = useState<string | null>(null);
  const canWrite = useCan('inventory:write');
  const inventory = useQuery({
    queryKey: ['inventory', 'list', backordered, pages.cursor ?? null],
    queryFn: ({ signal }) =>
      request<Page<InventoryItem>>('/api/v1/inventory', {
        signal,
        query: { limit: 100, cursor: pages.cursor, backordered: backordered ? 'true' : undefined },
      }),
    placeholderData: keepPreviousData,
    refetchInterval: LIVE_INTERVAL_MS,
  });

  const columns = useMemo(
    () => [
      col.accessor((i) => productName(i.title, i.variant_title), {
        id: 'title',
        header: 'Product',
        cell: (c) => (
          <Link to={`/inventory/${encodeURIComponent(c.row.original.key)}`}>{c.getValue() || 'Not sold yet'}</Link>
        ),
      }),
      col.accessor((i) => i.sku || i.key, { id: 'sku', header: 'SKU', cell: (c) => <code>{c.getValue()}</code> }),
      col.accessor('available', { header: 'Available' }),
      col.accessor('reserved', { header: 'Reserved' }),
      col.accessor('on_hand', { header: 'On hand' }),
      col.accessor('backordered', {
        header: 'Backordered',
        cell: (c) => (c.getValue() > 0 ? <span className="badge badge-warning">{c.getValue()}</span> : 0),
      }),
      col.accessor('locations', {
        header: 'Shopify locations',
        cell: (c) => (c.getValue().length === 0 ? <span className="muted">—</span> : c.getValue().length),
      }),
      ...(canWrite
        ? [
            col.display({
              id: 'actions',
              header: () => <span className="visually-hidden">Actions</span>,
              cell: (c) => (
                <button
                  type="button"
                  className="btn btn-small"
                  aria-label={`Adjust ${c.row.original.key}`}
                  onClick={() => setEditing(c.row.original.key)}
                >
                  Adjust
                </button>
              ),
            }),
          ]
        : []),
    ],
    [canWrite],
  );
  const item = inventory.data?.items.find((i) => i.key === editing);

  return (
    <section className="page">
      <PageHeader title="Inventory" subtitle="Available = on hand − reserved. Updates every few seconds." />
      <div className="filters">
        <label className="checkbox">
          <input
            type="checkbox"
            checked={backordered}
            onChange={(e) => filters.set({ backordered: e.target.checked ? 'true' : '' })}
          />
          Only backordered
        </label>
      </div>
      {item && canWrite && <AdjustForm item={item} onDone={() => setEditing(null)} />}
      <PagedTable
        query={inventory}
        pages={pages}
        what="inventory"
        caption="Stock by SKU"
        columns={columns}
        rowKey={(i) => i.key}
        numeric={['available', 'reserved', 'on_hand', 'backordered', 'locations']}
        empty="No stock yet. Items appear when orders or counts mention them."
      />
    </section>
  );
}
