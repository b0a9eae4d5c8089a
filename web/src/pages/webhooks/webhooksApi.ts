import { useMutation, useQueryClient } from '@tanstack/react-query';
import { request } from '../../api/client';

export function useRedeliver() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (id: string) =>
      request<unknown>(`/api/v1/webhooks/${encodeURIComponent(id)}/redeliver`, { method: 'POST', body: {} }),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ['webhooks'] });
      void queryClient.invalidateQueries({ queryKey: ['orders'] });
    },
  });
}
