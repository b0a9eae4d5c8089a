package api_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/shops"
	"github.com/ordermill/ordermill/internal/testenv/apitest"
	"github.com/ordermill/ordermill/workers"
)

// JSON that encoding/json would store other than as sent (a lone surrogate
// read as U+FFFD, the last of two equal keys) is refused: a request body
// with 400 problem+json naming the problem, and nothing stored; a signed
// webhook is kept byte-exact, as every signed delivery is, and recorded as
// failed with the reason, deriving nothing. A surrogate pair is fine.
func TestJSONNotStoredAsSentIsRefused(t *testing.T) {
	t.Parallel()
	const shop = "strict-json.myshopify.com"
	env, _ := newContractEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	workersDone := make(chan error, 1)
	go func() {
		workersDone <- workers.NewRouter(env.Platform.WorkersConfig(), workers.Webhooks(env.Platform.WebhookProcessor())).Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-workersDone })
	if _, err := env.Platform.App().RegisterShop(context.Background(), shops.Registration{Domain: shop, Name: "Strict", Currency: "JPY",
		WebhookSecrets: []string{"s1"}, AccessToken: "shpat_strict"}, eventstore.Metadata{Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	owner := env.UserToken(t, shop, domain.RoleOwner)

	order := func(fields string) string {
		return `{"currency":"JPY",` + fields + `,"lines":[{"sku":"MUG","title":"Mug","quantity":1,"unit_price":100}]}`
	}
	for _, tc := range []struct {
		name, body, detail, field string
	}{
		{"lone high surrogate", order(`"email":"a@example.test","customer_name":"Ada \ud800"`), "lone UTF-16 surrogate escape", ""},
		{"lone low surrogate in a line", `{"currency":"JPY","lines":[{"sku":"MUG","title":"\udc00","quantity":1,"unit_price":100}]}`, "lone UTF-16 surrogate escape", ""},
		{"duplicate key", order(`"email":"a@example.test","email":"b@example.test"`), "an object key given twice at byte", "email"},
		{"duplicate key in a line", `{"currency":"JPY","lines":[{"sku":"MUG","quantity":1,"quantity":500,"unit_price":100}]}`, "an object key given twice", "quantity"},
		{"duplicate key spelt with an escape", order(`"email":"a@example.test","\u0065mail":"b@example.test"`), "an object key given twice", "email"},
		{"escaped NUL", order(`"customer_name":"a\u0000b"`), "U+0000", ""},
		{"invalid UTF-8", order("\"customer_name\":\"caf\xe9\""), "invalid UTF-8 at byte", ""},
	} {
		p := apitest.Problem(t, env.Do(t, http.MethodPost, "/api/v1/orders", owner, tc.body), http.StatusBadRequest)
		if !strings.Contains(p.Detail, tc.detail) {
			t.Errorf("%s: detail %q, want it to say %q", tc.name, p.Detail, tc.detail)
		}
		if tc.field != "" && (len(p.Errors) != 1 || p.Errors[0].Field != tc.field) {
			t.Errorf("%s: field errors %+v, want %s", tc.name, p.Errors, tc.field)
		}
	}
	// A surrogate pair is one character, stored as that character.
	resp := env.Do(t, http.MethodPost, "/api/v1/orders", owner, order(`"email":"a@example.test","customer_name":"Ada \ud83d\ude00"`))
	var created struct {
		ID           string `json:"id"`
		CustomerName string `json:"customer_name"`
	}
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("surrogate pair: %d %s", resp.StatusCode, apitest.ReadBody(t, resp))
	}
	apitest.Decode(t, resp, &created)
	if created.CustomerName != "Ada 😀" {
		t.Errorf("surrogate pair stored as %q", created.CustomerName)
	}
	var orders int
	if err := env.Platform.Pool.QueryRow(context.Background(), `SELECT count(*) FROM events WHERE event_type = 'order.placed'`).Scan(&orders); err != nil || orders != 1 {
		t.Errorf("%d orders placed (%v), want only the valid one", orders, err)
	}

	// Webhooks: signed, so kept; refused by processing, with the reason.
	orderWebhook := func(id int64, customer string) []byte {
		return []byte(`{"id":` + strconv.FormatInt(id, 10) + `,"name":"#` + strconv.FormatInt(id, 10) + `","email":"c@example.test","currency":"JPY",
"created_at":"2025-11-24T10:00:00+09:00","updated_at":"2025-11-24T10:00:00+09:00","financial_status":"paid",
"total_price":"100","subtotal_price":"100","customer":` + customer + `,
"line_items":[{"id":9000000000000000001,"variant_id":44020394000103,"sku":"MUG","title":"Mug","quantity":1,"price":"100"}]}`)
	}
	webhooks := []struct {
		id     string
		body   []byte
		reason string // "" for processed
	}{
		{"w-lone", orderWebhook(5000000000000000001, `{"id":7001,"first_name":"Ada \ud800","last_name":"L"}`), "lone UTF-16 surrogate escape"},
		{"w-dup", orderWebhook(5000000000000000002, `{"id":7002,"first_name":"Ada","first_name":"Eve","last_name":"L"}`), "an object key given twice"},
		{"w-utf8", orderWebhook(5000000000000000003, "{\"id\":7003,\"first_name\":\"caf\xe9\",\"last_name\":\"L\"}"), "invalid UTF-8"},
		{"w-nul", orderWebhook(5000000000000000004, `{"id":7004,"first_name":"a\u0000","last_name":"L"}`), "U+0000"},
		{"w-pair", orderWebhook(5000000000000000005, `{"id":7005,"first_name":"Ada \ud83d\ude00","last_name":"L"}`), ""},
	}
	for _, w := range webhooks {
		if r := deliver(t, env, "/webhooks/shopify", shop, "orders/create", w.id, w.body, sign(w.body, "s1")); r.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", w.id, r.StatusCode, apitest.ReadBody(t, r))
		}
	}
	// Compliance topics, decoded apart from orders, are held to the same rule.
	redact := []byte(`{"shop_id":1,"shop_domain":"` + shop + `","shop_domain":"other.myshopify.com"}`)
	if r := deliver(t, env, "/webhooks/shopify", shop, "shop/redact", "w-redact-dup", redact, sign(redact, "s1")); r.StatusCode != http.StatusOK {
		t.Fatalf("shop/redact: %d", r.StatusCode)
	}
	webhooks = append(webhooks, struct {
		id     string
		body   []byte
		reason string
	}{"w-redact-dup", redact, "an object key given twice"})

	var list struct {
		Items []struct {
			ID        string `json:"id"`
			WebhookID string `json:"webhook_id"`
			Status    string `json:"status"`
			Error     string `json:"error"`
		} `json:"items"`
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		apitest.Decode(t, env.Do(t, http.MethodGet, "/api/v1/webhooks?limit=50", owner, nil), &list)
		done := len(list.Items) == len(webhooks)
		for _, it := range list.Items {
			done = done && it.Status != "received"
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("webhooks not processed: %+v", list.Items)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, w := range webhooks {
		i := -1
		for j, it := range list.Items {
			if it.WebhookID == w.id {
				i = j
			}
		}
		if i < 0 {
			t.Fatalf("%s not listed", w.id)
		}
		it := list.Items[i]
		if w.reason == "" && it.Status != "processed" || w.reason != "" && (it.Status != "failed" || !strings.Contains(it.Error, w.reason)) {
			t.Errorf("%s: %s %q, want reason %q", w.id, it.Status, it.Error, w.reason)
		}
		var detail struct {
			BodyBase64 string `json:"body_base64"`
		}
		apitest.Decode(t, env.Do(t, http.MethodGet, "/api/v1/webhooks/"+it.ID, owner, nil), &detail)
		if detail.BodyBase64 != base64.StdEncoding.EncodeToString(w.body) {
			t.Errorf("%s: the stored body is not byte-exact", w.id)
		}
	}
	var names []string
	rows, err := env.Platform.Pool.Query(context.Background(), `SELECT customer_name FROM orders_view WHERE shopify_id IS NOT NULL`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		_ = rows.Scan(&n)
		names = append(names, n)
	}
	if len(names) != 1 || names[0] != "Ada 😀 L" {
		t.Errorf("orders from webhooks: %q, want only the surrogate pair's", names)
	}
	var compliance int
	_ = env.Platform.Pool.QueryRow(context.Background(), `SELECT count(*) FROM events WHERE event_type = 'webhook.compliance_recorded'`).Scan(&compliance)
	if compliance != 0 {
		t.Errorf("a shop/redact with two shop domains was recorded for erasure")
	}
}
