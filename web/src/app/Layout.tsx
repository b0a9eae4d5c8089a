import { useQueryClient } from '@tanstack/react-query';
import { Navigate, NavLink, Outlet, useLocation, useNavigate } from 'react-router';
import { logout } from '../api/client';
import { can, type Permission } from '../auth/permissions';
import { useProfile, useSignedIn } from '../auth/session';
import { ErrorNotice } from '../components/ErrorNotice';
import { Loading } from '../components/Loading';

const nav: { to: string; label: string; permission: Permission }[] = [
  { to: '/dashboard', label: 'Dashboard', permission: 'orders:read' },
  { to: '/orders', label: 'Orders', permission: 'orders:read' },
  { to: '/inventory', label: 'Inventory', permission: 'inventory:read' },
  { to: '/webhooks', label: 'Webhooks', permission: 'webhooks:read' },
  { to: '/dead-letters', label: 'Recovery', permission: 'webhooks:read' },
  { to: '/emails', label: 'Emails', permission: 'orders:read' },
  { to: '/reports', label: 'Reports', permission: 'orders:read' },
  { to: '/audit', label: 'Audit', permission: 'audit' },
  { to: '/operations', label: 'Operations', permission: 'operations:read' },
  { to: '/settings', label: 'Settings', permission: 'users:manage' },
];

/** Layout is the signed-in shell: navigation for what the role may see, and the page. */
export function Layout() {
  const signedIn = useSignedIn();
  const location = useLocation();
  const profile = useProfile();
  const navigate = useNavigate();
  const queryClient = useQueryClient();

  if (!signedIn) {
    return <Navigate to="/login" replace state={{ from: location.pathname + location.search }} />;
  }

  async function signOut() {
    await logout().catch(() => undefined);
    queryClient.clear();
    navigate('/login', { replace: true });
  }

  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <aside className="sidebar">
        <div className="brand">Ordermill</div>
        {profile.data && <div className="shop">{profile.data.shop}</div>}
        <nav aria-label="Main">
          <ul>
            {nav
              .filter((n) => can(profile.data, n.permission))
              .map((n) => (
                <li key={n.to}>
                  <NavLink to={n.to}>{n.label}</NavLink>
                </li>
              ))}
          </ul>
        </nav>
        <div className="who">
          {profile.data && (
            <>
              <div className="who-name">{profile.data.name || profile.data.email}</div>
              <div className="who-role">{profile.data.role}</div>
            </>
          )}
          <button type="button" className="btn btn-small" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </aside>
      <main id="main" className="main" tabIndex={-1}>
        {profile.isPending ? (
          <Loading label="Loading your profile…" />
        ) : profile.isError ? (
          <ErrorNotice error={profile.error} what="your profile" onRetry={() => void profile.refetch()} />
        ) : (
          <Outlet />
        )}
      </main>
    </div>
  );
}
