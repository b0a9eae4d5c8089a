import { useQueryClient } from '@tanstack/react-query';
import { lazy, useEffect, type ComponentType } from 'react';
import { createBrowserRouter, Navigate, RouterProvider } from 'react-router';
import { onTokensChange } from '../api/tokens';
import type { Permission } from '../auth/permissions';
import { Layout } from './Layout';
import { Guard } from './Guard';
import { LoginPage } from '../pages/login/LoginPage';
import { NotFoundPage } from '../pages/not-found/NotFoundPage';

// Pages are split per route so the first load carries only the shell and the
// page asked for; the dashboard's chart library loads only with the dashboard.
function page<K extends string>(load: () => Promise<Record<K, ComponentType>>, name: K) {
  return lazy(() => load().then((m) => ({ default: m[name] })));
}
const DashboardPage = page(() => import('../pages/dashboard/DashboardPage'), 'DashboardPage');
const OrdersPage = page(() => import('../pages/orders/OrdersPage'), 'OrdersPage');
const OrderDetailPage = page(() => import('../pages/order-detail/OrderDetailPage'), 'OrderDetailPage');
const InventoryPage = page(() => import('../pages/inventory/InventoryPage'), 'InventoryPage');
const InventoryItemPage = page(() => import('../pages/inventory/InventoryItemPage'), 'InventoryItemPage');
const WebhooksPage = page(() => import('../pages/webhooks/WebhooksPage'), 'WebhooksPage');
const WebhookDetailPage = page(() => import('../pages/webhooks/WebhookDetailPage'), 'WebhookDetailPage');
const DeadLettersPage = page(() => import('../pages/dead-letters/DeadLettersPage'), 'DeadLettersPage');
const EmailsPage = page(() => import('../pages/emails/EmailsPage'), 'EmailsPage');
const ReportsPage = page(() => import('../pages/reports/ReportsPage'), 'ReportsPage');
const AuditPage = page(() => import('../pages/audit/AuditPage'), 'AuditPage');
const OperationsPage = page(() => import('../pages/operations/OperationsPage'), 'OperationsPage');
const SettingsPage = page(() => import('../pages/settings/SettingsPage'), 'SettingsPage');

function guarded(permission: Permission, Component: ComponentType) {
  return (
    <Guard permission={permission}>
      <Component />
    </Guard>
  );
}

const router = createBrowserRouter([
  { path: '/login', element: <LoginPage /> },
  {
    path: '/',
    element: <Layout />,
    children: [
      { index: true, element: <Navigate to="/dashboard" replace /> },
      { path: 'dashboard', element: guarded('orders:read', DashboardPage) },
      { path: 'orders', element: guarded('orders:read', OrdersPage) },
      { path: 'orders/:id', element: guarded('orders:read', OrderDetailPage) },
      { path: 'inventory', element: guarded('inventory:read', InventoryPage) },
      { path: 'inventory/:key', element: guarded('inventory:read', InventoryItemPage) },
      { path: 'webhooks', element: guarded('webhooks:read', WebhooksPage) },
      { path: 'webhooks/:id', element: guarded('webhooks:read', WebhookDetailPage) },
      { path: 'dead-letters', element: guarded('webhooks:read', DeadLettersPage) },
      { path: 'emails', element: guarded('orders:read', EmailsPage) },
      { path: 'reports', element: guarded('orders:read', ReportsPage) },
      { path: 'audit', element: guarded('audit', AuditPage) },
      { path: 'operations', element: guarded('operations:read', OperationsPage) },
      { path: 'settings', element: guarded('users:manage', SettingsPage) },
      { path: '*', element: <NotFoundPage /> },
    ],
  },
]);

export function App() {
  const queryClient = useQueryClient();
  // When the session ends (logout, refresh refused) nothing cached may outlive it.
  useEffect(
    () =>
      onTokensChange((t) => {
        if (!t) queryClient.clear();
      }),
    [queryClient],
  );
  return <RouterProvider router={router} />;
}
