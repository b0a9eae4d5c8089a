import { useState } from 'react';
import { Link, useParams } from 'react-router';
import { useCan } from '../../auth/session';
import { ErrorNotice } from '../../components/ErrorNotice';
import { Loading } from '../../components/Loading';
import { PageHeader } from '../../components/PageHeader';
import { OrderActions } from './OrderActions';
import { OrderSummaryCard } from './OrderSummaryCard';
import { PaymentsAndFulfillments } from './PaymentsAndFulfillments';
import { TimeTravel } from './TimeTravel';
import { Timeline } from './Timeline';
import { useOrder, useOrderEvents } from './orderApi';

export function OrderDetailPage() {
  const { id = '' } = useParams();
  const order = useOrder(id);
  const events = useOrderEvents(id);
  const canWrite = useCan('orders:write');
  const [at, setAt] = useState<string | null>(null);
  const atEvent = events.data?.items.find((e) => e.position === at);

  return (
    <section className="page">
      <p className="breadcrumb">
        <Link to="/orders">Orders</Link>
      </p>
      {order.isPending ? (
        <Loading label="Loading order…" />
      ) : order.isError ? (
        <ErrorNotice error={order.error} what="this order" onRetry={() => void order.refetch()} />
      ) : (
        <>
          <PageHeader title={`Order ${order.data.name}`} subtitle={<code>{order.data.id}</code>} />
          {canWrite && <OrderActions order={order.data} />}
          {atEvent ? (
            <TimeTravel order={order.data} event={atEvent} onClose={() => setAt(null)} />
          ) : (
            <OrderSummaryCard order={order.data} />
          )}
        </>
      )}
      <section className="history" aria-labelledby="history-h">
        <h2 id="history-h">History</h2>
        {events.isPending ? (
          <Loading label="Loading history…" />
        ) : events.isError ? (
          <ErrorNotice error={events.error} what="the history" onRetry={() => void events.refetch()} />
        ) : (
          <>
            {order.data && (
              <PaymentsAndFulfillments events={events.data.items} order={order.data} />
            )}
            <Timeline events={events.data.items} selected={at} onSelect={setAt} />
          </>
        )}
      </section>
    </section>
  );
}
