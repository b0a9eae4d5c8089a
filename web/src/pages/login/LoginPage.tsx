import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Navigate, useLocation, useNavigate } from 'react-router';
import { login } from '../../api/client';
import { useSignedIn } from '../../auth/session';
import { loginError } from './loginError';

export function LoginPage() {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const navigate = useNavigate();
  const location = useLocation();
  const signedIn = useSignedIn();
  const queryClient = useQueryClient();
  const from = (location.state as { from?: string } | null)?.from ?? '/orders';

  const signIn = useMutation({
    mutationFn: () => login(email.trim(), password),
    onSuccess: () => {
      queryClient.clear();
      navigate(from, { replace: true });
    },
  });

  if (signedIn && !signIn.isPending && !signIn.isSuccess) return <Navigate to={from} replace />;

  function submit(e: FormEvent) {
    e.preventDefault();
    signIn.mutate();
  }

  return (
    <main className="login">
      <form className="login-card" onSubmit={submit} aria-labelledby="login-title" noValidate>
        <div className="brand">Ordermill</div>
        <h1 id="login-title">Sign in</h1>
        {signIn.isError && (
          <div className="notice notice-critical" role="alert">
            {loginError(signIn.error)}
          </div>
        )}
        <label htmlFor="email">Email</label>
        <input
          id="email"
          type="email"
          autoComplete="username"
          required
          autoFocus
          value={email}
          onChange={(e) => setEmail(e.target.value)}
        />
        <label htmlFor="password">Password</label>
        <input
          id="password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
        <button type="submit" className="btn btn-primary" disabled={signIn.isPending || !email || !password}>
          {signIn.isPending ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
