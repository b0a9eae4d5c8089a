import { createColumnHelper } from '@tanstack/react-table';
import { Link } from 'react-router';
import type { OrderSummary } from '../../api/model';
import { DataTable } from '../../components/DataTable';
import { Money } from '../../components/Money';
import { StatusBadge } from '../../components/StatusBadge';
import { formatDateTime } from '../../format/time';

const col = createColumnHelper<OrderSummary>();

const columns = [
  col.accessor('name', {
    header: 'Order',
    cell: (c) => <Link to={`/orders/${c.row.original.id}`}>{c.getValue()}</Link>,
  }),
  col.accessor('placed_at', { header: 'Placed', cell: (c) => formatDateTime(c.getValue()) }),
  col.accessor('customer_name', {
    header: 'Customer',
    cell: (c) => c.getValue() || c.row.original.email || '—',
  }),
  col.accessor('status', { header: 'Status', cell: (c) => <StatusBadge status={c.getValue()} /> }),
  col.accessor('financial_status', { header: 'Payment', cell: (c) => <StatusBadge status={c.getValue()} /> }),
  col.accessor('fulfillment_status', { header: 'Fulfillment', cell: (c) => <StatusBadge status={c.getValue()} /> }),
  col.accessor('item_count', { header: 'Items' }),
  col.accessor('total', {
    header: 'Total',
    cell: (c) => (
      <Money minor={c.getValue()} currency={c.row.original.currency} exponent={c.row.original.currency_exponent} />
    ),
  }),
];

export function OrdersTable({ orders }: { orders: OrderSummary[] }) {
  return (
    <DataTable
      caption="Orders, newest first"
      data={orders}
      columns={columns}
      rowKey={(o) => o.id}
      numeric={['item_count', 'total']}
      empty="No orders match these filters."
    />
  );
}
