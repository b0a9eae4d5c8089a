import { useQuery } from '@tanstack/react-query';
import { request } from '../../api/client';
import type { ShopBackfill, ShopInstall } from '../../api/model';
import { QueryBoundary } from '../../components/QueryBoundary';
import { formatDateTime } from '../../format/time';

const methodLabel: Record<ShopInstall['method'], string> = {
  oauth: 'Installed from Shopify (OAuth)',
  token_exchange: 'Embedded app (token exchange)',
  client_credentials: "Your own app's credentials (client credentials)",
  cli: 'Access token added on the command line',
  api: 'Access token added through the API',
  access_token: 'Access token added by hand',
};

/** How the shop is connected to Shopify: the first thing to check when orders stop arriving. */
export function InstallSection() {
  const install = useQuery({
    queryKey: ['shop', 'install'],
    queryFn: ({ signal }) => request<ShopInstall>('/api/v1/shop/install', { signal }),
  });
  return (
    <section className="panel" aria-labelledby="install-h">
      <h2 id="install-h">Shopify connection</h2>
      <QueryBoundary query={install} what="the install status">
        {(s) => (
          <dl className="facts">
            <dt>Status</dt>
            <dd>
              {s.installed ? (
                <span className="badge badge-success">Installed</span>
              ) : (
                <span className="badge badge-critical">Uninstalled {formatDateTime(s.uninstalled_at)}</span>
              )}
            </dd>
            <dt>Connected by</dt>
            <dd>{methodLabel[s.method]}</dd>
            <dt>Admin API version</dt>
            <dd>{s.api_version}</dd>
            <dt>Access scopes</dt>
            <dd className="wrap">{s.scopes.length > 0 ? s.scopes.join(', ') : 'Not recorded (a token made by hand)'}</dd>
            <dt>Webhook subscriptions</dt>
            <dd>
              {s.subscriptions === null
                ? 'Not checked yet'
                : `${s.subscriptions} topics confirmed ${formatDateTime(s.subscriptions_checked_at)}`}
            </dd>
            <dt>Order history import</dt>
            <dd>
              <BackfillProgress />
            </dd>
            <dt>Last reconciliation</dt>
            <dd>
              {s.reconciled_at ? formatDateTime(s.reconciled_at) : 'Not run yet'}
              {s.reconciliation_error && <div className="error-text wrap">Failed: {s.reconciliation_error}</div>}
            </dd>
          </dl>
        )}
      </QueryBoundary>
    </section>
  );
}

/** The install's import of the last 60 days of orders, refreshed while it runs. */
function BackfillProgress() {
  const backfill = useQuery({
    queryKey: ['shop', 'backfill'],
    queryFn: ({ signal }) => request<ShopBackfill>('/api/v1/shop/backfill', { signal }),
    refetchInterval: (q) => (q.state.data?.status === 'running' || q.state.data?.status === 'pending' ? 2000 : false),
  });
  if (backfill.isPending) return <span className="muted">Loading…</span>;
  if (backfill.isError) return <span className="error-text">Could not load the import's progress.</span>;
  const b = backfill.data;
  const total = b.orders_total === null ? '' : ` of ${b.total_exact ? '' : 'at least '}${b.orders_total}`;
  switch (b.status) {
    case 'not_started':
      return <>Not started: it starts when the app is installed from Shopify.</>;
    case 'done':
      return <>Done {formatDateTime(b.finished_at)}: {b.orders_read} orders of the last 60 days read.</>;
    case 'failed':
      return <span className="error-text wrap">Failed after {b.orders_read} orders: {b.last_error}. The next reconciliation starts it over.</span>;
    default:
      return (
        <>
          <progress
            aria-label="Orders imported"
            value={b.orders_read}
            max={b.orders_total ?? undefined}
          />{' '}
          {b.status === 'pending' ? 'Waiting to start' : `${b.orders_read}${total} orders read`}
        </>
      );
  }
}
