import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { OrderDetail } from '../../api/model';
import { renderAs } from '../../test/render';
import { OrderActions } from './OrderActions';
import { parseTags } from './NotesTagsForm';
import type { OrderActionName } from './orderApi';

// A paid Shopify order in Kuwaiti dinars (three decimals): two mugs and a tee, nothing shipped.
const base: OrderDetail = {
  id: 'o1', name: '#1001', shopify_id: '820982911946154508', source: 'shopify', email: 'a@example.com',
  customer_name: 'Ada', currency: 'KWD', currency_exponent: 3, subtotal: 12500, total: 12500, paid: 12500, refunded: 0,
  status: 'paid', financial_status: 'paid', fulfillment_status: 'unfulfilled', item_count: 3,
  placed_at: '2024-05-01T10:00:00Z', cancelled_at: null, tags: ['vip'], test: false, version: 2,
  totals: { discounts: 0, shipping: 0, tax: 0, original_subtotal: 12500, original_total: 12500, original_discounts: 0, original_shipping: 0, original_tax: 0 },
  note: 'Leave at the door', cancel_reason: '', shipments: [], refunds: [], allowed_actions: [],
  lines: [
    { id: '11', sku: 'MUG', variant_id: '5', inventory_key: 'MUG', title: 'Mug', variant_title: 'Blue', quantity: 2, original_quantity: 2, fulfilled_quantity: 0, refunded_quantity: 0, unit_price: 5000, currency_exponent: 3 },
    { id: '12', sku: 'TEE', variant_id: '6', inventory_key: 'TEE', title: 'Tee', variant_title: '', quantity: 1, original_quantity: 1, fulfilled_quantity: 0, refunded_quantity: 0, unit_price: 2500, currency_exponent: 3 },
  ],
};

function orderWith(actions: OrderActionName[]): OrderDetail {
  return { ...base, allowed_actions: actions };
}

/** Answers every request with status and body, and records what was sent. */
function answer(status: number, body: unknown) {
  const fetchMock = vi.fn(async (_url: string, _init?: RequestInit) =>
    new Response(JSON.stringify(body), {
      status,
      headers: { 'Content-Type': status >= 400 ? 'application/problem+json' : 'application/json' },
    }),
  );
  vi.stubGlobal('fetch', fetchMock);
  return fetchMock;
}

function sent(fetchMock: ReturnType<typeof answer>) {
  const call = fetchMock.mock.calls[0];
  if (!call) throw new Error('nothing was sent');
  const [url, init] = call;
  return { url, method: init?.method, body: JSON.parse(String(init?.body)) };
}

afterEach(() => vi.unstubAllGlobals());

describe('order actions', () => {
  it('offers exactly the allowed actions', () => {
    renderAs('owner', <OrderActions order={orderWith(['fulfil', 'refund'])} />);
    expect(screen.getByRole('button', { name: 'Fulfil…' })).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Refund…' })).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: /cancel order|mark as paid|note and tags/i })).toBeNull();
  });

  it('offers nothing when nothing is allowed', () => {
    const { container } = renderAs('owner', <OrderActions order={orderWith([])} />);
    expect(container).toBeEmptyDOMElement();
  });

  it('fulfils the chosen units with carrier and tracking', async () => {
    const fetchMock = answer(200, { ...base, position: '1.2' });
    const user = userEvent.setup();
    renderAs('owner', <OrderActions order={orderWith(['fulfil'])} />);
    await user.click(screen.getByRole('button', { name: 'Fulfil…' }));
    const form = screen.getByRole('form', { name: 'Fulfil items' });
    await user.clear(within(form).getByLabelText('Tee'));
    await user.type(within(form).getByLabelText('Tee'), '0');
    await user.type(within(form).getByLabelText('Carrier'), 'UPS');
    await user.type(within(form).getByLabelText('Tracking number'), '1Z999AA10123456784');
    await user.type(within(form).getByLabelText('Tracking URL'), 'https://www.ups.com/track?tracknum=1Z999AA10123456784');
    await user.click(within(form).getByRole('button', { name: 'Fulfil 2 items' }));
    await waitFor(() => expect(fetchMock).toHaveBeenCalledTimes(1));
    expect(sent(fetchMock)).toEqual({
      url: '/api/v1/orders/o1/fulfil',
      method: 'POST',
      body: {
        lines: [{ line_id: '11', quantity: 2 }],
        carrier: 'UPS',
        tracking_number: '1Z999AA10123456784',
        tracking_url: 'https://www.ups.com/track?tracknum=1Z999AA10123456784',
        notify_customer: true,
      },
    });
  });

  it('refunds a returned line with its price, a reason and restock', async () => {
    const fetchMock = answer(200, { ...base, position: '1.2' });
    const user = userEvent.setup();
    renderAs('owner', <OrderActions order={orderWith(['refund'])} />);
    await user.click(screen.getByRole('button', { name: 'Refund…' }));
    const form = screen.getByRole('form', { name: 'Refund' });
    await user.clear(within(form).getByLabelText('Mug — Blue'));
    await user.type(within(form).getByLabelText('Mug — Blue'), '1');
    expect(within(form).getByLabelText('Amount to refund (KWD)')).toHaveValue('5.000'); // one mug, in the dinar's three digits
    await user.type(within(form).getByLabelText('Reason'), 'Arrived damaged');
    expect(within(form).getByLabelText('Put the returned items back in stock')).toBeChecked();
    await user.click(within(form).getByRole('button', { name: /^Refund / }));
    await waitFor(() => expect(fetchMock).toHaveBeenCalledTimes(1));
    expect(sent(fetchMock)).toEqual({
      url: '/api/v1/orders/o1/refund',
      method: 'POST',
      body: { amount: 5000, lines: [{ line_id: '11', quantity: 1 }], reason: 'Arrived damaged', restock: true },
    });
  });

  it("shows Shopify's reason when Shopify refuses", async () => {
    answer(422, {
      type: 'about:blank', title: 'Unprocessable Entity', status: 422,
      detail: 'Shopify refused the refund: Amount cannot be greater than the refundable amount',
      shopify_errors: [{ field: ['transactions', '0', 'amount'], message: 'Amount cannot be greater than the refundable amount' }],
    });
    const user = userEvent.setup();
    renderAs('owner', <OrderActions order={orderWith(['refund'])} />);
    await user.click(screen.getByRole('button', { name: 'Refund…' }));
    await user.click(screen.getByRole('button', { name: /^Refund / }));
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('Shopify refused the refund: Amount cannot be greater than the refundable amount');
    expect(within(alert).getByRole('list', { name: "Shopify's reasons" })).toHaveTextContent(
      'transactions.0.amount: Amount cannot be greater than the refundable amount',
    );
    expect(screen.getByRole('form', { name: 'Refund' })).toBeInTheDocument(); // still open to correct
  });

  it('saves the note and tags with a PATCH', async () => {
    const fetchMock = answer(200, { ...base, position: '1.2' });
    const user = userEvent.setup();
    renderAs('owner', <OrderActions order={orderWith(['annotate'])} />);
    await user.click(screen.getByRole('button', { name: 'Edit note and tags…' }));
    const tags = screen.getByLabelText('Tags, separated by commas');
    await user.clear(tags);
    await user.type(tags, 'vip, gift , vip,');
    await user.click(screen.getByRole('button', { name: 'Save note and tags' }));
    await waitFor(() => expect(fetchMock).toHaveBeenCalledTimes(1));
    expect(sent(fetchMock)).toEqual({
      url: '/api/v1/orders/o1',
      method: 'PATCH',
      body: { note: 'Leave at the door', tags: ['vip', 'gift'] },
    });
  });

  it('reads tags as Shopify keeps them', () => {
    expect(parseTags(' a, b,,a , c ')).toEqual(['a', 'b', 'c']);
    expect(parseTags('')).toEqual([]);
  });
});
