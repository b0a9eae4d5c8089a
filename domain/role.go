package domain

import "slices"

// Role is what a user or API token may do within its shop.
type Role string

// Roles.
const (
	RoleOwner   Role = "owner"
	RoleStaff   Role = "staff"
	RoleAuditor Role = "auditor"
)

// ParseRole accepts exactly the role names above.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleOwner, RoleStaff, RoleAuditor:
		return r, nil
	}
	return "", invalid("role", "must be %q, %q or %q", RoleOwner, RoleStaff, RoleAuditor)
}

// Permission is one thing the API checks before acting.
type Permission string

// Permissions.
const (
	PermReadOrders     Permission = "orders:read"
	PermWriteOrders    Permission = "orders:write"
	PermReadInventory  Permission = "inventory:read"
	PermWriteInventory Permission = "inventory:write"
	PermReadWebhooks   Permission = "webhooks:read"
	PermManageUsers    Permission = "users:manage"
	PermManageTokens   Permission = "tokens:manage"
	PermManageShops    Permission = "shops:manage"
	PermAudit          Permission = "audit"
	// PermReadCustomers shows customers' personal data (email addresses) in
	// clear; without it the app shows them masked.
	PermReadCustomers Permission = "customers:read"
	// PermOperations shows the platform's running figures (projection lag,
	// relay, streams) for the people who keep the shop's processing healthy.
	PermOperations Permission = "operations:read"
)

// rolePermissions is the whole authorisation policy, kept as data so it can be
// read and reviewed in one place. Auditors read everything and may audit, but
// change nothing. What spans every shop (rebuilding read models, verifying the
// whole log) is no role's: it is the platform operator's.
var rolePermissions = map[Role][]Permission{
	RoleOwner: {
		PermReadOrders, PermWriteOrders, PermReadInventory, PermWriteInventory, PermReadWebhooks,
		PermManageUsers, PermManageTokens, PermManageShops, PermAudit, PermReadCustomers, PermOperations,
	},
	RoleStaff: {
		PermReadOrders, PermWriteOrders, PermReadInventory, PermWriteInventory, PermReadWebhooks,
		PermReadCustomers, PermOperations,
	},
	RoleAuditor: {
		PermReadOrders, PermReadInventory, PermReadWebhooks, PermAudit,
	},
}

// Can reports whether the role grants p. Unknown roles grant nothing.
func (r Role) Can(p Permission) bool {
	return slices.Contains(rolePermissions[r], p)
}

// Permissions lists what the role grants, for display.
func (r Role) Permissions() []Permission {
	return slices.Clone(rolePermissions[r])
}

// Covers reports whether r grants everything other grants.
func (r Role) Covers(other Role) bool {
	for _, p := range rolePermissions[other] {
		if !r.Can(p) {
			return false
		}
	}
	return true
}
