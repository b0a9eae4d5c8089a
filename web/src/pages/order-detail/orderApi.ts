import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { request } from '../../api/client';
import type { Items, OrderDetail, OrderLine, StoredEvent, Written } from '../../api/model';
import { LIVE_INTERVAL_MS } from '../orders/ordersApi';

export function useOrder(id: string) {
  return useQuery({
    queryKey: ['orders', 'detail', id],
    queryFn: ({ signal }) => request<OrderDetail>(`/api/v1/orders/${encodeURIComponent(id)}`, { signal }),
    refetchInterval: LIVE_INTERVAL_MS,
  });
}

export function useOrderEvents(id: string) {
  return useQuery({
    queryKey: ['orders', 'events', id],
    queryFn: ({ signal }) => request<Items<StoredEvent>>(`/api/v1/orders/${encodeURIComponent(id)}/events`, { signal }),
    refetchInterval: LIVE_INTERVAL_MS,
  });
}

/** The audit API's answer: the domain's own rendering of the order at one moment. */
interface OrderStateAt {
  state: Omit<OrderDetail, 'shopify_id' | 'cancelled_at' | 'item_count' | 'lines' | 'currency_exponent'> & {
    cancelled_at: string;
    lines: (Omit<OrderLine, 'variant_id' | 'inventory_key' | 'currency_exponent'> & { variant_id: number })[];
  };
}

// Go renders an unset time as its zero value.
const zeroTime = '0001-01-01T00:00:00Z';

/**
 * The order as it was right after the event at `position` (time travel,
 * rebuilt by the server from the event store). The Shopify id never changes,
 * so it is taken from the current order: the domain renders it as a JSON
 * number, which would lose digits beyond 2^53 in the browser.
 */
export function useOrderAt(current: OrderDetail, position: string | null) {
  return useQuery({
    queryKey: ['orders', 'state', current.id, position],
    queryFn: async ({ signal }): Promise<OrderDetail> => {
      const { state } = await request<OrderStateAt>(`/api/v1/audit/orders/${encodeURIComponent(current.id)}/state`, {
        signal,
        query: { at: position },
      });
      const lines = state.lines.map(({ variant_id, ...l }) => ({
        ...l,
        variant_id: variant_id ? String(variant_id) : null,
        inventory_key: l.sku || (variant_id ? `variant-${variant_id}` : ''),
        currency_exponent: current.currency_exponent,
      }));
      return {
        ...state,
        shopify_id: current.shopify_id,
        currency_exponent: current.currency_exponent,
        cancelled_at: state.cancelled_at === zeroTime ? null : state.cancelled_at,
        item_count: lines.reduce((n, l) => n + l.quantity, 0),
        lines,
      };
    },
    enabled: position !== null,
    staleTime: Infinity, // the past does not change
  });
}

/** A line and how many of its units an action covers. */
export interface LineQuantity {
  line_id: string;
  quantity: number;
}

export type OrderAction =
  | { kind: 'cancel'; reason: string }
  | { kind: 'pay' }
  | { kind: 'refund'; amount: number; lines: LineQuantity[]; reason?: string; restock?: boolean }
  | {
      kind: 'fulfil';
      lines: LineQuantity[];
      carrier?: string;
      tracking_number?: string;
      tracking_url?: string;
      notify_customer: boolean;
    }
  | { kind: 'annotate'; note: string; tags: string[] };

/** The names of the actions the API may offer on an order (its allowed_actions). */
export type OrderActionName = OrderAction['kind'];

/** The request an action is: annotate is a PATCH of the order, the others POST a command. */
function actionRequest(id: string, a: OrderAction): { path: string; method: 'POST' | 'PATCH'; body: unknown } {
  const order = `/api/v1/orders/${encodeURIComponent(id)}`;
  const { kind, ...body } = a;
  if (kind === 'annotate') return { path: order, method: 'PATCH', body };
  return { path: `${order}/${kind}`, method: 'POST', body };
}

export function useOrderAction(id: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (a: OrderAction) => {
      const { path, method, body } = actionRequest(id, a);
      return request<OrderDetail & Written>(path, { method, body });
    },
    onSuccess: (order) => {
      // The write answers with the new state; show it at once, then let lists
      // and stock catch up (reads carry X-Min-Position).
      const { position: _position, ...detail } = order;
      queryClient.setQueryData(['orders', 'detail', id], detail);
      void queryClient.invalidateQueries({ queryKey: ['orders'] });
      void queryClient.invalidateQueries({ queryKey: ['inventory'] });
    },
  });
}
