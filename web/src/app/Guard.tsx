import { Suspense, type ReactNode } from 'react';
import type { Permission } from '../auth/permissions';
import { useCan, useProfile } from '../auth/session';
import { Loading } from '../components/Loading';

/** Guard shows a page only to roles that may see it, and "Not allowed" to the others. */
export function Guard({ permission, children }: { permission: Permission; children: ReactNode }) {
  const profile = useProfile();
  const allowed = useCan(permission);
  if (profile.isPending) return <Loading />;
  if (!allowed) {
    return (
      <section className="page">
        <h1>Not allowed</h1>
        <p>Your role ({profile.data?.role ?? 'unknown'}) cannot open this page.</p>
      </section>
    );
  }
  return <Suspense fallback={<Loading />}>{children}</Suspense>;
}
