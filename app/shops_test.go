package app_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/ordermill/ordermill/app"
	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/secrets"
	"github.com/ordermill/ordermill/internal/shops"
	"github.com/ordermill/ordermill/internal/testenv"
	"github.com/ordermill/ordermill/shopify"
)

// Shopify's OAuth callback reached twice installs a new shop twice at once.
// Both installs succeed, the shop is registered once, and its row keeps the
// token of the install that lost the race and installed again after the
// other: the latest.
func TestConcurrentInstallsOfOneShop(t *testing.T) {
	ctx := context.Background()
	pool := testenv.Pool(t)
	key, err := secrets.NewKey(bytes.Repeat([]byte{7}, secrets.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	registry := shops.NewRegistry(pool, key)
	uses := app.New(eventstore.New(pool)).WithShops(registry)
	const shop = "twice.myshopify.com"

	// Both read the shop's empty stream before either appends: a lock on
	// the events table holds their appends until both wait on it.
	hold, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = hold.Rollback(ctx) }()
	if _, err := hold.Exec(ctx, `LOCK TABLE events IN SHARE MODE`); err != nil {
		t.Fatal(err)
	}
	type install struct {
		token   string
		created bool
		err     error
	}
	done := make(chan install, 2)
	for _, token := range []string{"shpat_one", "shpat_two"} {
		go func() {
			created, err := uses.InstallShop(ctx, shops.Installation{Shop: shop, Name: "Twice", Currency: "USD",
				Grant: shopify.GrantAuthorizationCode, Token: shopify.Token{AccessToken: token}, WebhookSecret: "app-secret"},
				eventstore.Metadata{Actor: "test"})
			done <- install{token, created, err}
		}()
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		var waiting int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d installs wait on the lock, want both", waiting)
		}
	}
	if err := hold.Rollback(ctx); err != nil {
		t.Fatal(err)
	}

	var latest string
	created := 0
	for range 2 {
		in := <-done
		if in.err != nil {
			t.Fatalf("install with %s: %v", in.token, in.err)
		}
		if in.created {
			created++
		} else {
			latest = in.token
		}
	}
	if created != 1 || latest == "" {
		t.Fatalf("%d installs created the shop, want 1", created)
	}
	events, err := eventstore.New(pool).ReadStream(ctx, domain.ShopStream(shop), 1)
	if err != nil || len(events) != 1 || events[0].Type != (domain.ShopRegistered{}).EventType() {
		t.Fatalf("the shop's stream: %d events (%v), want shop.registered once", len(events), err)
	}
	if got, err := registry.AccessToken(ctx, shop); err != nil || got != latest {
		t.Errorf("the shop's token is %q (%v), want the latest install's %q", got, err, latest)
	}
}
