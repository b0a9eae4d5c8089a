import { screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ShopBackfill, ShopInstall } from '../../api/model';
import { renderAs } from '../../test/render';
import { InstallSection } from './InstallSection';

const install: ShopInstall = {
  shop: 'demo.myshopify.com', installed: true, uninstalled_at: null, method: 'oauth', api_version: '2026-10',
  scopes: ['read_orders'], subscriptions: 12, subscriptions_checked_at: '2026-12-06T10:00:00Z',
  reconciled_at: null, reconciliation_error: '',
};

const idle: ShopBackfill = {
  status: 'running', orders_read: 0, orders_total: null, total_exact: true, pages: 0,
  started_at: null, finished_at: null, last_error: null,
};

/** Answers the install and backfill routes as the API would. */
function serve(backfill: ShopBackfill) {
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string) => {
      const body = String(url).endsWith('/shop/backfill') ? backfill : install;
      return new Response(JSON.stringify(body), { status: 200, headers: { 'Content-Type': 'application/json' } });
    }),
  );
}

afterEach(() => vi.unstubAllGlobals());

describe('the order history import', () => {
  it('shows a running import against Shopify’s count', async () => {
    serve({ ...idle, status: 'running', orders_read: 120, orders_total: 300, pages: 1, started_at: '2026-12-06T10:00:00Z' });
    renderAs('owner', <InstallSection />);
    expect(await screen.findByText(/120 of 300 orders read/)).toBeInTheDocument();
    const bar = screen.getByRole('progressbar', { name: 'Orders imported' });
    expect(bar).toHaveAttribute('value', '120');
    expect(bar).toHaveAttribute('max', '300');
  });

  it('says when Shopify stopped counting', async () => {
    serve({ ...idle, status: 'running', orders_read: 50, orders_total: 10000, total_exact: false });
    renderAs('owner', <InstallSection />);
    expect(await screen.findByText(/50 of at least 10000 orders read/)).toBeInTheDocument();
  });

  it('shows a finished import and a failed one', async () => {
    serve({ ...idle, status: 'done', orders_read: 42, orders_total: 42, finished_at: '2026-12-06T10:05:00Z' });
    const { unmount } = renderAs('owner', <InstallSection />);
    expect(await screen.findByText(/42 orders of the last 60 days read/)).toBeInTheDocument();
    unmount();
    vi.unstubAllGlobals();
    serve({ ...idle, status: 'failed', orders_read: 7, last_error: 'Shopify answered 503' });
    renderAs('owner', <InstallSection />);
    expect(await screen.findByText(/Failed after 7 orders: Shopify answered 503/)).toBeInTheDocument();
  });
});
