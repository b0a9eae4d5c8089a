import { useQuery } from '@tanstack/react-query';
import { Link, useParams } from 'react-router';
import { request } from '../../api/client';
import type { WebhookDetail } from '../../api/model';
import { useCan } from '../../auth/session';
import { ErrorNotice, MutationError } from '../../components/ErrorNotice';
import { JsonView } from '../../components/JsonView';
import { Loading } from '../../components/Loading';
import { PageHeader } from '../../components/PageHeader';
import { StatusBadge } from '../../components/StatusBadge';
import { formatPrecise } from '../../format/time';
import { useRedeliver } from './webhooksApi';

export function WebhookDetailPage() {
  const { id = '' } = useParams();
  const canRedeliver = useCan('orders:write');
  const redeliver = useRedeliver();
  const webhook = useQuery({
    queryKey: ['webhooks', 'detail', id],
    queryFn: ({ signal }) => request<WebhookDetail>(`/api/v1/webhooks/${encodeURIComponent(id)}`, { signal }),
  });

  return (
    <section className="page">
      <p className="breadcrumb">
        <Link to="/webhooks">Webhooks</Link>
      </p>
      {webhook.isPending ? (
        <Loading label="Loading webhook…" />
      ) : webhook.isError ? (
        <ErrorNotice error={webhook.error} what="this webhook" onRetry={() => void webhook.refetch()} />
      ) : (
        <>
          <PageHeader title={`Webhook ${webhook.data.webhook.topic}`} subtitle={<code>{webhook.data.webhook.webhook_id}</code>}>
            {canRedeliver && (
              <button type="button" className="btn" disabled={redeliver.isPending} onClick={() => redeliver.mutate(id)}>
                Redeliver
              </button>
            )}
          </PageHeader>
          <MutationError error={redeliver.error} />
          {redeliver.isSuccess && (
            <p className="notice notice-success" role="status">
              Redelivery queued.
            </p>
          )}
          <dl className="facts">
            <dt>Status</dt>
            <dd>
              <StatusBadge status={webhook.data.webhook.status} />
            </dd>
            <dt>Received</dt>
            <dd>{formatPrecise(webhook.data.webhook.received_at)}</dd>
            <dt>Signature</dt>
            <dd>{signatureText[webhook.data.signature]}</dd>
            {webhook.data.webhook.order_id && (
              <>
                <dt>Order</dt>
                <dd>
                  <Link to={`/orders/${webhook.data.webhook.order_id}`}>Open the order</Link>
                </dd>
              </>
            )}
            {webhook.data.webhook.error && (
              <>
                <dt>Error</dt>
                <dd className="error-text">{webhook.data.webhook.error}</dd>
              </>
            )}
          </dl>
          <h2>Outcomes</h2>
          {webhook.data.outcomes.length === 0 ? (
            <p className="muted">Not processed yet.</p>
          ) : (
            <ul className="plain-list">
              {webhook.data.outcomes.map((o) => (
                <li key={o.version}>
                  <code>{o.type}</code> <span className="muted">· {formatPrecise(o.recorded_at)}</span>
                </li>
              ))}
            </ul>
          )}
          <h2>Headers</h2>
          <JsonView label="Webhook headers" value={webhook.data.headers ?? {}} />
          <h2>Raw payload</h2>
          {webhook.data.body_erased ? (
            <p className="muted">Erased: a customers/redact or shop/redact request destroyed the key it was sealed with.</p>
          ) : (
            <>
              <p className="muted">Byte-exact as Shopify sent it, so its signature can be re-verified.</p>
              <JsonView label="Webhook payload" value={decodeBody(webhook.data.body_base64)} />
            </>
          )}
        </>
      )}
    </section>
  );
}

/** What the signature check means; the stored signature itself is never served. */
const signatureText: Record<WebhookDetail['signature'], string> = {
  valid: 'Valid: signed with one of the shop’s active webhook secrets',
  invalid: 'Not signed with an active secret (rotated since, or the stored webhook differs)',
  erased: 'Not checked: the body was erased by a redaction',
};

/** The stored body is base64 so that it stays byte-exact; shown as UTF-8 text. */
export function decodeBody(b64: string): string {
  try {
    const bytes = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
    return new TextDecoder().decode(bytes);
  } catch {
    return b64;
  }
}
