package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/internal/testenv/apitest"
)

// TestDuplicateDeliveriesAreRecorded: a webhook delivered three times is
// stored once and processed once, and its stream records the two
// duplicates with when they came, each answered 200.
func TestDuplicateDeliveriesAreRecorded(t *testing.T) {
	const shop = "dupes.myshopify.com"
	env := apitest.New(t)
	owner := env.UserToken(t, shop, domain.RoleOwner)
	register := map[string]any{"domain": shop, "name": "Dupes", "currency": "JPY", "webhook_secrets": []string{"s1"}, "access_token": "shpat_x"}
	if r := env.Do(t, "POST", "/api/v1/shops", owner, register); r.StatusCode != http.StatusCreated {
		t.Fatalf("register: %d %s", r.StatusCode, apitest.ReadBody(t, r))
	}
	body := []byte(orderBody)
	for i, want := range []string{"accepted", "duplicate", "duplicate"} {
		r := deliver(t, env, "/webhooks/shopify", shop, "orders/create", "w-dup", body, sign(body, "s1"))
		if text := apitest.ReadBody(t, r); r.StatusCode != http.StatusOK || !strings.Contains(text, want) {
			t.Fatalf("delivery %d: %d %s, want 200 %s", i+1, r.StatusCode, text, want)
		}
	}
	events, err := env.Platform.Store.ReadStream(context.Background(), domain.WebhookStream(shop, "w-dup"), 1)
	if err != nil {
		t.Fatal(err)
	}
	var dups int
	for _, e := range events[1:] {
		if e.Type != "webhook.duplicate_received" {
			continue
		}
		dups++
		d, err := domain.DecodeEvent(e.Type, e.Data)
		if err != nil || d.(domain.WebhookDuplicateReceived).ReceivedAt.IsZero() {
			t.Errorf("duplicate event %s: %v", e.Data, err)
		}
	}
	if events[0].Type != "webhook.received" || dups != 2 {
		t.Errorf("stream: first %s, %d duplicates; want webhook.received and 2", events[0].Type, dups)
	}
}
