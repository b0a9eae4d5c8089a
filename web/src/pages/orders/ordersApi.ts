import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { request } from '../../api/client';
import type { OrderSummary, Page } from '../../api/model';
import { dayEnd, dayStart } from '../../format/time';

export interface OrderFilters {
  status: string;
  financial_status: string;
  fulfillment_status: string;
  from: string; // YYYY-MM-DD
  to: string; // YYYY-MM-DD
  q: string;
}

export const emptyFilters: OrderFilters = {
  status: '',
  financial_status: '',
  fulfillment_status: '',
  from: '',
  to: '',
  q: '',
};

/** Live updates are polling: the API has no server-sent events, so lists refetch on this interval. */
export const LIVE_INTERVAL_MS = 3_000;

export const PAGE_SIZE = 50;

/** The list's filters as the API's query: GET /orders and its CSV export take the same. */
export function orderListQuery(filters: OrderFilters) {
  return {
    status: filters.status,
    financial_status: filters.financial_status,
    fulfillment_status: filters.fulfillment_status,
    created_from: dayStart(filters.from),
    created_to: dayEnd(filters.to),
    q: filters.q.trim(),
  };
}

export function useOrders(filters: OrderFilters, cursor: string | undefined) {
  return useQuery({
    queryKey: ['orders', 'list', filters, cursor ?? null],
    queryFn: ({ signal }) =>
      request<Page<OrderSummary>>('/api/v1/orders', {
        signal,
        query: { limit: PAGE_SIZE, cursor, ...orderListQuery(filters) },
      }),
    placeholderData: keepPreviousData,
    refetchInterval: LIVE_INTERVAL_MS,
  });
}
