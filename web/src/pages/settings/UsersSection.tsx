import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { request } from '../../api/client';
import type { Items, Role, User } from '../../api/model';
import { MutationError } from '../../components/ErrorNotice';
import { QueryBoundary } from '../../components/QueryBoundary';
import { StatusBadge } from '../../components/StatusBadge';
import { useProfile } from '../../auth/session';

const roles: Role[] = ['owner', 'staff', 'auditor'];

export function UsersSection() {
  const queryClient = useQueryClient();
  const me = useProfile().data;
  const users = useQuery({
    queryKey: ['users'],
    queryFn: ({ signal }) => request<Items<User>>('/api/v1/users', { signal }),
  });
  const done = () => void queryClient.invalidateQueries({ queryKey: ['users'] });
  const changeRole = useMutation({
    mutationFn: ({ id, role }: { id: string; role: Role }) =>
      request<User>(`/api/v1/users/${id}`, { method: 'PATCH', body: { role } }),
    onSuccess: done,
  });
  const deactivate = useMutation({
    mutationFn: (id: string) => request<unknown>(`/api/v1/users/${id}`, { method: 'DELETE' }),
    onSuccess: done,
  });

  return (
    <section className="panel" aria-labelledby="users-h">
      <h2 id="users-h">Users and roles</h2>
      <p className="muted">Owners manage everything; staff work orders and stock; auditors read and audit but change nothing.</p>
      <MutationError error={changeRole.error ?? deactivate.error} />
      <QueryBoundary query={users} what="users">
        {(data) => (
          <div className="table-wrap">
            <table className="table">
              <caption className="visually-hidden">Users</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Email</th>
                  <th scope="col">Role</th>
                  <th scope="col">Status</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {data.items.map((u) => (
                  <tr key={u.id}>
                    <td>{u.name}</td>
                    <td>{u.email}</td>
                    <td>
                      <label className="visually-hidden" htmlFor={`role-${u.id}`}>
                        Role of {u.email}
                      </label>
                      <select
                        id={`role-${u.id}`}
                        value={u.role}
                        disabled={!u.active || u.id === me?.id}
                        onChange={(e) => changeRole.mutate({ id: u.id, role: e.target.value as Role })}
                      >
                        {roles.map((r) => (
                          <option key={r} value={r}>
                            {r}
                          </option>
                        ))}
                      </select>
                    </td>
                    <td>
                      <StatusBadge status={u.active ? 'active' : 'inactive'} />
                    </td>
                    <td>
                      {u.active && u.id !== me?.id && (
                        <button
                          type="button"
                          className="btn btn-small btn-danger"
                          onClick={() => {
                            if (window.confirm(`Deactivate ${u.email}? They are signed out at once.`)) deactivate.mutate(u.id);
                          }}
                        >
                          Deactivate
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
      <AddUser onAdded={done} />
    </section>
  );
}

function AddUser({ onAdded }: { onAdded: () => void }) {
  const [email, setEmail] = useState('');
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('staff');
  const [password, setPassword] = useState('');
  const add = useMutation({
    mutationFn: () => request<User>('/api/v1/users', { method: 'POST', body: { email, name, role, password } }),
    onSuccess: () => {
      setEmail('');
      setName('');
      setPassword('');
      onAdded();
    },
  });
  function submit(e: FormEvent) {
    e.preventDefault();
    add.mutate();
  }
  return (
    <form className="filters" onSubmit={submit} aria-label="Add a user">
      <div className="field">
        <label htmlFor="nu-name">Name</label>
        <input id="nu-name" value={name} onChange={(e) => setName(e.target.value)} required />
      </div>
      <div className="field">
        <label htmlFor="nu-email">Email</label>
        <input id="nu-email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} required />
      </div>
      <div className="field">
        <label htmlFor="nu-role">Role</label>
        <select id="nu-role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
          {roles.map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor="nu-password">Initial password</label>
        <input
          id="nu-password"
          type="password"
          autoComplete="new-password"
          minLength={12}
          title="At least 12 characters, not a common password, not containing the email's name"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          required
        />
      </div>
      <button type="submit" className="btn btn-primary" disabled={add.isPending || !email || !name || !password}>
        Add user
      </button>
      <MutationError error={add.error} />
    </form>
  );
}
