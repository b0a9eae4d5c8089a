import type { Role } from '../api/model';

// Mirrors domain/role.go. The server enforces it; the app uses it only to hide
// what a role cannot do, and prefers the permissions the profile reports.
export type Permission =
  | 'orders:read'
  | 'orders:write'
  | 'inventory:read'
  | 'inventory:write'
  | 'webhooks:read'
  | 'users:manage'
  | 'tokens:manage'
  | 'shops:manage'
  | 'audit'
  | 'customers:read'
  | 'operations:read';

const rolePermissions: Record<Role, Permission[]> = {
  owner: [
    'orders:read',
    'orders:write',
    'inventory:read',
    'inventory:write',
    'webhooks:read',
    'users:manage',
    'tokens:manage',
    'shops:manage',
    'audit',
    'customers:read',
    'operations:read',
  ],
  staff: [
    'orders:read',
    'orders:write',
    'inventory:read',
    'inventory:write',
    'webhooks:read',
    'customers:read',
    'operations:read',
  ],
  auditor: ['orders:read', 'inventory:read', 'webhooks:read', 'audit'],
};

export interface Grants {
  role: Role;
  permissions?: string[];
}

export function can(who: Grants | undefined, p: Permission): boolean {
  if (!who) return false;
  if (who.permissions && who.permissions.length > 0) return who.permissions.includes(p);
  return rolePermissions[who.role]?.includes(p) ?? false;
}
