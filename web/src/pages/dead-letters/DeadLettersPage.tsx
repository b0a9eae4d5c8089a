import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { createColumnHelper } from '@tanstack/react-table';
import { useMemo } from 'react';
import { request } from '../../api/client';
import type { DeadLetter, Page } from '../../api/types';
import { useCan } from '../../auth/session';
import { DataTable } from '../../components/DataTable';
import { MutationError } from '../../components/ErrorNotice';
import { PageHeader } from '../../components/PageHeader';
import { QueryBoundary } from '../../components/QueryBoundary';
import { formatPrecise } from '../../format/time';
import { LIVE_INTERVAL_MS } from '../orders/ordersApi';

const col = createColumnHelper<DeadLetter>();

export function DeadLettersPage() {
  const queryClient = useQueryClient();
  const canRequeue = useCan('orders:write');
  const letters = useQuery({
    queryKey: ['dead-letters'],
    queryFn: ({ signal }) => request<Page<DeadLetter>>('/api/v1/dead-letters', { signal }),
    refetchInterval: LIVE_INTERVAL_MS,
  });
  const requeue = useMutation({
    mutationFn: (id: string) =>
      request<unknown>(`/api/v1/dead-letters/${encodeURIComponent(id)}/requeue`, { method: 'POST', body: {} }),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: ['dead-letters'] }),
  });

  const columns = useMemo(
    () => [
      col.accessor((d) => d.failed_at ?? d.created_at, { id: 'failed', header: 'Failed', cell: (c) => formatPrecise(c.getValue()) }),
      col.accessor((d) => d.handler ?? d.topic ?? '—', { id: 'handler', header: 'Handler', cell: (c) => <code>{c.getValue()}</code> }),
      col.accessor('attempts', { header: 'Attempts', cell: (c) => c.getValue() ?? '—' }),
      col.accessor('error', { header: 'Error', cell: (c) => <span className="error-text">{c.getValue() ?? ''}</span> }),
      ...(canRequeue
        ? [
            col.display({
              id: 'actions',
              header: () => <span className="visually-hidden">Actions</span>,
              cell: (c) => (
                <button
                  type="button"
                  className="btn btn-small"
                  disabled={Boolean(c.row.original.requeued_at) || requeue.isPending}
                  onClick={() => requeue.mutate(c.row.original.id)}
                >
                  {c.row.original.requeued_at ? 'Requeued' : 'Requeue'}
                </button>
              ),
            }),
          ]
        : []),
    ],
    [canRequeue, requeue],
  );

  return (
    <section className="page">
      <PageHeader
        title="Dead letters"
        subtitle="Messages that failed every retry. Fix the cause, then requeue them to process again."
      />
      <MutationError error={requeue.error} />
      <QueryBoundary query={letters} what="dead letters">
        {(data) => (
          <DataTable
            caption="Dead letters"
            data={data.items ?? []}
            columns={columns}
            rowKey={(d) => d.id}
            numeric={['attempts']}
            empty="No dead letters. Every message was processed."
          />
        )}
      </QueryBoundary>
    </section>
  );
}
