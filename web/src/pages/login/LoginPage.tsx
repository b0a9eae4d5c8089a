import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Navigate, useLocation, useNavigate } from 'react-router';
import { login } from '../../api/client';
import { useSignedIn } from '../../auth/session';
import { loginError } from './loginError';

const shopKey = 'ordermill.shop';

/** shopDomain accepts a shop's handle ("demo") or its domain, in any case. */
export function shopDomain(input: string): string {
  const s = input.trim().toLowerCase();
  return s === '' || s.includes('.') ? s : `${s}.myshopify.com`;
}

export function LoginPage() {
  // Shopify links carry ?shop=; otherwise the shop of the last sign-in.
  const [shop, setShop] = useState(
    () => new URLSearchParams(window.location.search).get('shop') ?? window.localStorage.getItem(shopKey) ?? '',
  );
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const navigate = useNavigate();
  const location = useLocation();
  const signedIn = useSignedIn();
  const queryClient = useQueryClient();
  const from = (location.state as { from?: string } | null)?.from ?? '/orders';

  const signIn = useMutation({
    mutationFn: () => login(shopDomain(shop), email.trim(), password),
    onSuccess: () => {
      window.localStorage.setItem(shopKey, shopDomain(shop));
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
        <label htmlFor="shop">Shop</label>
        <input
          id="shop"
          type="text"
          autoComplete="organization"
          placeholder="your-shop.myshopify.com"
          required
          autoFocus={shop === ''}
          value={shop}
          onChange={(e) => setShop(e.target.value)}
        />
        <label htmlFor="email">Email</label>
        <input
          id="email"
          type="email"
          autoComplete="username"
          required
          autoFocus={shop !== ''}
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
        <button type="submit" className="btn btn-primary" disabled={signIn.isPending || !shop.trim() || !email || !password}>
          {signIn.isPending ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
