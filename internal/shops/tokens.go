package shops

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ordermill/ordermill/shopify"
)

// RenewBefore is how long before it expires an access token is renewed:
// long enough that a call started with it does not outlive it.
const RenewBefore = 5 * time.Minute

// Renewer obtains fresh Admin API tokens from Shopify.
type Renewer interface {
	Refresh(ctx context.Context, shop, refreshToken string) (shopify.Token, error)
	ClientCredentials(ctx context.Context, shop, clientID, clientSecret string) (shopify.Token, error)
}

// SetRenewer sets what renews expiring tokens; the process wiring calls it once.
func (r *Registry) SetRenewer(rn Renewer) { r.renewer = rn }

// storedToken is a shop's token row, opened.
type storedToken struct {
	grant            string
	access           string
	expiresAt        *time.Time
	refresh          string
	refreshExpiresAt *time.Time
	clientID         string
	clientSecret     string
}

// due reports whether the token is missing or expires within RenewBefore.
func (t storedToken) due(now time.Time) bool {
	return t.access == "" || (t.expiresAt != nil && t.expiresAt.Sub(now) < RenewBefore)
}

func (r *Registry) open(sealed []byte, shop, field string) (string, error) {
	if sealed == nil {
		return "", nil
	}
	plain, err := r.key.Open(sealed, secretContext(shop, field))
	if err != nil {
		return "", fmt.Errorf("shop %s %s: %w", shop, field, err)
	}
	return string(plain), nil
}

// readToken reads the token row; lock takes the row lock, so that one
// process at a time renews a shop's token.
func (r *Registry) readToken(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, shop string, lock bool) (storedToken, error) {
	sql := `SELECT token_grant, access_token, access_token_expires_at, refresh_token, refresh_token_expires_at,
		coalesce(client_id, ''), client_secret FROM shops WHERE domain = $1`
	if lock {
		sql += ` FOR UPDATE`
	}
	var t storedToken
	var access, refresh, clientSecret []byte
	err := q.QueryRow(ctx, sql, shop).Scan(&t.grant, &access, &t.expiresAt, &refresh, &t.refreshExpiresAt, &t.clientID, &clientSecret)
	if errors.Is(err, pgx.ErrNoRows) {
		return t, fmt.Errorf("%s: %w", shop, ErrUnknownShop)
	}
	if err != nil {
		return t, err
	}
	if t.access, err = r.open(access, shop, "access_token"); err != nil {
		return t, err
	}
	if t.refresh, err = r.open(refresh, shop, "refresh_token"); err != nil {
		return t, err
	}
	t.clientSecret, err = r.open(clientSecret, shop, "client_secret")
	return t, err
}

// AccessToken returns a live Admin API access token of the shop. A token
// that expires within RenewBefore is renewed first, with its refresh token
// or, for the merchant's own app, the client-credentials grant; the row
// lock makes concurrent callers wait for one renewal and use its result.
// A shop without a token (not installed, or uninstalled) is
// shopify.ErrNotInstalled.
func (r *Registry) AccessToken(ctx context.Context, shop string) (string, error) {
	shop = strings.ToLower(shop)
	t, err := r.readToken(ctx, r.pool, shop, false)
	if err != nil {
		return "", err
	}
	if !t.due(r.now()) {
		return t.access, nil
	}
	err = pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		t, err = r.readToken(ctx, tx, shop, true)
		if err != nil || !t.due(r.now()) {
			return err // renewed by another process meanwhile
		}
		fresh, grant, err := r.renew(ctx, shop, t)
		if te := (*shopify.TokenError)(nil); errors.As(err, &te) && te.Status/100 == 4 {
			// Shopify refused the refresh token or the app's credentials:
			// only the merchant opening the app again can fix that.
			return fmt.Errorf("%s: %w: %w", shop, shopify.ErrNotInstalled, err)
		}
		if err != nil {
			return err
		}
		t.access = fresh.AccessToken
		return r.storeToken(ctx, tx, shop, grant, fresh)
	})
	if err != nil {
		return "", err
	}
	return t.access, nil
}

func (r *Registry) renew(ctx context.Context, shop string, t storedToken) (shopify.Token, string, error) {
	canRefresh := t.refresh != "" && (t.refreshExpiresAt == nil || t.refreshExpiresAt.After(r.now()))
	switch {
	case t.grant == shopify.GrantClientCredentials && t.clientID != "" && r.renewer != nil:
		tok, err := r.renewer.ClientCredentials(ctx, shop, t.clientID, t.clientSecret)
		return tok, t.grant, err
	case canRefresh && r.renewer != nil:
		tok, err := r.renewer.Refresh(ctx, shop, t.refresh)
		return tok, t.grant, err
	case t.access != "" && t.expiresAt != nil && t.expiresAt.After(r.now()):
		// Cannot renew, but the token still works for a while.
		return shopify.Token{AccessToken: t.access, ExpiresAt: *t.expiresAt, RefreshToken: t.refresh}, t.grant, nil
	}
	return shopify.Token{}, "", fmt.Errorf("%s: %w", shop, shopify.ErrNotInstalled)
}

// storeToken writes a token and what renews it, sealed.
func (r *Registry) storeToken(ctx context.Context, tx pgx.Tx, shop, grant string, t shopify.Token) error {
	var refresh []byte
	if t.RefreshToken != "" {
		refresh = r.key.Seal([]byte(t.RefreshToken), secretContext(shop, "refresh_token"))
	}
	_, err := tx.Exec(ctx, `UPDATE shops SET access_token = $2, access_token_expires_at = $3, refresh_token = $4,
		refresh_token_expires_at = $5, scopes = CASE WHEN $6 = '' THEN scopes ELSE $6 END, token_grant = $7, updated_at = now()
		WHERE domain = $1`, shop, r.key.Seal([]byte(t.AccessToken), secretContext(shop, "access_token")),
		optionalTime(t.ExpiresAt), refresh, optionalTime(t.RefreshExpiresAt), t.Scope, grant)
	return err
}

func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// TokenState is what is known of a shop's access token, never the token.
type TokenState struct {
	Grant            string
	HasToken         bool
	ExpiresAt        *time.Time
	RefreshExpiresAt *time.Time
	Scopes           string
}

// TokenState reports the shop's token state (for checks and tests).
func (r *Registry) TokenState(ctx context.Context, shop string) (TokenState, error) {
	var s TokenState
	err := r.pool.QueryRow(ctx, `SELECT token_grant, access_token IS NOT NULL, access_token_expires_at, refresh_token_expires_at, scopes
		FROM shops WHERE domain = $1`, strings.ToLower(shop)).Scan(&s.Grant, &s.HasToken, &s.ExpiresAt, &s.RefreshExpiresAt, &s.Scopes)
	if errors.Is(err, pgx.ErrNoRows) {
		return s, fmt.Errorf("%s: %w", shop, ErrUnknownShop)
	}
	return s, err
}

// MarkUninstalled records in the table that the shop removed the app and
// destroys its tokens, which Shopify has revoked anyway; the fact itself is
// the shop.uninstalled event. Repeating it changes nothing. The merchant's
// own app credentials stay: they are the merchant's, not a grant to us.
func (r *Registry) MarkUninstalled(ctx context.Context, shop string, at time.Time) error {
	_, err := r.pool.Exec(ctx, `UPDATE shops SET installed = false, uninstalled_at = coalesce(uninstalled_at, $2),
		access_token = NULL, access_token_expires_at = NULL, refresh_token = NULL, refresh_token_expires_at = NULL,
		updated_at = now() WHERE domain = $1`, strings.ToLower(shop), at)
	return err
}

// Installation is a shop that granted the app access through OAuth or
// token exchange, with what Shopify told us about it.
type Installation struct {
	Shop      string
	Name      string
	Currency  string
	ShopifyID int64
	Grant     string // shopify.GrantAuthorizationCode or GrantTokenExchange
	Token     shopify.Token
	// WebhookSecret is the app's client secret: Shopify signs an app's
	// webhooks with it.
	WebhookSecret string
}

// StoreInstallation stores, in tx, the row of a shop that granted access:
// a new row for a shop registered in the same transaction (created), or
// the existing one resumed (reinstalled, or registered for development).
// The new token replaces the old, and the app's secret verifies the
// shop's webhooks. Call Forget once tx has committed.
func (r *Registry) StoreInstallation(ctx context.Context, tx pgx.Tx, in Installation, created bool, at time.Time) error {
	if created {
		err := r.Insert(ctx, tx, Registration{Domain: in.Shop, Name: in.Name, Currency: in.Currency, ShopifyID: in.ShopifyID,
			WebhookSecrets: []string{in.WebhookSecret}}, at)
		if err != nil {
			return err
		}
	} else if _, err := tx.Exec(ctx, `UPDATE shops SET installed = true, uninstalled_at = NULL, webhook_secrets = $2,
		shopify_id = coalesce(shopify_id, $3), updated_at = now() WHERE domain = $1`,
		in.Shop, r.sealSecrets(in.Shop, []string{in.WebhookSecret}), optionalID(in.ShopifyID)); err != nil {
		return err
	}
	return r.storeToken(ctx, tx, in.Shop, in.Grant, in.Token)
}

func optionalID(id int64) *int64 {
	if id <= 0 {
		return nil
	}
	return &id
}
