import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { createColumnHelper } from '@tanstack/react-table';
import { useState } from 'react';
import { Link, useParams } from 'react-router';
import { request } from '../../api/client';
import type { InventoryChange, InventoryItem, Page } from '../../api/model';
import { useCan } from '../../auth/session';
import { PageHeader } from '../../components/PageHeader';
import { PagedTable } from '../../components/PagedTable';
import { QueryBoundary } from '../../components/QueryBoundary';
import { useCursorPages } from '../../components/useCursorPages';
import { formatPrecise } from '../../format/time';
import { actorLabel } from '../order-detail/Timeline';
import { LIVE_INTERVAL_MS } from '../orders/ordersApi';
import { AdjustForm } from './AdjustForm';
import { productName } from '../../format/product';

const kindLabel: Record<InventoryChange['kind'], string> = {
  reserved: 'Reserved for an order',
  released: 'Released by an order',
  shipped: 'Shipped',
  backordered: 'Shipped beyond stock',
  adjusted: 'Adjusted',
  counted: 'Counted',
  shopify_level: "Shopify's level",
};

/** What a change did to the figures, signed the way stock moved. */
function changeText(c: InventoryChange): string {
  switch (c.kind) {
    case 'reserved':
      return `${c.quantity} reserved`;
    case 'released':
      return `${c.quantity} back to available`;
    case 'shipped':
      return `−${c.quantity} on hand`;
    case 'backordered':
      return `${c.quantity} short`;
    case 'adjusted':
      return `${c.quantity > 0 ? '+' : '−'}${Math.abs(c.quantity)} on hand`;
    case 'counted':
      return `on hand set to ${c.quantity}`;
    case 'shopify_level':
      return `${c.quantity} available${c.location_id ? ` at location ${c.location_id}` : ''}`;
  }
}

const col = createColumnHelper<InventoryChange>();
const columns = [
  col.accessor('recorded_at', { header: 'When', cell: (c) => <span className="nowrap">{formatPrecise(c.getValue())}</span> }),
  col.accessor('kind', { header: 'What', cell: (c) => kindLabel[c.getValue()] }),
  col.display({ id: 'change', header: 'Change', cell: (c) => changeText(c.row.original) }),
  col.display({
    id: 'why',
    header: 'Why',
    cell: (c) => {
      const { order_id: order, reason } = c.row.original;
      return order ? <Link to={`/orders/${order}`}>Open order</Link> : <span className="wrap">{reason}</span>;
    },
  }),
  col.accessor('actor', { header: 'By', cell: (c) => actorLabel(c.row.original.actor_name, c.getValue()) }),
];

/** One stock item: its figures, Shopify's levels per location and every change, newest first. */
export function InventoryItemPage() {
  const { key = '' } = useParams();
  const pages = useCursorPages();
  const canWrite = useCan('inventory:write');
  const [adjusting, setAdjusting] = useState(false);
  const path = `/api/v1/inventory/${encodeURIComponent(key)}`;
  const item = useQuery({
    queryKey: ['inventory', 'item', key],
    queryFn: ({ signal }) => request<InventoryItem>(path, { signal }),
    refetchInterval: LIVE_INTERVAL_MS,
  });
  const history = useQuery({
    queryKey: ['inventory', 'history', key, pages.cursor ?? null],
    queryFn: ({ signal }) => request<Page<InventoryChange>>(`${path}/history`, { signal, query: { cursor: pages.cursor } }),
    placeholderData: keepPreviousData,
    refetchInterval: LIVE_INTERVAL_MS,
  });
  return (
    <section className="page">
      <PageHeader title={(item.data && productName(item.data.title, item.data.variant_title)) || key} subtitle={<Link to="/inventory">All stock</Link>}>
        {canWrite && item.data && !adjusting && (
          <button type="button" className="btn" onClick={() => setAdjusting(true)} aria-label={`Adjust ${key}`}>
            Adjust
          </button>
        )}
      </PageHeader>
      <QueryBoundary query={item} what="the stock item">
        {(it) => (
          <>
            {adjusting && canWrite && <AdjustForm item={it} onDone={() => setAdjusting(false)} />}
            <section className="panel" aria-labelledby="figures-h">
              <h2 id="figures-h">Stock</h2>
              <dl className="facts">
                <dt>SKU</dt>
                <dd>
                  <code>{it.sku || it.key}</code>
                </dd>
                {it.variant_id !== null && (
                  <>
                    <dt>Shopify variant</dt>
                    <dd>{it.variant_id}</dd>
                  </>
                )}
                <dt>On hand</dt>
                <dd>{it.on_hand}</dd>
                <dt>Reserved</dt>
                <dd>{it.reserved}</dd>
                <dt>Available</dt>
                <dd>{it.available}</dd>
                <dt>Backordered</dt>
                <dd>{it.backordered}</dd>
              </dl>
              {it.locations.length > 0 && (
                <div className="table-wrap">
                  <table className="table">
                    <caption>Available at each Shopify location</caption>
                    <thead>
                      <tr>
                        <th scope="col">Location</th>
                        <th scope="col" className="num">
                          Available
                        </th>
                      </tr>
                    </thead>
                    <tbody>
                      {it.locations.map((l) => (
                        <tr key={l.location_id}>
                          <td>{l.location_id === 0 ? 'Not named (older sync)' : `Location ${l.location_id}`}</td>
                          <td className="num">{l.available}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              )}
            </section>
          </>
        )}
      </QueryBoundary>
      <h2>History</h2>
      <PagedTable
        query={history}
        pages={pages}
        what="the stock history"
        caption="Stock history, newest first"
        columns={columns}
        rowKey={(c) => String(c.version)}
        empty="No changes yet."
      />
    </section>
  );
}
