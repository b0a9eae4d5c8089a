import { useState, type FormEvent } from 'react';
import type { OrderDetail } from '../../api/model';
import { MutationError } from '../../components/ErrorNotice';
import { minorToDecimalString, parseMoney } from '../../format/money';
import { useOrderAction } from './orderApi';

/** OrderActions offers exactly the actions the server lists in allowed_actions (the domain decides them). */
export function OrderActions({ order }: { order: OrderDetail }) {
  const action = useOrderAction(order.id);
  const [open, setOpen] = useState<'cancel' | 'refund' | null>(null);
  const [reason, setReason] = useState('');
  const [amount, setAmount] = useState('');

  const canCancel = order.allowed_actions.includes('cancel');
  const canPay = order.allowed_actions.includes('pay');
  const canRefund = order.allowed_actions.includes('refund');
  const refundable = order.paid - order.refunded;

  function submitCancel(e: FormEvent) {
    e.preventDefault();
    action.mutate({ kind: 'cancel', reason: reason.trim() }, { onSuccess: () => setOpen(null) });
  }
  const refundMinor = parseMoney(amount, order.currency_exponent);
  function submitRefund(e: FormEvent) {
    e.preventDefault();
    if (refundMinor === null) return;
    action.mutate({ kind: 'refund', amount: refundMinor }, { onSuccess: () => setOpen(null) });
  }

  if (!canCancel && !canPay && !canRefund) return null;
  return (
    <div className="actions">
      <div className="btn-row">
        {canPay && (
          <button type="button" className="btn" disabled={action.isPending} onClick={() => action.mutate({ kind: 'pay' })}>
            Mark as paid
          </button>
        )}
        {canRefund && (
          <button
            type="button"
            className="btn"
            aria-expanded={open === 'refund'}
            onClick={() => {
              setAmount(minorToDecimalString(refundable, order.currency_exponent));
              setOpen(open === 'refund' ? null : 'refund');
            }}
          >
            Refund…
          </button>
        )}
        {canCancel && (
          <button
            type="button"
            className="btn btn-danger"
            aria-expanded={open === 'cancel'}
            onClick={() => setOpen(open === 'cancel' ? null : 'cancel')}
          >
            Cancel order…
          </button>
        )}
      </div>
      {open === 'cancel' && (
        <form className="inline-form" onSubmit={submitCancel} aria-label="Cancel order">
          <label htmlFor="cancel-reason">Reason for cancelling</label>
          <input
            id="cancel-reason"
            autoFocus
            required
            value={reason}
            onChange={(e) => setReason(e.target.value)}
            placeholder="Customer changed their mind"
          />
          <button type="submit" className="btn btn-danger" disabled={!reason.trim() || action.isPending}>
            Confirm cancellation
          </button>
        </form>
      )}
      {open === 'refund' && (
        <form className="inline-form" onSubmit={submitRefund} aria-label="Refund">
          <label htmlFor="refund-amount">Amount to refund ({order.currency})</label>
          <input
            id="refund-amount"
            inputMode="decimal"
            autoFocus
            value={amount}
            onChange={(e) => setAmount(e.target.value)}
            aria-invalid={refundMinor === null}
          />
          <button type="submit" className="btn" disabled={refundMinor === null || refundMinor <= 0 || action.isPending}>
            Refund
          </button>
        </form>
      )}
      <MutationError error={action.error} />
    </div>
  );
}
