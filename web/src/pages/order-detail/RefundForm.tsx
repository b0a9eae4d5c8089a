import { useState, type FormEvent } from 'react';
import type { OrderDetail } from '../../api/model';
import { formatMoney, minorToDecimalString, parseMoney } from '../../format/money';
import { chosenLines, LineQuantities } from './LineQuantities';
import type { OrderAction } from './orderApi';

/** Refunds an amount, for chosen lines or none (shipping, goodwill), with a reason and whether the units go back to stock. */
export function RefundForm({
  order,
  busy,
  onSubmit,
}: {
  order: OrderDetail;
  busy: boolean;
  onSubmit: (a: Extract<OrderAction, { kind: 'refund' }>) => void;
}) {
  const refundable = order.paid - order.refunded;
  // Restock goes to Shopify with its refund: the API takes it for Shopify orders only.
  const shopify = order.shopify_id !== null;
  const [quantities, setQuantities] = useState<Record<string, number>>({});
  const [amount, setAmount] = useState(() => minorToDecimalString(refundable, order.currency_exponent));
  const [reason, setReason] = useState('');
  const [restock, setRestock] = useState(true);
  const lines = chosenLines(quantities);
  const minor = parseMoney(amount, order.currency_exponent);
  const valid = minor !== null && minor > 0 && minor <= refundable;

  // Choosing lines proposes what they cost, up to what is left to refund.
  function chooseLines(next: Record<string, number>) {
    setQuantities(next);
    const worth = order.lines.reduce((sum, l) => sum + l.unit_price * (next[l.id] ?? 0), 0);
    if (worth > 0) setAmount(minorToDecimalString(Math.min(worth, refundable), order.currency_exponent));
  }

  function submit(e: FormEvent) {
    e.preventDefault();
    if (!valid) return;
    onSubmit({
      kind: 'refund',
      amount: minor,
      lines,
      reason: reason.trim() || undefined,
      restock: shopify && lines.length > 0 && restock ? true : undefined,
    });
  }

  return (
    <form className="panel inline-form wide" onSubmit={submit} aria-label="Refund">
      <h2>Refund</h2>
      <p className="muted">
        {formatMoney(refundable, order.currency, order.currency_exponent)} paid and not refunded yet. Choose the items
        returned, or none to refund an amount only.
      </p>
      <LineQuantities lines={order.lines} of="refund" caption="Units to refund" quantities={quantities} onChange={chooseLines} />
      <div className="filters">
        <div className="field">
          <label htmlFor="refund-amount">Amount to refund ({order.currency})</label>
          <input
            id="refund-amount"
            inputMode="decimal"
            value={amount}
            onChange={(e) => setAmount(e.target.value)}
            aria-invalid={!valid}
          />
        </div>
        <div className="field grow">
          <label htmlFor="refund-reason">Reason</label>
          <input id="refund-reason" value={reason} onChange={(e) => setReason(e.target.value)} placeholder="Arrived damaged" />
        </div>
      </div>
      {lines.length > 0 && shopify && (
        <label className="checkbox">
          <input type="checkbox" checked={restock} onChange={(e) => setRestock(e.target.checked)} /> Put the returned items
          back in stock
        </label>
      )}
      <div className="btn-row">
        <button type="submit" className="btn btn-primary" disabled={!valid || busy}>
          {busy ? 'Refunding…' : `Refund ${valid ? formatMoney(minor, order.currency, order.currency_exponent) : ''}`.trim()}
        </button>
      </div>
    </form>
  );
}
