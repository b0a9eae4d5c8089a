import type { OrderSummary, Webhook } from '../../api/types';

export interface DayPoint {
  day: string; // YYYY-MM-DD, local
  orders: number;
  revenue: number; // minor units of the chart's currency
}

function localDay(iso: string): string {
  const d = new Date(iso);
  const m = String(d.getMonth() + 1).padStart(2, '0');
  const day = String(d.getDate()).padStart(2, '0');
  return `${d.getFullYear()}-${m}-${day}`;
}

/** The currency most orders use; revenue is charted in it only, never summed across currencies. */
export function mainCurrency(orders: OrderSummary[]): string {
  const counts = new Map<string, number>();
  for (const o of orders) counts.set(o.currency, (counts.get(o.currency) ?? 0) + 1);
  let best = 'USD';
  let n = 0;
  for (const [c, k] of counts) if (k > n) [best, n] = [c, k];
  return best;
}

/** ordersByDay counts orders and sums revenue (total − refunded, cancelled excluded) for each of the last `days` days. */
export function ordersByDay(orders: OrderSummary[], currency: string, days: number, now = new Date()): DayPoint[] {
  const points = new Map<string, DayPoint>();
  for (let i = days - 1; i >= 0; i--) {
    const d = new Date(now);
    d.setDate(d.getDate() - i);
    const key = localDay(d.toISOString());
    points.set(key, { day: key, orders: 0, revenue: 0 });
  }
  for (const o of orders) {
    const p = points.get(localDay(o.placed_at));
    if (!p) continue;
    p.orders++;
    if (o.currency === currency && o.status !== 'cancelled') p.revenue += o.total - o.refunded;
  }
  return [...points.values()];
}

export interface HourPoint {
  hour: string;
  received: number;
  failed: number;
}

const failedStatuses = new Set(['failed', 'error', 'rejected', 'dead', 'dead_lettered']);

/** webhooksByHour buckets deliveries of the last `hours` hours. */
export function webhooksByHour(webhooks: Webhook[], hours: number, now = new Date()): HourPoint[] {
  const start = new Date(now);
  start.setMinutes(0, 0, 0);
  start.setHours(start.getHours() - (hours - 1));
  const points: HourPoint[] = [];
  for (let i = 0; i < hours; i++) {
    const h = new Date(start.getTime() + i * 3_600_000);
    points.push({ hour: `${String(h.getHours()).padStart(2, '0')}:00`, received: 0, failed: 0 });
  }
  for (const w of webhooks) {
    const i = Math.floor((new Date(w.received_at).getTime() - start.getTime()) / 3_600_000);
    const p = points[i];
    if (!p) continue;
    p.received++;
    if (failedStatuses.has(w.status)) p.failed++;
  }
  return points;
}
