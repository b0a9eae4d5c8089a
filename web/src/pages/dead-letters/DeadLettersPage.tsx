import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from 'react-router';
import { request } from '../../api/client';
import type { DeadLetter, Page } from '../../api/model';
import { useCan } from '../../auth/session';
import { MutationError } from '../../components/ErrorNotice';
import { PageHeader } from '../../components/PageHeader';
import { QueryBoundary } from '../../components/QueryBoundary';
import { formatPrecise } from '../../format/time';
import { LIVE_INTERVAL_MS } from '../orders/ordersApi';
import { BulkRedeliverPanel } from './BulkRedeliverPanel';
import { BulkRequeuePanel } from './BulkRequeuePanel';

/** What a dead letter was about: its order or stock item, linked. */
export function Subject({ orderId, inventoryKey }: { orderId: string | null; inventoryKey?: string }) {
  if (orderId) return <Link to={`/orders/${orderId}`}>Order</Link>;
  if (inventoryKey) return <Link to={`/inventory/${encodeURIComponent(inventoryKey)}`}>{inventoryKey}</Link>;
  return <span className="muted">—</span>;
}

export function DeadLettersPage() {
  const queryClient = useQueryClient();
  const canRequeue = useCan('orders:write');
  const letters = useQuery({
    queryKey: ['dead-letters'],
    queryFn: ({ signal }) => request<Page<DeadLetter>>('/api/v1/dead-letters', { signal }),
    refetchInterval: LIVE_INTERVAL_MS,
  });
  const requeue = useMutation({
    mutationFn: (id: number) => request<unknown>(`/api/v1/dead-letters/${id}/requeue`, { method: 'POST', body: {} }),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: ['dead-letters'] }),
  });

  return (
    <section className="page">
      <PageHeader
        title="Recovery"
        subtitle="Work that failed every retry, in plain words. Fix the cause, preview what a re-run would do, then run it."
      />
      {canRequeue && <BulkRequeuePanel />}
      {canRequeue && <BulkRedeliverPanel />}
      <h2>Open dead letters</h2>
      <MutationError error={requeue.error} />
      {requeue.isSuccess && (
        <p className="notice notice-success" role="status">
          Re-queued. The worker picks it up within seconds.
        </p>
      )}
      <QueryBoundary query={letters} what="dead letters">
        {(data) =>
          data.items.length === 0 ? (
            <p className="muted">No dead letters. Every message was processed.</p>
          ) : (
            <div className="table-wrap">
              <table className="table">
                <caption className="visually-hidden">Open dead letters</caption>
                <thead>
                  <tr>
                    <th scope="col">Failed</th>
                    <th scope="col">What happened</th>
                    <th scope="col">About</th>
                    <th scope="col">Step</th>
                    {canRequeue && (
                      <th scope="col">
                        <span className="visually-hidden">Actions</span>
                      </th>
                    )}
                  </tr>
                </thead>
                <tbody>
                  {data.items.map((d) => (
                    <tr key={d.id}>
                      <td className="nowrap">{formatPrecise(d.failed_at)}</td>
                      <td className="wrap">
                        <div>{d.explanation.what}</div>
                        <div className="muted small">{d.explanation.why}</div>
                      </td>
                      <td>
                        <Subject orderId={d.explanation.order_id} inventoryKey={d.explanation.inventory_key} />
                      </td>
                      <td>
                        <code>{d.handler}</code>
                      </td>
                      {canRequeue && (
                        <td>
                          <button
                            type="button"
                            className="btn btn-small"
                            disabled={Boolean(d.requeued_at) || requeue.isPending}
                            onClick={() => requeue.mutate(d.id)}
                            title={d.explanation.effect}
                          >
                            {d.requeued_at ? 'Re-queued' : 'Re-queue'}
                          </button>
                        </td>
                      )}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </QueryBoundary>
    </section>
  );
}
