import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { request } from '../../api/client';
import type { ShopSettings } from '../../api/model';
import { MutationError } from '../../components/ErrorNotice';
import { QueryBoundary } from '../../components/QueryBoundary';

/** Which customer emails Ordermill sends for the shop. */
export function EmailPreferencesSection() {
  const queryClient = useQueryClient();
  const settings = useQuery({
    queryKey: ['shop', 'settings'],
    queryFn: ({ signal }) => request<ShopSettings>('/api/v1/shop/settings', { signal }),
  });
  const change = useMutation({
    mutationFn: (on: boolean) =>
      request<ShopSettings>('/api/v1/shop/settings', { method: 'PATCH', body: { shopify_order_confirmations: on } }),
    onSuccess: (next) => queryClient.setQueryData(['shop', 'settings'], next),
  });
  return (
    <section className="panel" aria-labelledby="email-prefs-h">
      <h2 id="email-prefs-h">Email preferences</h2>
      <QueryBoundary query={settings} what="the shop's settings">
        {(s) => (
          <div className="field-check">
            <input
              id="pref-shopify-confirmations"
              type="checkbox"
              checked={change.isPending ? change.variables : s.shopify_order_confirmations}
              disabled={change.isPending}
              onChange={(e) => change.mutate(e.target.checked)}
              aria-describedby="pref-shopify-confirmations-hint"
            />
            <label htmlFor="pref-shopify-confirmations">Send order confirmations for orders placed in Shopify</label>
            <p id="pref-shopify-confirmations-hint" className="muted">
              Off by default: Shopify confirms its orders itself, and a customer should not get two emails. Orders created in
              Ordermill are always confirmed; test orders and orders after an uninstall never are.
            </p>
          </div>
        )}
      </QueryBoundary>
      {change.isSuccess && !change.isPending && (
        <p className="notice notice-success" role="status">
          Saved: order confirmations for Shopify orders are {change.data.shopify_order_confirmations ? 'on' : 'off'}.
        </p>
      )}
      <MutationError error={change.error} />
    </section>
  );
}
