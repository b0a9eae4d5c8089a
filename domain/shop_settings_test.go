package domain

import (
	"errors"
	"testing"
	"time"
)

func shopWith(t *testing.T, events ...Event) *Shop {
	t.Helper()
	registered, err := RegisterShop(demoShop, "Demo", "USD", 0, t0)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewShopFromHistory(roundTrip(t, append(registered, events...)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestShopSettingsAreOffByDefaultAndChangeOnce(t *testing.T) {
	s := shopWith(t)
	if s.Settings().ShopifyOrderConfirmations {
		t.Fatal("Shopify order confirmations are on by default")
	}
	on := ShopSettings{ShopifyOrderConfirmations: true}
	evs, err := s.ChangeSettings(on, t0)
	if err != nil || len(evs) != 1 {
		t.Fatalf("ChangeSettings = %v, %v", evs, err)
	}
	s.Apply(evs[0])
	if !s.Settings().ShopifyOrderConfirmations {
		t.Fatal("setting not applied")
	}
	if again, err := s.ChangeSettings(on, t0.Add(time.Minute)); err != nil || len(again) != 0 {
		t.Fatalf("same settings again = %v, %v; want no events", again, err)
	}
	if _, err := (&Shop{}).ChangeSettings(on, t0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("settings of an unknown shop: %v", err)
	}
}

func TestOrderConfirmationRules(t *testing.T) {
	optedIn := shopWith(t, ShopSettingsChanged{Settings: ShopSettings{ShopifyOrderConfirmations: true}, ChangedAt: t0})
	uninstalled := shopWith(t, ShopUninstalled{UninstalledAt: t0})
	for _, tt := range []struct {
		name string
		c    OrderConfirmation
		want bool
	}{
		{"created in Ordermill", OrderConfirmation{Source: SourceAPI, Shop: shopWith(t)}, true},
		{"created in Ordermill, shop without history", OrderConfirmation{Source: SourceAPI}, true},
		{"Shopify order, default settings", OrderConfirmation{Source: SourceShopify, Shop: shopWith(t)}, false},
		{"Shopify order, shop without history", OrderConfirmation{Source: SourceShopify}, false},
		{"Shopify order, shop opted in", OrderConfirmation{Source: SourceShopify, Shop: optedIn}, true},
		{"test order of an opted-in shop", OrderConfirmation{Source: SourceShopify, Test: true, Shop: optedIn}, false},
		{"arrived cancelled at an opted-in shop", OrderConfirmation{Source: SourceShopify, ArrivedCancelled: true, Shop: optedIn}, false},
		{"uninstalled shop", OrderConfirmation{Source: SourceAPI, Shop: uninstalled}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, why := tt.c.Send()
			if got != tt.want || (!got && why == "") {
				t.Fatalf("Send() = %v, %q; want %v with a reason when not sent", got, why, tt.want)
			}
		})
	}
}
