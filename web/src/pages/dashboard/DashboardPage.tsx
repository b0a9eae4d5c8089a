import { useQuery } from '@tanstack/react-query';
import { request } from '../../api/client';
import type { OrderSummary, Page, Webhook } from '../../api/types';
import { ErrorNotice } from '../../components/ErrorNotice';
import { Loading } from '../../components/Loading';
import { PageHeader } from '../../components/PageHeader';
import { formatMoney } from '../../format/money';
import { dayStart } from '../../format/time';
import { mainCurrency, ordersByDay, webhooksByHour } from './aggregate';
import { OrdersChart, WebhooksChart } from './Charts';

const DAYS = 14;
const MAX_PAGES = 10; // at most 2,000 orders are charted; the tile says so when capped

async function recentOrders(signal: AbortSignal): Promise<{ orders: OrderSummary[]; capped: boolean }> {
  const from = new Date();
  from.setDate(from.getDate() - (DAYS - 1));
  const orders: OrderSummary[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < MAX_PAGES; i++) {
    const page: Page<OrderSummary> = await request('/api/v1/orders', {
      signal,
      query: { limit: 200, cursor, created_from: dayStart(from.toISOString().slice(0, 10)) },
    });
    orders.push(...page.items);
    if (!page.next_cursor) return { orders, capped: false };
    cursor = page.next_cursor;
  }
  return { orders, capped: true };
}

/**
 * One reader of the event log and how far it trails the newest event, or the
 * read replica and how far it trails the primary (GET /api/v1/status/lag).
 */
interface Lag {
  kind: 'relay' | 'projector' | 'replica';
  name: string;
  events: number;
  seconds: number;
}

export function DashboardPage() {
  // Charts poll like every list (there is no server-sent event stream), more slowly.
  const orders = useQuery({
    queryKey: ['orders', 'dashboard'],
    queryFn: ({ signal }) => recentOrders(signal),
    refetchInterval: 15_000,
  });
  const lag = useQuery({
    queryKey: ['status', 'lag'],
    queryFn: ({ signal }) => request<{ items: Lag[] }>('/api/v1/status/lag', { signal }),
    refetchInterval: 5_000,
  });
  const webhooks = useQuery({
    queryKey: ['webhooks', 'dashboard'],
    queryFn: ({ signal }) => request<Page<Webhook>>('/api/v1/webhooks', { signal, query: { limit: 200 } }),
    refetchInterval: 15_000,
  });

  const currency = orders.data ? mainCurrency(orders.data.orders) : 'USD';
  const days = orders.data ? ordersByDay(orders.data.orders, currency, DAYS) : [];
  const totalOrders = days.reduce((n, d) => n + d.orders, 0);
  const revenue = days.reduce((n, d) => n + d.revenue, 0);
  const hours = webhooks.data ? webhooksByHour(webhooks.data.items, 24) : [];
  const failed = hours.reduce((n, h) => n + h.failed, 0);

  return (
    <section className="page">
      <PageHeader title="Dashboard" subtitle={`The last ${DAYS} days. Refreshes every 15 seconds.`} />
      <div className="tiles">
        <Tile label={`Orders, ${DAYS} days`} value={orders.data ? String(totalOrders) + (orders.data.capped ? '+' : '') : '…'} />
        <Tile label={`Revenue (${currency})`} value={orders.data ? formatMoney(revenue, currency) : '…'} />
        <Tile label="Webhooks, 24 h" value={webhooks.data ? String(hours.reduce((n, h) => n + h.received, 0)) : '…'} />
        <Tile label="Webhook failures, 24 h" value={webhooks.data ? String(failed) : '…'} tone={failed > 0 ? 'critical' : undefined} />
      </div>
      <section className="panel" aria-labelledby="orders-chart-h">
        <h2 id="orders-chart-h">Orders and revenue per day</h2>
        {orders.isPending ? (
          <Loading label="Loading orders…" />
        ) : orders.isError ? (
          <ErrorNotice error={orders.error} what="orders" onRetry={() => void orders.refetch()} />
        ) : (
          <OrdersChart data={days} currency={currency} />
        )}
      </section>
      <section className="panel" aria-labelledby="wh-chart-h">
        <h2 id="wh-chart-h">Webhook intake and failures per hour</h2>
        {webhooks.isPending ? (
          <Loading label="Loading webhooks…" />
        ) : webhooks.isError ? (
          <ErrorNotice error={webhooks.error} what="webhooks" onRetry={() => void webhooks.refetch()} />
        ) : (
          <WebhooksChart data={hours} />
        )}
      </section>
      <section className="panel" aria-labelledby="lag-h">
        <h2 id="lag-h">Projection lag</h2>
        {lag.isPending ? (
          <Loading label="Loading lag…" />
        ) : lag.isError ? (
          <ErrorNotice error={lag.error} what="projection lag" onRetry={() => void lag.refetch()} />
        ) : (
          <div className="table-wrap">
            <table className="table">
              <caption className="visually-hidden">How far each reader of the event log is behind</caption>
              <thead>
                <tr>
                  <th scope="col">Reader</th>
                  <th scope="col" className="num">
                    Events behind
                  </th>
                  <th scope="col" className="num">
                    Seconds behind
                  </th>
                </tr>
              </thead>
              <tbody>
                {lag.data.items.map((l) => (
                  <tr key={`${l.kind}-${l.name}`}>
                    <td>{readerLabel(l)}</td>
                    <td className="num">{l.events}</td>
                    <td className="num">{l.seconds.toFixed(1)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </section>
  );
}

function readerLabel(l: Lag): string {
  if (l.kind === 'replica') return 'read replica (behind the primary)';
  return l.name === 'relay' ? 'relay (to Redis)' : l.name;
}

function Tile({ label, value, tone }: { label: string; value: string; tone?: 'critical' }) {
  return (
    <div className={tone ? `tile tile-${tone}` : 'tile'}>
      <div className="tile-label">{label}</div>
      <div className="tile-value">{value}</div>
    </div>
  );
}
