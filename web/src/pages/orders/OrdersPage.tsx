import { useSearchParams } from 'react-router';
import { CursorPager } from '../../components/CursorPager';
import { ErrorNotice } from '../../components/ErrorNotice';
import { Loading } from '../../components/Loading';
import { PageHeader } from '../../components/PageHeader';
import { useCursorPages } from '../../components/useCursorPages';
import { ExportOrdersButton } from '../reports/OrdersExport';
import { OrderFiltersForm } from './OrderFiltersForm';
import { OrdersTable } from './OrdersTable';
import { emptyFilters, useOrders, type OrderFilters } from './ordersApi';

export function OrdersPage() {
  // Filters live in the address so a filtered list can be bookmarked and shared.
  const [params, setParams] = useSearchParams();
  const filters: OrderFilters = {
    status: params.get('status') ?? '',
    financial_status: params.get('financial_status') ?? '',
    fulfillment_status: params.get('fulfillment_status') ?? '',
    from: params.get('from') ?? '',
    to: params.get('to') ?? '',
    q: params.get('q') ?? '',
  };
  const pages = useCursorPages();
  const orders = useOrders(filters, pages.cursor);

  function changeFilters(f: OrderFilters) {
    const next = new URLSearchParams();
    for (const [k, v] of Object.entries(f)) if (v) next.set(k, v);
    setParams(next, { replace: true }); // without the pages: a new filter starts at the first page
  }
  const filtered = Object.entries(filters).some(([k, v]) => v !== emptyFilters[k as keyof OrderFilters]);

  return (
    <section className="page">
      <PageHeader title="Orders" subtitle="Updates every few seconds.">
        <ExportOrdersButton filters={filters} />
        {filtered && (
          <button type="button" className="btn" onClick={() => changeFilters(emptyFilters)}>
            Clear filters
          </button>
        )}
      </PageHeader>
      <OrderFiltersForm value={filters} onChange={changeFilters} />
      {orders.isPending ? (
        <Loading label="Loading orders…" />
      ) : orders.isError && !orders.data ? (
        <ErrorNotice error={orders.error} what="orders" onRetry={() => void orders.refetch()} />
      ) : (
        <>
          {orders.isError && <ErrorNotice error={orders.error} what="the latest orders" />}
          <div className={orders.isPlaceholderData ? 'stale' : undefined} aria-busy={orders.isFetching}>
            <OrdersTable orders={orders.data?.items ?? []} />
          </div>
          <CursorPager
            page={pages.page}
            hasNext={Boolean(orders.data?.next_cursor)}
            busy={orders.isPlaceholderData}
            onPrevious={pages.previous}
            onNext={() => pages.next(orders.data?.next_cursor)}
          />
        </>
      )}
    </section>
  );
}
