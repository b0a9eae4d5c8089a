import type { ReactNode } from 'react';
import type { Permission } from '../auth/permissions';
import { useCan } from '../auth/session';

/** Can renders its children only for roles granted the permission; the server still enforces it. */
export function Can({ permission, children }: { permission: Permission; children: ReactNode }) {
  return useCan(permission) ? <>{children}</> : null;
}
