package domain

import (
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"
)

// Lifecycle states of shops, users and API tokens, as reported in a TransitionError.
const (
	StatusActive      Status = "active"
	StatusUninstalled Status = "uninstalled"
	StatusDeactivated Status = "deactivated"
	StatusRevoked     Status = "revoked"
)

// shopDomain matches the permanent domain Shopify sends in X-Shopify-Shop-Domain;
// custom storefront domains never identify a tenant.
var shopDomain = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}\.myshopify\.com$`)

// ValidShopDomain reports whether s is a lower-case shop domain like demo.myshopify.com.
func ValidShopDomain(s string) bool { return shopDomain.MatchString(s) }

// ValidEmail reports whether s has the shape local@domain.tld. It checks shape
// only; whether mail arrives is for the mail system to find out.
func ValidEmail(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || len(local) > 64 || len(s) > 254 || strings.Contains(domain, "@") {
		return false
	}
	if strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return false
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" {
			return false
		}
	}
	return true
}

// ShopRegistered records that a shop installed the app; the shop domain is
// the tenant id. ShopifyID, Shopify's id of the shop, is 0 when not given.
type ShopRegistered struct {
	Shop         string    `json:"shop"`
	Name         string    `json:"name"`
	Currency     string    `json:"currency"`
	ShopifyID    int64     `json:"shopify_id,omitempty"`
	RegisteredAt time.Time `json:"registered_at"`
}

// ShopUninstalled records that a shop removed the app.
type ShopUninstalled struct {
	UninstalledAt time.Time `json:"uninstalled_at"`
}

// ShopReinstalled records that a shop that had removed the app installed it
// again; its history and data resume.
type ShopReinstalled struct {
	ReinstalledAt time.Time `json:"reinstalled_at"`
}

// UserRegistered records a new user of a shop. It carries no credential:
// the password hash lives only in the mutable users table, so the log, its
// streams and its exports never hold it. Events stored before this carried
// "password_hash"; readers withhold it (eventstore/withheld.go).
type UserRegistered struct {
	UserID       uuid.UUID `json:"user_id"`
	Shop         string    `json:"shop"`
	Email        string    `json:"email"`
	Name         string    `json:"name"`
	Role         Role      `json:"role"`
	RegisteredAt time.Time `json:"registered_at"`
}

// UserRoleChanged records a user's new role.
type UserRoleChanged struct {
	Role      Role      `json:"role"`
	ChangedAt time.Time `json:"changed_at"`
}

// UserDeactivated records that a user may no longer sign in.
type UserDeactivated struct {
	DeactivatedAt time.Time `json:"deactivated_at"`
}

// APITokenCreated records a new API token. Only the SHA-256 of the secret is
// kept; Prefix is the start of the secret, shown so users can tell tokens apart.
type APITokenCreated struct {
	TokenID   uuid.UUID `json:"token_id"`
	Shop      string    `json:"shop"`
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	TokenHash string    `json:"token_hash"`
	Prefix    string    `json:"prefix"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	CreatedAt time.Time `json:"created_at"`
}

// APITokenRevoked records that a token may no longer be used.
type APITokenRevoked struct {
	RevokedAt time.Time `json:"revoked_at"`
}

// EventType implements Event.
func (ShopRegistered) EventType() string { return "shop.registered" }

// EventType implements Event.
func (ShopUninstalled) EventType() string { return "shop.uninstalled" }

// EventType implements Event.
func (ShopReinstalled) EventType() string { return "shop.reinstalled" }

// EventType implements Event.
func (UserRegistered) EventType() string { return "user.registered" }

// EventType implements Event.
func (UserRoleChanged) EventType() string { return "user.role_changed" }

// EventType implements Event.
func (UserDeactivated) EventType() string { return "user.deactivated" }

// EventType implements Event.
func (APITokenCreated) EventType() string { return "api_token.created" }

// EventType implements Event.
func (APITokenRevoked) EventType() string { return "api_token.revoked" }

// Shop is the tenant aggregate. Reinstalling after an uninstall is not modelled.
type Shop struct {
	domain, name, currency string
	registeredAt           time.Time
	uninstalledAt          time.Time
	reinstalledAt          time.Time
	version                int
}

// RegisterShop validates a new shop and returns its shop.registered event.
// shopifyID is Shopify's id of the shop, 0 when unknown; webhooks that name
// their shop are checked against it.
func RegisterShop(domain, name, currency string, shopifyID int64, at time.Time) ([]Event, error) {
	var f fieldErrors
	if !ValidShopDomain(domain) {
		f.add("shop", "must be a shop domain like demo.myshopify.com")
	}
	name = strings.TrimSpace(name)
	if name == "" {
		f.add("name", "is required")
	}
	if !IsCurrencyCode(currency) {
		f.add("currency", "must be a three-letter ISO 4217 code")
	}
	if shopifyID < 0 {
		f.add("shopify_id", "must be positive")
	}
	if at.IsZero() {
		f.add("registered_at", "is required")
	}
	if err := f.err(); err != nil {
		return nil, err
	}
	return []Event{ShopRegistered{Shop: domain, Name: name, Currency: currency, ShopifyID: shopifyID, RegisteredAt: at.UTC()}}, nil
}

// NewShopFromHistory rebuilds a shop from its stream.
func NewShopFromHistory(events []Event) (*Shop, error) {
	if len(events) == 0 {
		return nil, fmt.Errorf("shop history: %w", ErrNotFound)
	}
	if _, ok := events[0].(ShopRegistered); !ok {
		return nil, fmt.Errorf("shop history starts with %s, want shop.registered", events[0].EventType())
	}
	s := &Shop{}
	for _, e := range events {
		switch e.(type) {
		case ShopRegistered, ShopUninstalled, ShopReinstalled:
		default:
			return nil, fmt.Errorf("shop history holds %s: %w", e.EventType(), ErrUnknownEventType)
		}
		s.Apply(e)
	}
	return s, nil
}

// Apply changes the shop's state by one event.
func (s *Shop) Apply(e Event) {
	switch e := e.(type) {
	case ShopRegistered:
		s.domain, s.name, s.currency = e.Shop, e.Name, e.Currency
		s.registeredAt = e.RegisteredAt.UTC()
	case ShopUninstalled:
		s.uninstalledAt = e.UninstalledAt.UTC()
	case ShopReinstalled:
		s.uninstalledAt = time.Time{}
		s.reinstalledAt = e.ReinstalledAt.UTC()
	}
	s.version++
}

// Uninstall records that the shop removed the app.
func (s *Shop) Uninstall(at time.Time) ([]Event, error) {
	if s.version == 0 {
		return nil, fmt.Errorf("shop: %w", ErrNotFound)
	}
	if !s.Installed() {
		return nil, &TransitionError{From: StatusUninstalled, Action: "uninstall"}
	}
	if at.IsZero() {
		return nil, invalid("uninstalled_at", "is required")
	}
	if at.Before(s.reinstalledAt) {
		return nil, nil // a late app/uninstalled from before the shop installed again
	}
	return []Event{ShopUninstalled{UninstalledAt: at.UTC()}}, nil
}

// Reinstall records that a shop that had removed the app installed it again.
// Installing over a live installation is no change, so it returns no event.
func (s *Shop) Reinstall(at time.Time) ([]Event, error) {
	if s.version == 0 {
		return nil, fmt.Errorf("shop: %w", ErrNotFound)
	}
	if s.Installed() {
		return nil, nil
	}
	if at.IsZero() {
		return nil, invalid("reinstalled_at", "is required")
	}
	return []Event{ShopReinstalled{ReinstalledAt: at.UTC()}}, nil
}

// Domain returns the shop domain, which is the tenant id.
func (s *Shop) Domain() string { return s.domain }

// Name returns the shop's display name.
func (s *Shop) Name() string { return s.name }

// Currency returns the shop's currency code.
func (s *Shop) Currency() string { return s.currency }

// RegisteredAt returns when the shop installed the app.
func (s *Shop) RegisteredAt() time.Time { return s.registeredAt }

// Installed reports whether the shop is registered and has not uninstalled the app.
func (s *Shop) Installed() bool { return s.version > 0 && s.uninstalledAt.IsZero() }

// Version returns the number of events applied.
func (s *Shop) Version() int { return s.version }

// RegisterUserCommand is the input of RegisterUser. Password is the chosen
// password in clear, checked against the password policy; the caller hashes
// it once the command is accepted and keeps the hash out of every event.
type RegisterUserCommand struct {
	UserID   uuid.UUID
	Shop     string
	Email    string
	Name     string
	Role     Role
	Password string
	At       time.Time
}

// User is a person who signs in to one shop.
type User struct {
	id           uuid.UUID
	shop         string
	email        string
	name         string
	role         Role
	passwordHash string
	deactivated  bool
	version      int
}

// RegisterUser validates a new user, the password policy included, and
// returns its user.registered event. The email is lower-cased so sign-in does
// not depend on how it was typed.
func RegisterUser(cmd RegisterUserCommand) ([]Event, error) {
	var f fieldErrors
	if cmd.UserID == uuid.Nil {
		f.add("user_id", "is required")
	}
	if !ValidShopDomain(cmd.Shop) {
		f.add("shop", "must be a shop domain like demo.myshopify.com")
	}
	email := strings.ToLower(strings.TrimSpace(cmd.Email))
	if !ValidEmail(email) {
		f.add("email", "is not an email address")
	}
	name := strings.TrimSpace(cmd.Name)
	if name == "" {
		f.add("name", "is required")
	}
	if _, err := ParseRole(string(cmd.Role)); err != nil {
		f.add("role", "must be %q, %q or %q", RoleOwner, RoleStaff, RoleAuditor)
	}
	checkPassword(&f, cmd.Password, email)
	if cmd.At.IsZero() {
		f.add("registered_at", "is required")
	}
	if err := f.err(); err != nil {
		return nil, err
	}
	return []Event{UserRegistered{
		UserID: cmd.UserID, Shop: cmd.Shop, Email: email, Name: name, Role: cmd.Role, RegisteredAt: cmd.At.UTC(),
	}}, nil
}

// UserRecord is a user as the users table keeps it: the state its events
// lead to, and the password hash, which no event carries.
type UserRecord struct {
	ID           uuid.UUID
	Shop         string
	Email        string
	Name         string
	Role         Role
	Active       bool
	Version      int
	PasswordHash string
}

// UserFromRecord restores a user from its users-table row, for sign-in.
func UserFromRecord(r UserRecord) *User {
	return &User{
		id: r.ID, shop: r.Shop, email: r.Email, name: r.Name, role: r.Role, passwordHash: r.PasswordHash,
		deactivated: !r.Active, version: r.Version,
	}
}

// NewUserFromHistory rebuilds a user from its stream. Events carry no
// password hash, so such a user never passes CheckPassword: sign-in restores
// users with UserFromRecord.
func NewUserFromHistory(events []Event) (*User, error) {
	if len(events) == 0 {
		return nil, fmt.Errorf("user history: %w", ErrNotFound)
	}
	if _, ok := events[0].(UserRegistered); !ok {
		return nil, fmt.Errorf("user history starts with %s, want user.registered", events[0].EventType())
	}
	u := &User{}
	for _, e := range events {
		switch e.(type) {
		case UserRegistered, UserRoleChanged, UserDeactivated:
		default:
			return nil, fmt.Errorf("user history holds %s: %w", e.EventType(), ErrUnknownEventType)
		}
		u.Apply(e)
	}
	return u, nil
}

// Apply changes the user's state by one event.
func (u *User) Apply(e Event) {
	switch e := e.(type) {
	case UserRegistered:
		u.id, u.shop, u.email, u.name = e.UserID, e.Shop, e.Email, e.Name
		u.role = e.Role
	case UserRoleChanged:
		u.role = e.Role
	case UserDeactivated:
		u.deactivated = true
	}
	u.version++
}

func (u *User) requireActive(action string) error {
	if u.version == 0 {
		return fmt.Errorf("user: %w", ErrNotFound)
	}
	if u.deactivated {
		return &TransitionError{From: StatusDeactivated, Action: action}
	}
	return nil
}

// ChangeRole gives the user another role; the same role yields no events.
func (u *User) ChangeRole(role Role, at time.Time) ([]Event, error) {
	if err := u.requireActive("change role"); err != nil {
		return nil, err
	}
	if _, err := ParseRole(string(role)); err != nil {
		return nil, err
	}
	if at.IsZero() {
		return nil, invalid("changed_at", "is required")
	}
	if role == u.role {
		return nil, nil
	}
	return []Event{UserRoleChanged{Role: role, ChangedAt: at.UTC()}}, nil
}

// Deactivate stops the user from signing in; it cannot be undone.
func (u *User) Deactivate(at time.Time) ([]Event, error) {
	if err := u.requireActive("deactivate"); err != nil {
		return nil, err
	}
	if at.IsZero() {
		return nil, invalid("deactivated_at", "is required")
	}
	return []Event{UserDeactivated{DeactivatedAt: at.UTC()}}, nil
}

// CheckPassword reports whether pw matches the user's password hash. It is
// false for a deactivated user, so a sign-in check cannot forget that case;
// the hash is compared even then, so the answer takes as long either way and
// does not tell which accounts are deactivated.
func (u *User) CheckPassword(pw string) bool {
	match := bcrypt.CompareHashAndPassword([]byte(u.passwordHash), []byte(pw)) == nil
	return match && u.version > 0 && !u.deactivated
}

// ID returns the user's id.
func (u *User) ID() uuid.UUID { return u.id }

// Shop returns the domain of the shop the user belongs to.
func (u *User) Shop() string { return u.shop }

// Email returns the user's lower-cased email.
func (u *User) Email() string { return u.email }

// Name returns the user's display name.
func (u *User) Name() string { return u.name }

// Role returns the user's role.
func (u *User) Role() Role { return u.role }

// Active reports whether the user is registered and not deactivated.
func (u *User) Active() bool { return u.version > 0 && !u.deactivated }

// Version returns the number of events applied.
func (u *User) Version() int { return u.version }

// CreateAPITokenCommand is the input of CreateAPIToken.
type CreateAPITokenCommand struct {
	TokenID   uuid.UUID
	Shop      string
	Name      string
	Role      Role
	TokenHash string    // hex SHA-256 of the secret
	Prefix    string    // start of the secret, shown to users
	ExpiresAt time.Time // zero: never expires
	At        time.Time
}

// APIToken is a credential for integrations, scoped to a shop and a role.
type APIToken struct {
	id        uuid.UUID
	shop      string
	name      string
	role      Role
	tokenHash string
	prefix    string
	expiresAt time.Time
	revoked   bool
	version   int
}

// maxPrefixLen keeps the shown part of a secret too short to be used as one.
const maxPrefixLen = 12

// CreateAPIToken validates a new token and returns its api_token.created event.
func CreateAPIToken(cmd CreateAPITokenCommand) ([]Event, error) {
	var f fieldErrors
	if cmd.TokenID == uuid.Nil {
		f.add("token_id", "is required")
	}
	if !ValidShopDomain(cmd.Shop) {
		f.add("shop", "must be a shop domain like demo.myshopify.com")
	}
	name := strings.TrimSpace(cmd.Name)
	if name == "" {
		f.add("name", "is required")
	}
	if _, err := ParseRole(string(cmd.Role)); err != nil {
		f.add("role", "must be %q, %q or %q", RoleOwner, RoleStaff, RoleAuditor)
	}
	if b, err := hex.DecodeString(cmd.TokenHash); err != nil || len(b) != 32 || strings.ToLower(cmd.TokenHash) != cmd.TokenHash {
		f.add("token_hash", "must be a lower-case hex SHA-256")
	}
	if cmd.Prefix == "" || len(cmd.Prefix) > maxPrefixLen || strings.IndexFunc(cmd.Prefix, unicode.IsSpace) >= 0 {
		f.add("prefix", "must be 1 to %d characters without spaces", maxPrefixLen)
	}
	if cmd.At.IsZero() {
		f.add("created_at", "is required")
	}
	if !cmd.ExpiresAt.IsZero() && !cmd.ExpiresAt.After(cmd.At) {
		f.add("expires_at", "must be after the creation time")
	}
	if err := f.err(); err != nil {
		return nil, err
	}
	return []Event{APITokenCreated{
		TokenID: cmd.TokenID, Shop: cmd.Shop, Name: name, Role: cmd.Role, TokenHash: cmd.TokenHash,
		Prefix: cmd.Prefix, ExpiresAt: cmd.ExpiresAt.UTC(), CreatedAt: cmd.At.UTC(),
	}}, nil
}

// APITokenRecord is a token as the api_tokens table keeps it.
type APITokenRecord struct {
	ID        uuid.UUID
	Shop      string
	Name      string
	Role      Role
	TokenHash string
	Prefix    string
	ExpiresAt time.Time // zero: never expires
	Revoked   bool
	Version   int
}

// APITokenFromRecord restores a token from its api_tokens row, to
// authenticate a request without reading its stream.
func APITokenFromRecord(r APITokenRecord) *APIToken {
	return &APIToken{
		id: r.ID, shop: r.Shop, name: r.Name, role: r.Role, tokenHash: r.TokenHash, prefix: r.Prefix,
		expiresAt: r.ExpiresAt.UTC(), revoked: r.Revoked, version: r.Version,
	}
}

// NewAPITokenFromHistory rebuilds a token from its stream.
func NewAPITokenFromHistory(events []Event) (*APIToken, error) {
	if len(events) == 0 {
		return nil, fmt.Errorf("api token history: %w", ErrNotFound)
	}
	if _, ok := events[0].(APITokenCreated); !ok {
		return nil, fmt.Errorf("api token history starts with %s, want api_token.created", events[0].EventType())
	}
	t := &APIToken{}
	for _, e := range events {
		switch e.(type) {
		case APITokenCreated, APITokenRevoked:
		default:
			return nil, fmt.Errorf("api token history holds %s: %w", e.EventType(), ErrUnknownEventType)
		}
		t.Apply(e)
	}
	return t, nil
}

// Apply changes the token's state by one event.
func (t *APIToken) Apply(e Event) {
	switch e := e.(type) {
	case APITokenCreated:
		t.id, t.shop, t.name, t.role = e.TokenID, e.Shop, e.Name, e.Role
		t.tokenHash, t.prefix, t.expiresAt = e.TokenHash, e.Prefix, e.ExpiresAt.UTC()
	case APITokenRevoked:
		t.revoked = true
	}
	t.version++
}

// Revoke makes the token unusable; revoking twice is a TransitionError.
func (t *APIToken) Revoke(at time.Time) ([]Event, error) {
	if t.version == 0 {
		return nil, fmt.Errorf("api token: %w", ErrNotFound)
	}
	if t.revoked {
		return nil, &TransitionError{From: StatusRevoked, Action: "revoke"}
	}
	if at.IsZero() {
		return nil, invalid("revoked_at", "is required")
	}
	return []Event{APITokenRevoked{RevokedAt: at.UTC()}}, nil
}

// Usable reports whether the token may authenticate a request at now.
func (t *APIToken) Usable(now time.Time) bool {
	return t.version > 0 && !t.revoked && (t.expiresAt.IsZero() || now.Before(t.expiresAt))
}

// UsableBy is Usable for a token that derives from owner, the user who made
// it (or made the token that made it). A token has no more authority than
// its owner: it stops working when the owner is deactivated or given a role
// that does not cover the token's.
func (t *APIToken) UsableBy(owner *User, now time.Time) bool {
	return t.Usable(now) && t.backedBy(owner)
}

// RevokeForOwner revokes the token when owner, the user it derives from, no
// longer backs it (see UsableBy); a backed or already revoked token yields
// no events.
func (t *APIToken) RevokeForOwner(owner *User, at time.Time) ([]Event, error) {
	if t.revoked || t.backedBy(owner) {
		return nil, nil
	}
	return t.Revoke(at)
}

func (t *APIToken) backedBy(owner *User) bool {
	return owner.Active() && owner.Shop() == t.shop && owner.Role().Covers(t.role)
}

// ID returns the token's id.
func (t *APIToken) ID() uuid.UUID { return t.id }

// Shop returns the domain of the shop the token acts for.
func (t *APIToken) Shop() string { return t.shop }

// Name returns the token's display name.
func (t *APIToken) Name() string { return t.name }

// Role returns the role the token acts with.
func (t *APIToken) Role() Role { return t.role }

// TokenHash returns the hex SHA-256 of the token's secret.
func (t *APIToken) TokenHash() string { return t.tokenHash }

// Prefix returns the start of the secret shown to users.
func (t *APIToken) Prefix() string { return t.prefix }

// ExpiresAt returns when the token expires, or the zero time if never.
func (t *APIToken) ExpiresAt() time.Time { return t.expiresAt }

// Revoked reports whether the token was revoked.
func (t *APIToken) Revoked() bool { return t.revoked }

// Version returns the number of events applied.
func (t *APIToken) Version() int { return t.version }
