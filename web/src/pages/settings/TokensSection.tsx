import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { request } from '../../api/client';
import type { ApiToken, CreatedToken, Items, Role } from '../../api/model';
import { MutationError } from '../../components/ErrorNotice';
import { QueryBoundary } from '../../components/QueryBoundary';
import { StatusBadge } from '../../components/StatusBadge';
import { formatDateTime } from '../../format/time';

export function TokensSection() {
  const queryClient = useQueryClient();
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('auditor');
  // The secret exists only in this component's state: the server never shows it again.
  const [secret, setSecret] = useState<CreatedToken | null>(null);
  const tokens = useQuery({
    queryKey: ['tokens'],
    queryFn: ({ signal }) => request<Items<ApiToken>>('/api/v1/tokens', { signal }),
  });
  const done = () => void queryClient.invalidateQueries({ queryKey: ['tokens'] });
  const create = useMutation({
    mutationFn: () => request<CreatedToken>('/api/v1/tokens', { method: 'POST', body: { name, role } }),
    onSuccess: (t) => {
      setSecret(t);
      setName('');
      done();
    },
  });
  const revoke = useMutation({
    mutationFn: (id: string) => request<unknown>(`/api/v1/tokens/${id}`, { method: 'DELETE' }),
    onSuccess: done,
  });

  function submit(e: FormEvent) {
    e.preventDefault();
    create.mutate();
  }

  return (
    <section className="panel" aria-labelledby="tokens-h">
      <h2 id="tokens-h">API tokens</h2>
      {secret && (
        <div className="notice notice-warning" role="alert">
          <p>
            <strong>Copy the token for “{secret.name}” now.</strong> It is shown only once.
          </p>
          <label htmlFor="new-secret">Token</label>
          <div className="input-row">
            <input id="new-secret" readOnly value={secret.token} onFocus={(e) => e.currentTarget.select()} />
            <button type="button" className="btn" onClick={() => void navigator.clipboard?.writeText(secret.token)}>
              Copy
            </button>
            <button type="button" className="btn" onClick={() => setSecret(null)}>
              Done
            </button>
          </div>
        </div>
      )}
      <MutationError error={revoke.error} />
      <QueryBoundary query={tokens} what="API tokens">
        {(data) => (
          <div className="table-wrap">
            <table className="table">
              <caption className="visually-hidden">API tokens</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Prefix</th>
                  <th scope="col">Role</th>
                  <th scope="col">Created</th>
                  <th scope="col">Status</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {data.items.length === 0 && (
                  <tr>
                    <td colSpan={6} className="empty">
                      No API tokens.
                    </td>
                  </tr>
                )}
                {data.items.map((t) => (
                  <tr key={t.id}>
                    <td>{t.name}</td>
                    <td>
                      <code>{t.prefix}…</code>
                    </td>
                    <td>{t.role}</td>
                    <td>{formatDateTime(t.created_at)}</td>
                    <td>
                      <StatusBadge status={t.revoked_at ? 'revoked' : 'active'} />
                    </td>
                    <td>
                      {!t.revoked_at && (
                        <button type="button" className="btn btn-small btn-danger" onClick={() => revoke.mutate(t.id)}>
                          Revoke
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </QueryBoundary>
      <form className="filters" onSubmit={submit} aria-label="Create an API token">
        <div className="field">
          <label htmlFor="tok-name">Token name</label>
          <input id="tok-name" value={name} onChange={(e) => setName(e.target.value)} placeholder="ERP sync" required />
        </div>
        <div className="field">
          <label htmlFor="tok-role">Role</label>
          <select id="tok-role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
            <option value="auditor">auditor (read only)</option>
            <option value="staff">staff</option>
            <option value="owner">owner</option>
          </select>
        </div>
        <button type="submit" className="btn btn-primary" disabled={!name.trim() || create.isPending}>
          Create token
        </button>
        <MutationError error={create.error} />
      </form>
    </section>
  );
}
