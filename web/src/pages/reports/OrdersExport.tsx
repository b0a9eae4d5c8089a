import { useMutation } from '@tanstack/react-query';
import { Link } from 'react-router';
import { request } from '../../api/client';
import { saveResponse } from '../../api/download';
import { MutationError } from '../../components/ErrorNotice';
import { orderListQuery, type OrderFilters } from '../orders/ordersApi';

/** Downloads every order the filters select (not one page) as CSV. */
export function ExportOrdersButton({ filters }: { filters: OrderFilters }) {
  const exportOrders = useMutation({
    mutationFn: async () => {
      const res = await request<Response>('/api/v1/orders/export', { raw: true, query: orderListQuery(filters) });
      await saveResponse(res, 'orders.csv');
    },
  });
  return (
    <>
      <button type="button" className="btn" onClick={() => exportOrders.mutate()} disabled={exportOrders.isPending}>
        {exportOrders.isPending ? 'Exporting…' : 'Export CSV'}
      </button>
      <MutationError error={exportOrders.error} />
    </>
  );
}

/** The Reports page's pointer to the orders export, which takes the Orders list's filters. */
export function OrdersExport() {
  return (
    <section className="panel" aria-labelledby="orders-export-h">
      <h2 id="orders-export-h">Orders export</h2>
      <p>
        Every order, with amounts in each order's currency, as CSV. To export only some, filter the{' '}
        <Link to="/orders">Orders</Link> list and use its Export CSV button: the file holds every order the filters
        select, not just the page shown.
      </p>
      <ExportOrdersButton filters={{ status: '', financial_status: '', fulfillment_status: '', from: '', to: '', q: '' }} />
    </section>
  );
}
