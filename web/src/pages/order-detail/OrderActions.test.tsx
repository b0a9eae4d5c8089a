import { screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { OrderDetail } from '../../api/model';
import { renderAs } from '../../test/render';
import { OrderActions } from './OrderActions';

// A paid, partly refunded order whose state the client cannot tell apart
// from the buttons it shows: only allowed_actions decides them.
const order: OrderDetail = {
  id: 'o1', name: '#1001', shopify_id: null, source: 'api', email: 'a@example.com', customer_name: 'Ada',
  currency: 'USD', currency_exponent: 2, subtotal: 3000, total: 3000, paid: 3000, refunded: 500, status: 'paid',
  financial_status: 'partially_refunded', fulfillment_status: 'unfulfilled', item_count: 1,
  placed_at: '2024-05-01T10:00:00Z', cancelled_at: null, tags: [], test: false, version: 3, allowed_actions: [],
  totals: { discounts: 0, shipping: 0, tax: 0, original_subtotal: 3000, original_total: 3000, original_discounts: 0, original_shipping: 0, original_tax: 0 },
  note: '', cancel_reason: '', shipments: [], refunds: [], lines: [],
};

const buttons = /cancel order|mark as paid|refund/i;

describe('OrderActions', () => {
  it('offers exactly the allowed actions', () => {
    renderAs('owner', <OrderActions order={{ ...order, allowed_actions: ['refund', 'fulfil'] }} />);
    expect(screen.getAllByRole('button', { name: buttons }).map((b) => b.textContent)).toEqual(['Refund…']);
  });

  it('offers cancel and pay when the server allows them', () => {
    renderAs('owner', <OrderActions order={{ ...order, allowed_actions: ['cancel', 'pay'] }} />);
    expect(screen.getAllByRole('button', { name: buttons }).map((b) => b.textContent)).toEqual(['Mark as paid', 'Cancel order…']);
  });

  it('offers nothing when nothing is allowed, whatever the statuses say', () => {
    const { container } = renderAs('owner', <OrderActions order={order} />);
    expect(screen.queryByRole('button', { name: buttons })).toBeNull();
    expect(container).toBeEmptyDOMElement();
  });
});
