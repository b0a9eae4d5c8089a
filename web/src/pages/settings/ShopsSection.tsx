import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { request } from '../../api/client';
import type { Items, Shop } from '../../api/model';
import { MutationError } from '../../components/ErrorNotice';
import { QueryBoundary } from '../../components/QueryBoundary';
import { formatDateTime } from '../../format/time';

export function ShopsSection() {
  const queryClient = useQueryClient();
  const [domain, setDomain] = useState('');
  const [currency, setCurrency] = useState('USD');
  const [secret, setSecret] = useState('');
  const [accessToken, setAccessToken] = useState('');
  const shops = useQuery({
    queryKey: ['shops'],
    queryFn: ({ signal }) => request<Items<Shop>>('/api/v1/shops', { signal }),
  });
  const add = useMutation({
    mutationFn: () =>
      request<Shop>('/api/v1/shops', {
        method: 'POST',
        body: { domain, name: domain, currency, webhook_secrets: [secret], access_token: accessToken },
      }),
    onSuccess: () => {
      setDomain('');
      setSecret('');
      setAccessToken('');
      void queryClient.invalidateQueries({ queryKey: ['shops'] });
    },
  });
  function submit(e: FormEvent) {
    e.preventDefault();
    add.mutate();
  }
  return (
    <section className="panel" aria-labelledby="shops-h">
      <h2 id="shops-h">Shops</h2>
      <QueryBoundary query={shops} what="shops">
        {(data) => (
          <ul className="plain-list">
            {data.items.map((s) => (
              <li key={s.domain}>
                <strong>{s.domain}</strong> <span className="muted">· {s.currency}</span>
                <span className="muted"> · added {formatDateTime(s.registered_at)}</span>
                <span className="muted"> · {s.webhook_secrets} active webhook secret{s.webhook_secrets === 1 ? '' : 's'}</span>
                {!s.installed && <span className="muted"> · uninstalled</span>}
              </li>
            ))}
          </ul>
        )}
      </QueryBoundary>
      <form className="filters" onSubmit={submit} aria-label="Connect a shop">
        <div className="field">
          <label htmlFor="shop-domain">Shop domain</label>
          <input id="shop-domain" value={domain} onChange={(e) => setDomain(e.target.value)} placeholder="example.myshopify.com" required />
        </div>
        <div className="field">
          <label htmlFor="shop-currency">Currency</label>
          <input id="shop-currency" value={currency} maxLength={3} onChange={(e) => setCurrency(e.target.value.toUpperCase())} required />
        </div>
        <div className="field">
          <label htmlFor="shop-secret">Webhook secret</label>
          <input id="shop-secret" type="password" value={secret} onChange={(e) => setSecret(e.target.value)} required />
        </div>
        <div className="field">
          <label htmlFor="shop-token">Admin API access token</label>
          <input id="shop-token" type="password" value={accessToken} onChange={(e) => setAccessToken(e.target.value)} required />
        </div>
        <button type="submit" className="btn btn-primary" disabled={add.isPending || !domain || !secret || !accessToken}>
          Add shop
        </button>
        <MutationError error={add.error} />
      </form>
    </section>
  );
}
