import { useMutation, useQuery } from '@tanstack/react-query';
import { request } from '../../api/client';
import { saveResponse } from '../../api/download';
import type { Items, PrivacyRequest } from '../../api/model';
import { MutationError } from '../../components/ErrorNotice';
import { QueryBoundary } from '../../components/QueryBoundary';
import { formatDateTime } from '../../format/time';

const statusText: Record<PrivacyRequest['status'], string> = {
  export_ready: 'export ready',
  erased: 'erased',
  pending: 'erasure pending',
};

/** The compliance webhooks Shopify sent; a data request's export is what the merchant sends the customer. */
export function PrivacySection() {
  const requests = useQuery({
    queryKey: ['privacy', 'requests'],
    queryFn: ({ signal }) => request<Items<PrivacyRequest>>('/api/v1/privacy/requests', { signal }),
  });
  const download = useMutation({
    mutationFn: async (r: PrivacyRequest) => {
      const res = await request<Response>(`/api/v1/privacy/requests/${encodeURIComponent(r.id)}/export`, { raw: true });
      await saveResponse(res, `data-request-${r.id}.json`);
    },
  });
  return (
    <section className="panel" aria-labelledby="privacy-h">
      <h2 id="privacy-h">Customer privacy requests</h2>
      <QueryBoundary query={requests} what="privacy requests">
        {(data) =>
          data.items.length === 0 ? (
            <p className="muted">Shopify has sent no data or erasure requests.</p>
          ) : (
            <div className="table-wrap">
              <table className="table">
                <caption className="visually-hidden">Compliance requests from Shopify</caption>
                <thead>
                  <tr>
                    <th scope="col">Received</th>
                    <th scope="col">Request</th>
                    <th scope="col">Customer</th>
                    <th scope="col">Status</th>
                    <th scope="col">Export</th>
                  </tr>
                </thead>
                <tbody>
                  {data.items.map((r) => (
                    <tr key={r.id}>
                      <td>{formatDateTime(r.received_at)}</td>
                      <td>{r.topic}</td>
                      <td>{r.customer_id ?? '—'}</td>
                      <td>{statusText[r.status]}</td>
                      <td>
                        {r.status === 'export_ready' && (
                          <button type="button" className="btn btn-small" onClick={() => download.mutate(r)} disabled={download.isPending}>
                            Download JSON
                          </button>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </QueryBoundary>
      <MutationError error={download.error} />
    </section>
  );
}
