import type { StoredEvent } from '../../api/model';
import { Money } from '../../components/Money';
import { formatDateTime } from '../../format/time';
import { fulfillmentFacts, moneyFacts } from './eventFacts';

export function PaymentsAndFulfillments({
  events,
  currency,
  exponent,
}: {
  events: StoredEvent[];
  currency: string;
  exponent: number;
}) {
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
            {money.map((m) => (
              <li key={m.id}>
                <span className={m.kind === 'refund' ? 'refund' : undefined}>
                  {m.kind === 'payment' ? 'Payment' : 'Refund'} <Money minor={m.amount} currency={currency} exponent={exponent} />
                </span>
                <span className="muted"> · {formatDateTime(m.at)}</span>
              </li>
            ))}
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
                {f.units} {f.units === 1 ? 'unit' : 'units'} <span className="muted">· {f.id} · {formatDateTime(f.at)}</span>
              </li>
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}
