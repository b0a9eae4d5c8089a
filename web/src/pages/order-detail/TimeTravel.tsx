import type { OrderDetail, StoredEvent } from '../../api/model';
import { ErrorNotice } from '../../components/ErrorNotice';
import { Loading } from '../../components/Loading';
import { describeEvent } from './eventFacts';
import { OrderSummaryCard } from './OrderSummaryCard';
import { useOrderAt } from './orderApi';

/** TimeTravel shows the order exactly as it stood right after one event, rebuilt by the server. */
export function TimeTravel({ order, event, onClose }: { order: OrderDetail; event: StoredEvent; onClose: () => void }) {
  const state = useOrderAt(order, event.position);
  return (
    <section className="time-travel" aria-labelledby="tt-h">
      <div className="time-travel-head">
        <h2 id="tt-h">
          As of event {event.stream_version}: {describeEvent(event)}
        </h2>
        <button type="button" className="btn btn-small" onClick={onClose}>
          Back to now
        </button>
      </div>
      {state.isPending ? (
        <Loading label="Replaying history…" />
      ) : state.isError ? (
        <ErrorNotice error={state.error} what="the past state" />
      ) : (
        <OrderSummaryCard order={state.data} />
      )}
    </section>
  );
}
