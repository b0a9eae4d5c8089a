package shops

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/shopify"
)

// Install methods as InstallStatus names them.
const (
	InstallOAuth             = "oauth"
	InstallTokenExchange     = "token_exchange"
	InstallClientCredentials = "client_credentials"
	InstallCLI               = "cli"          // ordermill shops add, with a token made by hand
	InstallAPI               = "api"          // POST /api/v1/shops, with a token made by hand
	InstallAccessToken       = "access_token" // a token made by hand, added some other way
)

// InstallStatus is how a shop is connected, for the merchant's settings
// page: never a token or secret.
type InstallStatus struct {
	Installed     bool
	UninstalledAt *time.Time
	Method        string
	Scopes        string
	// SubscriptionsCheckedAt is when the periodic check last found (or
	// re-created) every subscribed topic; nil before one succeeded, since a
	// failed check clears it.
	SubscriptionsCheckedAt *time.Time
	ReconciledAt           *time.Time // the last reconciliation run; nil before one
	ReconciliationError    string     // that run's error; empty when it succeeded
}

// InstallStatus reports how shop is installed.
func (r *Registry) InstallStatus(ctx context.Context, shop string) (InstallStatus, error) {
	shop = strings.ToLower(shop)
	var (
		st     InstallStatus
		grant  string
		source *string
	)
	// A token made by hand is told apart by the source that registered the shop.
	err := r.pool.QueryRow(ctx, `SELECT s.installed, s.uninstalled_at, s.token_grant, s.scopes, s.subscriptions_checked_at,
			rc.last_run_at, coalesce(rc.last_error, ''),
			(SELECT metadata->>'source' FROM events WHERE stream_id = $2 ORDER BY stream_version LIMIT 1)
		FROM shops s LEFT JOIN shopify_reconciliation rc ON rc.shop = s.domain
		WHERE s.domain = $1`, shop, domain.ShopStream(shop)).Scan(&st.Installed, &st.UninstalledAt, &grant, &st.Scopes,
		&st.SubscriptionsCheckedAt, &st.ReconciledAt, &st.ReconciliationError, &source)
	if errors.Is(err, pgx.ErrNoRows) {
		return st, fmt.Errorf("%s: %w", shop, ErrUnknownShop)
	}
	if err != nil {
		return st, fmt.Errorf("install status of %s: %w", shop, err)
	}
	st.Method = installMethod(grant, source)
	return st, nil
}

func installMethod(grant string, source *string) string {
	switch grant {
	case shopify.GrantAuthorizationCode:
		return InstallOAuth
	case shopify.GrantTokenExchange:
		return InstallTokenExchange
	case shopify.GrantClientCredentials:
		return InstallClientCredentials
	}
	if source != nil {
		switch *source {
		case "cli":
			return InstallCLI
		case "api":
			return InstallAPI
		}
	}
	return InstallAccessToken
}
