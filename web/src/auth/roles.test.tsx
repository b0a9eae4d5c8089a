import { screen, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { OrderDetail } from '../api/model';
import { Layout } from '../app/Layout';
import { OrderDetailPage } from '../pages/order-detail/OrderDetailPage';
import { renderAs } from '../test/render';
import { can } from './permissions';

const order: OrderDetail = {
  id: 'o1', name: '#1001', shopify_id: '820982911946154508', source: 'shopify', email: 'a@example.com',
  customer_name: 'Ada', currency: 'JPY', currency_exponent: 0, subtotal: 1500, total: 1500, paid: 0, refunded: 0, status: 'placed',
  financial_status: 'pending', fulfillment_status: 'unfulfilled', item_count: 1, placed_at: '2024-05-01T10:00:00Z',
  cancelled_at: null, tags: [], test: false, version: 1, allowed_actions: ['cancel', 'pay', 'fulfil'],
  totals: { discounts: 0, shipping: 0, tax: 0, original_subtotal: 1500, original_total: 1500, original_discounts: 0, original_shipping: 0, original_tax: 0 },
  note: '', cancel_reason: '', shipments: [], refunds: [],
  lines: [{ id: '1', sku: 'MUG', variant_id: null, inventory_key: 'MUG', title: 'Mug', variant_title: '', quantity: 1, original_quantity: 1, fulfilled_quantity: 0, refunded_quantity: 0, unit_price: 1500, currency_exponent: 0 }],
};

beforeEach(() => {
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string) =>
      new Response(JSON.stringify(url.endsWith('/events') ? { items: [] } : order), {
        status: 200,
        headers: { 'Content-Type': 'application/json' },
      }),
    ),
  );
});
afterEach(() => vi.unstubAllGlobals());

describe('role-based visibility', () => {
  it('follows domain/role.go', () => {
    expect(can({ role: 'auditor' }, 'orders:write')).toBe(false);
    expect(can({ role: 'auditor' }, 'audit')).toBe(true);
    expect(can({ role: 'staff' }, 'users:manage')).toBe(false);
    expect(can({ role: 'owner' }, 'users:manage')).toBe(true);
    expect(can({ role: 'owner', permissions: ['orders:read'] }, 'users:manage')).toBe(false); // the server's list wins
    expect(can(undefined, 'orders:read')).toBe(false);
  });

  it('shows an owner the order actions, with yen in whole units', async () => {
    renderAs('owner', <OrderDetailPage />, { path: '/orders/o1', route: '/orders/:id' });
    expect(await screen.findByRole('button', { name: 'Cancel order…' })).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Mark as paid' })).toBeInTheDocument();
    expect(screen.getAllByText('¥1,500').length).toBeGreaterThan(0);
  });

  it('shows an auditor the order without any write button', async () => {
    renderAs('auditor', <OrderDetailPage />, { path: '/orders/o1', route: '/orders/:id' });
    expect(await screen.findByRole('heading', { name: 'Order #1001' })).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: /cancel order|mark as paid|refund/i })).toBeNull();
  });

  it('lists only the pages a role may open', () => {
    renderAs('auditor', <Layout />);
    const nav = within(screen.getByRole('navigation', { name: 'Main' }));
    expect(nav.getByRole('link', { name: 'Audit' })).toBeInTheDocument();
    expect(nav.queryByRole('link', { name: 'Settings' })).toBeNull();
  });

  it('gives staff no audit or settings', () => {
    renderAs('staff', <Layout />);
    const nav = within(screen.getByRole('navigation', { name: 'Main' }));
    expect(nav.getByRole('link', { name: 'Inventory' })).toBeInTheDocument();
    expect(nav.queryByRole('link', { name: 'Audit' })).toBeNull();
    expect(nav.queryByRole('link', { name: 'Settings' })).toBeNull();
  });
});
