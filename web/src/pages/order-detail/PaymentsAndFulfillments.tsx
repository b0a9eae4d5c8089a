import type { OrderDetail, StoredEvent } from '../../api/model';
import { Money } from '../../components/Money';
import { formatDateTime } from '../../format/time';
import { fulfillmentFacts, moneyFacts } from './eventFacts';

/** A shipment's carrier and tracking, each number linked to its tracking page when Shopify or the merchant gave one. */
function Tracking({ shipment }: { shipment: OrderDetail['shipments'][number] }) {
  if (!shipment.tracking_company && shipment.tracking_numbers.length === 0) return null;
  return (
    <span className="tracking">
      {' · '}
      {shipment.tracking_company}
      {shipment.tracking_numbers.map((n, i) => {
        const url = shipment.tracking_urls[i];
        return (
          <span key={n}>
            {' '}
            {url ? (
              <a href={url} target="_blank" rel="noreferrer">
                {n}
              </a>
            ) : (
              n
            )}
          </span>
        );
      })}
    </span>
  );
}

export function PaymentsAndFulfillments({ events, order }: { events: StoredEvent[]; order: OrderDetail }) {
  const { currency, currency_exponent: exponent } = order;
  const money = moneyFacts(events);
  const shipments = fulfillmentFacts(events);
  return (
    <div className="two-col">
      <section aria-labelledby="payments-h">
        <h2 id="payments-h">Payments and refunds</h2>
        {money.length === 0 ? (
          <p className="muted">No payments yet.</p>
        ) : (
          <ul className="plain-list">
            {money.map((m) => {
              const reason = m.kind === 'refund' ? order.refunds.find((r) => r.id === m.id)?.reason : undefined;
              return (
                <li key={m.id}>
                  <span className={m.kind === 'refund' ? 'refund' : undefined}>
                    {m.kind === 'payment' ? 'Payment' : 'Refund'} <Money minor={m.amount} currency={currency} exponent={exponent} />
                  </span>
                  {reason && <span> · {reason}</span>}
                  <span className="muted"> · {formatDateTime(m.at)}</span>
                </li>
              );
            })}
          </ul>
        )}
      </section>
      <section aria-labelledby="fulfillments-h">
        <h2 id="fulfillments-h">Fulfillments</h2>
        {shipments.length === 0 ? (
          <p className="muted">Nothing shipped yet.</p>
        ) : (
          <ul className="plain-list">
            {shipments.map((f) => (
              <li key={f.id}>
                {f.units} {f.units === 1 ? 'unit' : 'units'}
                {order.shipments
                  .filter((sh) => sh.id === f.id)
                  .map((sh) => (
                    <Tracking key={sh.id} shipment={sh} />
                  ))}
                <span className="muted"> · {f.id} · {formatDateTime(f.at)}</span>
              </li>
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}
