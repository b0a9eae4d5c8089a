package api_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/shops"
	"github.com/ordermill/ordermill/internal/testenv/apitest"
	"github.com/ordermill/ordermill/workers"
)

const (
	forgedShop   = "forged.myshopify.com"
	forgedShopID = 954889
	// Shopify signs every shop's webhooks with the app's secret.
	appSecret = "one-app-secret"
)

// genuineBodies are what Shopify sends forgedShop (or shop) for each topic,
// in Shopify's sample shapes; the order belongs to the customer the privacy
// webhooks name.
func genuineBodies(shop string, shopID int) map[string]string {
	id, domain := strconv.Itoa(shopID), `"`+shop+`"`
	return map[string]string{
		"orders/create": `{"id":299938,"name":"#1001","email":"john@example.com","currency":"USD",` +
			`"created_at":"2025-11-24T10:00:00-05:00","updated_at":"2025-11-24T10:00:00-05:00","financial_status":"paid",` +
			`"total_price":"30.00","subtotal_price":"30.00",` +
			`"customer":{"id":191167,"first_name":"John","last_name":"Smith","email":"john@example.com"},` +
			`"line_items":[{"id":466157049,"variant_id":39072856,"sku":"MUG-1","title":"Mug","quantity":2,"price":"15.00"}]}`,
		"shop/redact": `{"shop_id": ` + id + `, "shop_domain": ` + domain + `}`,
		"customers/redact": `{"shop_id": ` + id + `, "shop_domain": ` + domain + `, "customer": {"id": 191167, "email": "john@example.com", ` +
			`"phone": "555-625-1199"}, "orders_to_redact": [299938, 280263, 220458]}`,
		"customers/data_request": `{"shop_id":` + id + `,"shop_domain":` + domain + `,"orders_requested":[299938,280263,220458],` +
			`"customer":{"id":191167,"email":"john@example.com","phone":"555-625-1199"},"data_request":{"id":9999}}`,
		"app/uninstalled": `{"id":` + id + `,"name":"Super Toys","email":"super@supertoys.com","domain":"supertoys.example",` +
			`"country_code":"US","currency":"USD","iana_timezone":"America/New_York","shop_owner":"John Smith","plan_name":"basic",` +
			`"myshopify_domain":` + domain + `}`,
	}
}

type webhookLogRow struct {
	WebhookID string `json:"webhook_id"`
	Topic     string `json:"topic"`
	Status    string `json:"status"`
	Result    string `json:"result"`
	Error     string `json:"error"`
}

// waitOutcomes waits until the webhook log shows an outcome for every
// delivery named and returns their rows by webhook id.
func waitOutcomes(t *testing.T, env *apitest.Env, token string, webhookIDs ...string) map[string]webhookLogRow {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		var page struct{ Items []webhookLogRow }
		apitest.Decode(t, env.Do(t, "GET", "/api/v1/webhooks?limit=200", token, nil), &page)
		rows := map[string]webhookLogRow{}
		for _, r := range page.Items {
			if r.Status != "received" {
				rows[r.WebhookID] = r
			}
		}
		done := true
		for _, id := range webhookIDs {
			_, ok := rows[id]
			done = done && ok
		}
		if done {
			return rows
		}
		if time.Now().After(deadline) {
			t.Fatalf("no outcome for some of %v after a minute: %+v", webhookIDs, rows)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestForgedTopicsChangeNothing: Shopify's HMAC covers the body only, so a
// genuine body re-posted under another X-Shopify-Topic (or another shop's,
// signed with the same app secret) verifies. Each such delivery is recorded
// as failed with its reason and erases, uninstalls and changes nothing; the
// genuine body of each topic is still acted on.
func TestForgedTopicsChangeNothing(t *testing.T) {
	const neighbour, neighbourID = "neighbour.myshopify.com", 954890
	env := apitest.New(t)
	p := env.Platform
	runWebhookWorkers(t, env, workers.Eraser(p.Eraser()))
	ctx := context.Background()
	for _, s := range []struct {
		domain string
		id     int64
	}{{forgedShop, forgedShopID}, {neighbour, neighbourID}} {
		if _, err := p.App().RegisterShop(ctx, shops.Registration{Domain: s.domain, Name: "Shop", Currency: "USD", ShopifyID: s.id,
			WebhookSecrets: []string{appSecret}, AccessToken: "shpat_" + s.domain}, eventstore.Metadata{Actor: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	owner := env.UserToken(t, forgedShop, domain.RoleOwner)
	auditor := env.UserToken(t, forgedShop, domain.RoleAuditor)
	genuine, theirs := genuineBodies(forgedShop, forgedShopID), genuineBodies(neighbour, neighbourID)
	post := func(shop, topic, webhookID, body string) {
		t.Helper()
		if r := deliver(t, env, "/webhooks/shopify", shop, topic, webhookID, []byte(body), sign([]byte(body), appSecret)); r.StatusCode != http.StatusOK {
			t.Fatalf("%s as %s: %d %s", webhookID, topic, r.StatusCode, apitest.ReadBody(t, r))
		}
	}
	count := func(sql string, args ...any) int {
		t.Helper()
		var n int
		if err := p.Pool.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	type order struct {
		Email        string `json:"email"`
		CustomerName string `json:"customer_name"`
	}
	orders := func() []order {
		t.Helper()
		var page struct{ Items []order }
		apitest.Decode(t, env.Do(t, "GET", "/api/v1/orders", owner, nil), &page)
		return page.Items
	}
	installed := func() bool {
		t.Helper()
		var page struct{ Items []struct{ Installed bool } }
		apitest.Decode(t, env.Do(t, "GET", "/api/v1/shops", owner, nil), &page)
		if len(page.Items) != 1 {
			t.Fatalf("shops: %+v", page.Items)
		}
		return page.Items[0].Installed
	}

	// The genuine order is acted on: the read model names its customer.
	post(forgedShop, "orders/create", "genuine-order", genuine["orders/create"])
	if r := waitOutcomes(t, env, auditor, "genuine-order")["genuine-order"]; r.Status != "processed" || r.Result != "applied" {
		t.Fatalf("genuine order: %+v", r)
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	waitFor("the order in the read model", func() bool { return len(orders()) == 1 })
	var keys []string // the order's data keys
	rows, err := p.Pool.Query(ctx, `SELECT id::text FROM data_keys WHERE shop = $1 AND destroyed_at IS NULL`, forgedShop)
	if err == nil {
		keys, err = pgx.CollectRows(rows, pgx.RowTo[string])
	}
	if err != nil || len(keys) == 0 {
		t.Fatalf("the genuine order's data keys: %v, %v", keys, err)
	}

	// The genuine order's own events; the forgeries must add none.
	const acting = `SELECT count(*) FROM events WHERE event_type IN ('webhook.compliance_recorded', 'customer.redacted',
		'shop.redacted', 'shop.uninstalled', 'order.snapshot_applied')`
	acted := count(acting)

	// Every genuine body re-posted under every other topic, with a fresh id.
	targets := []string{"shop/redact", "customers/redact", "customers/data_request", "app/uninstalled", "orders/updated"}
	var forged []string
	want := map[string]string{} // webhook id → the start of its failure reason
	for _, topic := range targets {
		for sentAs, body := range genuine {
			if sentAs == topic || strings.HasPrefix(sentAs, "orders/") && strings.HasPrefix(topic, "orders/") {
				continue
			}
			id := "forged-" + strconv.Itoa(len(forged))
			post(forgedShop, topic, id, body)
			forged = append(forged, id)
			want[id] = "not a " + topic + " body of " + forgedShop + ": "
			if strings.HasPrefix(topic, "orders/") {
				want[id] = "invalid input: "
			}
		}
	}
	// The neighbour's genuine shop-wide webhooks, posted as this shop's.
	for _, topic := range []string{"shop/redact", "app/uninstalled"} {
		id := "neighbour-" + strings.ReplaceAll(topic, "/", "-")
		post(forgedShop, topic, id, theirs[topic])
		forged = append(forged, id)
		want[id] = "not a " + topic + " body of " + forgedShop + ": "
	}
	outcomes := waitOutcomes(t, env, auditor, forged...)
	for _, id := range forged {
		if r := outcomes[id]; r.Status != "failed" || !strings.HasPrefix(r.Error, want[id]) {
			t.Errorf("%s (%s): %s %q, want failed with %q…", id, r.Topic, r.Status, r.Error, want[id])
		}
	}
	if r := outcomes["neighbour-shop-redact"]; !strings.Contains(r.Error, `shop_domain: is "`+neighbour+`", not the signing shop `+forgedShop) ||
		!strings.Contains(r.Error, "shop_id: is 954890, not the id of the signing shop (954889)") {
		t.Errorf("the neighbour's shop/redact failed for %q", r.Error)
	}

	// Nothing was erased, uninstalled or changed.
	if n := count(`SELECT count(*) FROM data_keys WHERE id::text = ANY($1) AND destroyed_at IS NULL`, keys); n != len(keys) {
		t.Errorf("%d of the order's %d data keys live after the forgeries", n, len(keys))
	}
	if n := count(`SELECT count(*) FROM data_keys WHERE destroyed_at IS NOT NULL`); n != 0 {
		t.Errorf("%d data keys destroyed", n)
	}
	if o := orders(); len(o) != 1 || o[0].Email != "john@example.com" || o[0].CustomerName != "John Smith" {
		t.Errorf("orders after the forgeries: %+v", o)
	}
	if !installed() {
		t.Error("the shop is marked uninstalled")
	}
	if n := count(acting); n != acted {
		t.Errorf("the forgeries appended %d events that act", n-acted)
	}
	var requests struct{ Items []struct{ Topic string } }
	apitest.Decode(t, env.Do(t, "GET", "/api/v1/privacy/requests", owner, nil), &requests)
	if len(requests.Items) != 0 {
		t.Errorf("privacy requests after the forgeries: %+v", requests.Items)
	}

	// Each topic's genuine body is acted on.
	post(forgedShop, "customers/data_request", "genuine-request", genuine["customers/data_request"])
	post(forgedShop, "customers/redact", "genuine-redact", genuine["customers/redact"])
	outcomes = waitOutcomes(t, env, auditor, "genuine-request", "genuine-redact")
	for _, id := range []string{"genuine-request", "genuine-redact"} {
		if r := outcomes[id]; r.Status != "processed" || r.Result != "recorded" {
			t.Errorf("%s: %+v", id, r)
		}
	}
	apitest.Decode(t, env.Do(t, "GET", "/api/v1/privacy/requests", owner, nil), &requests)
	if len(requests.Items) != 2 {
		t.Errorf("privacy requests: %+v", requests.Items)
	}
	waitFor("the customer erased", func() bool {
		o := orders()
		return len(o) == 1 && o[0].Email == eventstore.Erased && o[0].CustomerName == eventstore.Erased
	})
	if n := count(`SELECT count(*) FROM data_keys WHERE shop = $1 AND subject = 'customer:191167' AND destroyed_at IS NOT NULL`, forgedShop); n != 1 {
		t.Errorf("%d destroyed keys of the redacted customer", n)
	}

	post(forgedShop, "app/uninstalled", "genuine-uninstall", genuine["app/uninstalled"])
	if r := waitOutcomes(t, env, auditor, "genuine-uninstall")["genuine-uninstall"]; r.Status != "processed" || r.Result != "applied" {
		t.Errorf("genuine uninstall: %+v", r)
	}
	waitFor("the shop marked uninstalled", func() bool { return !installed() })

	post(forgedShop, "shop/redact", "genuine-shop-redact", genuine["shop/redact"])
	if r := waitOutcomes(t, env, auditor, "genuine-shop-redact")["genuine-shop-redact"]; r.Status != "processed" || r.Result != "recorded" {
		t.Errorf("genuine shop/redact: %+v", r)
	}
	waitFor("the shop erased", func() bool {
		return count(`SELECT count(*) FROM events WHERE event_type = 'shop.redacted' AND tenant_id = $1`, forgedShop) == 1
	})
	// The neighbour, whose bodies were replayed, is untouched throughout.
	if n := count(`SELECT count(*) FROM events WHERE tenant_id = $1 AND event_type <> 'shop.registered'`, neighbour); n != 0 {
		t.Errorf("the neighbour has %d events", n)
	}
}
