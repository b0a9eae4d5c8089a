package shops

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ordermill/ordermill/shopify"
)

// SubscriptionCheck keeps every installed shop subscribed to the webhooks
// the platform processes: Shopify deletes a subscription whose deliveries
// keep failing, and a missed subscription means missed orders.
type SubscriptionCheck struct {
	Shops    *Registry
	Admin    *shopify.AdminClient
	URI      string        // the app's webhook endpoint
	Interval time.Duration // how often each shop is checked
	Log      *slog.Logger
}

// Run checks the shops that are due until ctx ends. Any number of
// processes may run it: each claims a shop for one interval, so a shop is
// checked by one of them at a time.
func (c SubscriptionCheck) Run(ctx context.Context) error {
	tick := min(max(c.Interval/10, time.Second), time.Minute)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		if _, err := c.CheckDue(ctx); err != nil && ctx.Err() == nil {
			c.Log.ErrorContext(ctx, "webhook subscription check", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// CheckDue checks every installed shop not checked within the interval and
// returns the topics it re-created, by shop. A shop whose check fails is
// due again at the next round.
func (c SubscriptionCheck) CheckDue(ctx context.Context) (map[string][]string, error) {
	created := map[string][]string{}
	var errs []error
	for {
		var shop string
		err := c.Shops.pool.QueryRow(ctx, `UPDATE shops SET subscriptions_checked_at = now()
			WHERE domain = (SELECT domain FROM shops WHERE installed AND (access_token IS NOT NULL OR token_grant = 'client_credentials')
				AND (subscriptions_checked_at IS NULL OR subscriptions_checked_at <= now() - $1::interval)
				ORDER BY subscriptions_checked_at NULLS FIRST LIMIT 1 FOR UPDATE SKIP LOCKED)
			RETURNING domain`, c.Interval).Scan(&shop)
		if errors.Is(err, pgx.ErrNoRows) {
			return created, errors.Join(errs...)
		}
		if err != nil {
			return created, errors.Join(append(errs, err)...)
		}
		made, err := c.check(ctx, shop)
		if len(made) > 0 {
			created[shop] = made
			c.Log.WarnContext(ctx, "webhook subscriptions re-created", "shop", shop, "topics", made)
		}
		if err != nil {
			errs = append(errs, err)
			// Due again next round rather than a whole interval later.
			if _, uerr := c.Shops.pool.Exec(ctx, `UPDATE shops SET subscriptions_checked_at = NULL WHERE domain = $1`, shop); uerr != nil {
				errs = append(errs, uerr)
			}
		}
		if ctx.Err() != nil {
			return created, ctx.Err()
		}
	}
}

func (c SubscriptionCheck) check(ctx context.Context, shop string) ([]string, error) {
	token, err := c.Shops.AccessToken(ctx, shop)
	if err != nil {
		return nil, err
	}
	return shopify.EnsureSubscriptions(ctx, c.Admin, shop, token, c.URI)
}
