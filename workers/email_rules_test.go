package workers_test

import (
	"bytes"
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/shopify"
	"github.com/ordermill/ordermill/workers"
)

// Order confirmations go out for orders created in Ordermill, and for
// Shopify orders only where the shop opted in; never for test orders, orders
// that arrive cancelled or after the shop uninstalled the app. Each order.placed is
// handed to the worker directly, so what SES received is final.
func TestOrderConfirmationRules(t *testing.T) {
	s := newStack(t)
	sim := startSimulator(t)
	worker := workers.NewEmailWorker(s.store, workers.NewMailer(workers.MailerConfig{Endpoint: sim, From: "orders@ordermill.test"}), nil)
	registered, err := domain.RegisterShop(testShop, "Test shop", "USD", 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	s.append(t, domain.ShopStream(testShop), testShop, eventstore.NoStream, registered...)
	line := domain.PlacedLine{ID: "1", SKU: "MUG", Title: "Mug", Quantity: 1, UnitPrice: 1250}
	shopifyID := int64(5_000_000_000_000_000_000)
	shopifyOrder := func(name string, cancelled bool) eventstore.Event {
		t.Helper()
		shopifyID++
		id := domain.ShopifyOrderID(testShop, shopifyID)
		now := time.Now()
		events, err := domain.PlaceOrder(domain.PlaceOrderCommand{
			OrderID: id, Shop: testShop, Name: name, ShopifyID: shopifyID, Source: domain.SourceShopify,
			Email: "grace@example.test", Currency: "USD", Lines: []domain.PlacedLine{line},
			Subtotal: 1250, Total: 1250, PlacedAt: now, ShopifyUpdatedAt: now,
		})
		if err != nil {
			t.Fatal(err)
		}
		if cancelled { // the first snapshot Shopify sent was already cancelled
			events = append(events, domain.OrderCancelled{Reason: "customer", CancelledAt: now})
		}
		return s.append(t, domain.OrderStream(id), testShop, eventstore.NoStream, events...)[0]
	}
	var sent []string
	deliver := func(placed eventstore.Event, subject string, want bool) {
		t.Helper()
		if err := worker.Handler().Handle(context.Background(), placed); err != nil {
			t.Fatal(err)
		}
		if want {
			sent = append(sent, subject)
		}
		var got []string
		for _, m := range sesMessages(t, sim) {
			got = append(got, m.Subject)
		}
		if !slices.Equal(got, sent) {
			t.Fatalf("after %s: SES has %v, want %v", subject, got, sent)
		}
	}

	deliver(placeOrder(t, s, "#1", "grace@example.test", time.Now(), line), "Order #1 confirmed", true)
	deliver(shopifyOrder("#2", false), "Order #2 confirmed", false)

	s.append(t, domain.ShopStream(testShop), testShop, eventstore.AnyVersion,
		domain.ShopSettingsChanged{Settings: domain.ShopSettings{ShopifyOrderConfirmations: true}, ChangedAt: time.Now()})
	deliver(shopifyOrder("#3", false), "Order #3 confirmed", true)
	deliver(shopifyOrder("#4", true), "Order #4 confirmed", false)
	later := shopifyOrder("#5", false)
	history, err := s.store.ReadStream(s.ctx, later.StreamID, 1)
	if err != nil {
		t.Fatal(err)
	}
	// Cancelled by a later change: it did not arrive cancelled.
	s.append(t, later.StreamID, testShop, eventstore.Exact(int64(len(history))), domain.OrderCancelled{Reason: "customer", CancelledAt: time.Now()})
	deliver(later, "Order #5 confirmed", true)

	// A Shopify test order (the published sample with "test": true).
	body, err := os.ReadFile("../shopify/testdata/order.json")
	if err != nil {
		t.Fatal(err)
	}
	snap, err := shopify.DecodeOrder(bytes.Replace(body, []byte(`{`), []byte(`{"test": true, `), 1))
	if err != nil || !snap.Test {
		t.Fatalf("test order: %+v, %v", snap.Test, err)
	}
	events, err := (&domain.Order{}).ApplyShopifySnapshot(snap, testShop)
	if err != nil {
		t.Fatal(err)
	}
	deliver(s.append(t, domain.OrderStream(domain.ShopifyOrderID(testShop, snap.ID)), testShop, eventstore.NoStream, events...)[0],
		"Order "+snap.Name+" confirmed", false)

	s.append(t, domain.ShopStream(testShop), testShop, eventstore.AnyVersion, domain.ShopUninstalled{UninstalledAt: time.Now()})
	deliver(shopifyOrder("#6", false), "Order #6 confirmed", false)
	deliver(placeOrder(t, s, "#7", "grace@example.test", time.Now(), line), "Order #7 confirmed", false)
}
