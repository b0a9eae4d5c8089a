import type { StoredEvent } from '../../api/model';

// Payments, refunds and fulfillments are facts in the order's history; the
// detail view lists them straight from the events rather than from a read model.

export interface MoneyFact {
  id: string;
  kind: 'payment' | 'refund';
  amount: number;
  at: string;
}

export interface FulfillmentFact {
  id: string;
  units: number;
  at: string;
}

function num(v: unknown): number {
  return typeof v === 'number' ? v : 0;
}
function str(v: unknown, fallback: string): string {
  return typeof v === 'string' && v !== '' ? v : fallback;
}

export function moneyFacts(events: StoredEvent[]): MoneyFact[] {
  const out: MoneyFact[] = [];
  for (const e of events) {
    if (e.type === 'order.paid') {
      out.push({ id: e.event_id, kind: 'payment', amount: num(e.data.amount), at: str(e.data.paid_at, e.recorded_at) });
    } else if (e.type === 'order.refunded') {
      out.push({ id: str(e.data.refund_id, e.event_id), kind: 'refund', amount: num(e.data.amount), at: str(e.data.refunded_at, e.recorded_at) });
    }
  }
  return out;
}

export function fulfillmentFacts(events: StoredEvent[]): FulfillmentFact[] {
  return events
    .filter((e) => e.type === 'order.fulfilled')
    .map((e) => {
      const lines = Array.isArray(e.data.lines) ? (e.data.lines as { quantity?: unknown }[]) : [];
      return {
        id: str(e.data.fulfillment_id, e.event_id),
        units: lines.reduce((n, l) => n + num(l.quantity), 0),
        at: str(e.data.fulfilled_at, e.recorded_at),
      };
    });
}

/** describeEvent is a one-line, human reading of an order event. */
export function describeEvent(e: StoredEvent): string {
  switch (e.type) {
    case 'order.placed':
      return 'Order placed';
    case 'order.paid':
      return 'Payment received';
    case 'order.fulfilled':
      return 'Items fulfilled';
    case 'order.cancelled':
      return `Cancelled${typeof e.data.reason === 'string' && e.data.reason ? `: ${e.data.reason}` : ''}`;
    case 'order.refunded':
      return 'Refund issued';
    case 'order.snapshot_applied':
      return describeSnapshot(e.data.overrides);
    case 'order.edited':
      return 'Lines and totals edited in Shopify';
    case 'order.fulfillment_updated':
      return `Shipment updated${typeof e.data.status === 'string' && e.data.status ? `: ${e.data.status}` : ''}`;
    case 'order.deleted':
      return 'Deleted in Shopify (hidden from lists)';
    case 'order.annotated':
      return 'Note and tags changed';
    default:
      return e.type;
  }
}

/**
 * describeSnapshot reads a Shopify snapshot event: Shopify's state applied,
 * and when it contradicted local state, what differed before and after.
 */
function describeSnapshot(overrides: unknown): string {
  if (!Array.isArray(overrides) || overrides.length === 0) {
    return "Shopify's state applied";
  }
  const diffs = overrides
    .filter((o): o is { field: string; before: string; after: string } => typeof o === 'object' && o !== null && 'field' in o)
    .map((o) => (o.field === 'rule' ? `${o.before} refused here (${o.after})` : `${o.field}: ${o.before} → ${o.after}`));
  return `Shopify's state replaced local state: ${diffs.join('; ')}`;
}

/** causedByWebhook tells whether the event was appended while processing a Shopify webhook. */
export function causedByWebhook(e: StoredEvent): boolean {
  const m = e.metadata;
  return Boolean(m.causation_id) && (m.source === 'shopify' || m.source === 'webhook' || (m.actor ?? '').startsWith('worker:webhook'));
}
