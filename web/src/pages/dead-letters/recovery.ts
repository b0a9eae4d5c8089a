import { useMutation, useQueryClient } from '@tanstack/react-query';
import { request } from '../../api/client';
import type { BulkRedelivery, BulkRequeue, DeadLetterFilter, WebhookFilter } from '../../api/model';

/** Re-queues the dead letters a filter selects; with dry_run only previews. */
export function useBulkRequeue() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (f: DeadLetterFilter) => request<BulkRequeue>('/api/v1/dead-letters/requeue', { method: 'POST', body: f }),
    onSuccess: (r) => {
      if (!r.dry_run) void queryClient.invalidateQueries({ queryKey: ['dead-letters'] });
    },
  });
}

/** Processes the failed webhooks a filter selects again; with dry_run only previews. */
export function useBulkRedeliver() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (f: WebhookFilter) => request<BulkRedelivery>('/api/v1/webhooks/redeliver', { method: 'POST', body: f }),
    onSuccess: (r) => {
      if (!r.dry_run) void queryClient.invalidateQueries({ queryKey: ['webhooks'] });
    },
  });
}

/** A datetime-local input's value as RFC 3339, or null when empty. */
export function localToRFC3339(v: string): string | null {
  if (!v) return null;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}
