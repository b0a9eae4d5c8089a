import { useState, type FormEvent } from 'react';
import type { OrderDetail } from '../../api/model';
import { chosenLines, LineQuantities, remaining } from './LineQuantities';
import type { OrderAction } from './orderApi';

// Carriers Shopify recognises by name (it builds their tracking links itself).
const carriers = ['UPS', 'USPS', 'FedEx', 'DHL Express', 'Royal Mail', 'Canada Post', 'Australia Post', 'PostNL', 'La Poste', 'DPD'];

/** Ships some or all unshipped units, with the carrier and tracking the customer will see. */
export function FulfilForm({
  order,
  busy,
  onSubmit,
}: {
  order: OrderDetail;
  busy: boolean;
  onSubmit: (a: Extract<OrderAction, { kind: 'fulfil' }>) => void;
}) {
  const [quantities, setQuantities] = useState<Record<string, number>>(() =>
    Object.fromEntries(order.lines.map((l) => [l.id, remaining(l, 'fulfil')])),
  );
  const [carrier, setCarrier] = useState('');
  const [number, setNumber] = useState('');
  const [url, setUrl] = useState('');
  const [notify, setNotify] = useState(true);
  const lines = chosenLines(quantities);
  const units = lines.reduce((n, l) => n + l.quantity, 0);

  function submit(e: FormEvent) {
    e.preventDefault();
    if (units === 0) return;
    onSubmit({
      kind: 'fulfil',
      lines,
      carrier: carrier.trim() || undefined,
      tracking_number: number.trim() || undefined,
      tracking_url: url.trim() || undefined,
      notify_customer: notify,
    });
  }

  return (
    <form className="panel inline-form wide" onSubmit={submit} aria-label="Fulfil items">
      <h2>Fulfil items</h2>
      <LineQuantities lines={order.lines} of="fulfil" caption="Units to ship" quantities={quantities} onChange={setQuantities} />
      <div className="filters">
        <div className="field">
          <label htmlFor="ful-carrier">Carrier</label>
          <input id="ful-carrier" list="ful-carriers" value={carrier} onChange={(e) => setCarrier(e.target.value)} />
          <datalist id="ful-carriers">
            {carriers.map((c) => (
              <option key={c} value={c} />
            ))}
          </datalist>
        </div>
        <div className="field">
          <label htmlFor="ful-number">Tracking number</label>
          <input id="ful-number" value={number} onChange={(e) => setNumber(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="ful-url">Tracking URL</label>
          <input id="ful-url" type="url" value={url} onChange={(e) => setUrl(e.target.value)} placeholder="https://" />
        </div>
      </div>
      <label className="checkbox">
        <input type="checkbox" checked={notify} onChange={(e) => setNotify(e.target.checked)} /> Email the customer the
        tracking details
      </label>
      <div className="btn-row">
        <button type="submit" className="btn btn-primary" disabled={units === 0 || busy}>
          {busy ? 'Fulfilling…' : `Fulfil ${units} ${units === 1 ? 'item' : 'items'}`}
        </button>
      </div>
    </form>
  );
}
