import type { OrderDetail } from '../../api/model';
import { Money } from '../../components/Money';
import { StatusBadge } from '../../components/StatusBadge';
import { formatDateTime } from '../../format/time';
import { productName } from '../../format/product';

/** OrderSummaryCard shows an order's state: statuses, customer, lines and totals. */
export function OrderSummaryCard({ order }: { order: OrderDetail }) {
  return (
    <div className="order-summary">
      <div className="badges">
        <StatusBadge status={order.status} />
        <StatusBadge status={order.financial_status} />
        <StatusBadge status={order.fulfillment_status} />
      </div>
      <dl className="facts">
        <dt>Placed</dt>
        <dd>{formatDateTime(order.placed_at)}</dd>
        <dt>Customer</dt>
        <dd>
          {order.customer_name || '—'}
          {order.email && <div className="muted">{order.email}</div>}
        </dd>
        <dt>Source</dt>
        <dd>
          {order.source}
          {order.shopify_id && <span className="muted"> · Shopify {order.shopify_id}</span>}
        </dd>
        {order.cancelled_at && (
          <>
            <dt>Cancelled</dt>
            <dd>{formatDateTime(order.cancelled_at)}</dd>
          </>
        )}
        {order.note && (
          <>
            <dt>Note</dt>
            <dd className="wrap">{order.note}</dd>
          </>
        )}
        {/* The past state time travel rebuilds may predate tags. */}
        {(order.tags ?? []).length > 0 && (
          <>
            <dt>Tags</dt>
            <dd>
              <ul className="tags" aria-label="Tags">
                {order.tags.map((t) => (
                  <li key={t} className="badge badge-neutral">
                    {t}
                  </li>
                ))}
              </ul>
            </dd>
          </>
        )}
      </dl>
      <div className="table-wrap">
        <table className="table">
          <caption className="visually-hidden">Order lines</caption>
          <thead>
            <tr>
              <th scope="col">Item</th>
              <th scope="col">SKU</th>
              <th scope="col" className="num">
                Qty
              </th>
              <th scope="col" className="num">
                Fulfilled
              </th>
              <th scope="col" className="num">
                Refunded
              </th>
              <th scope="col" className="num">
                Price
              </th>
              <th scope="col" className="num">
                Line total
              </th>
            </tr>
          </thead>
          <tbody>
            {(order.lines ?? []).map((l) => (
              <tr key={l.id}>
                <td>{productName(l.title, l.variant_title)}</td>
                <td>{l.sku || (l.variant_id ? `variant ${l.variant_id}` : '—')}</td>
                <td className="num">{l.quantity}</td>
                <td className="num">{l.fulfilled_quantity}</td>
                <td className="num">{l.refunded_quantity}</td>
                <td className="num">
                  <Money minor={l.unit_price} currency={order.currency} exponent={order.currency_exponent} />
                </td>
                <td className="num">
                  <Money minor={l.unit_price * l.quantity} currency={order.currency} exponent={order.currency_exponent} />
                </td>
              </tr>
            ))}
          </tbody>
          <tfoot>
            <Total label="Subtotal" minor={order.subtotal} currency={order.currency} exponent={order.currency_exponent} />
            <Total label="Total" minor={order.total} currency={order.currency} exponent={order.currency_exponent} strong />
            <Total label="Paid" minor={order.paid} currency={order.currency} exponent={order.currency_exponent} />
            {order.refunded > 0 && <Total label="Refunded" minor={-order.refunded} currency={order.currency} exponent={order.currency_exponent} />}
          </tfoot>
        </table>
      </div>
    </div>
  );
}

function Total({
  label,
  minor,
  currency,
  exponent,
  strong,
}: {
  label: string;
  minor: number;
  currency: string;
  exponent: number;
  strong?: boolean;
}) {
  return (
    <tr className={strong ? 'total-strong' : undefined}>
      <th scope="row" colSpan={6} className="num">
        {label}
      </th>
      <td className="num">
        <Money minor={minor} currency={currency} exponent={exponent} />
      </td>
    </tr>
  );
}
