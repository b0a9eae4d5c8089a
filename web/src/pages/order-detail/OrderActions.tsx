import { useState, type FormEvent } from 'react';
import type { OrderDetail } from '../../api/model';
import { MutationError } from '../../components/ErrorNotice';
import { FulfilForm } from './FulfilForm';
import { NotesTagsForm } from './NotesTagsForm';
import { RefundForm } from './RefundForm';
import { useOrderAction, type OrderActionName } from './orderApi';

type Open = 'cancel' | 'refund' | 'fulfil' | 'annotate' | null;

/** OrderActions offers exactly the actions the API lists in allowed_actions (the domain decides them; for a Shopify order, those Ordermill can send to Shopify); each write's refusal (Shopify's too) is shown as given. */
export function OrderActions({ order }: { order: OrderDetail }) {
  const action = useOrderAction(order.id);
  const [open, setOpen] = useState<Open>(null);
  const [reason, setReason] = useState('');
  const allowed = new Set<OrderActionName>(order.allowed_actions);
  const toggle = (which: Exclude<Open, null>) => {
    action.reset();
    setOpen(open === which ? null : which);
  };
  const done = { onSuccess: () => setOpen(null) };

  function submitCancel(e: FormEvent) {
    e.preventDefault();
    action.mutate({ kind: 'cancel', reason: reason.trim() }, done);
  }

  if (allowed.size === 0) return null;
  return (
    <div className="actions">
      <div className="btn-row">
        {allowed.has('fulfil') && (
          <button type="button" className="btn" aria-expanded={open === 'fulfil'} onClick={() => toggle('fulfil')}>
            Fulfil…
          </button>
        )}
        {allowed.has('pay') && (
          <button type="button" className="btn" disabled={action.isPending} onClick={() => action.mutate({ kind: 'pay' })}>
            Mark as paid
          </button>
        )}
        {allowed.has('refund') && (
          <button type="button" className="btn" aria-expanded={open === 'refund'} onClick={() => toggle('refund')}>
            Refund…
          </button>
        )}
        {allowed.has('annotate') && (
          <button type="button" className="btn" aria-expanded={open === 'annotate'} onClick={() => toggle('annotate')}>
            Edit note and tags…
          </button>
        )}
        {allowed.has('cancel') && (
          <button type="button" className="btn btn-danger" aria-expanded={open === 'cancel'} onClick={() => toggle('cancel')}>
            Cancel order…
          </button>
        )}
      </div>
      {open === 'fulfil' && <FulfilForm order={order} busy={action.isPending} onSubmit={(a) => action.mutate(a, done)} />}
      {open === 'refund' && <RefundForm order={order} busy={action.isPending} onSubmit={(a) => action.mutate(a, done)} />}
      {open === 'annotate' && <NotesTagsForm order={order} busy={action.isPending} onSubmit={(a) => action.mutate(a, done)} />}
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
      <MutationError error={action.error} />
    </div>
  );
}
