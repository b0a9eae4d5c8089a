package api_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/internal/config"
	"github.com/ordermill/ordermill/internal/testenv/apitest"
	"github.com/ordermill/ordermill/workers"
)

func sign(body []byte, secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// deliver posts a webhook the way Shopify does.
func deliver(t *testing.T, env *apitest.Env, path, shop, topic, id string, body []byte, hmacHeader string) *http.Response {
	t.Helper()
	h := []string{"X-Shopify-Shop-Domain", shop, "X-Shopify-Webhook-Id", id, "X-Shopify-Event-Id", "ev-" + id,
		"X-Shopify-Triggered-At", "2025-11-24T15:00:00Z", "X-Shopify-API-Version", "2025-01"}
	if topic != "" {
		h = append(h, "X-Shopify-Topic", topic)
	}
	if hmacHeader != "" {
		h = append(h, "X-Shopify-Hmac-Sha256", hmacHeader)
	}
	return env.Do(t, "POST", path, "", body, h...)
}

const orderBody = `{"id":5000000000000000123,"name":"#1001","email":"a@example.test","currency":"JPY",
"created_at":"2025-11-24T10:00:00+09:00","updated_at":"2025-11-24T10:00:00+09:00","financial_status":"paid",
"total_price":"3000","subtotal_price":"3000",
"line_items":[{"id":9000000000000000001,"variant_id":44020394000103,"sku":null,"title":"Mug","quantity":2,"price":"1500"}]}`

func TestWebhookCaptureAndShops(t *testing.T) {
	const shop = "capture.myshopify.com"
	env := apitest.New(t, func(c *config.Config) { c.WebhookMaxBytes = 4096 })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	workersDone := make(chan error, 1)
	// Only the webhook processor: the email worker has no SES here and would
	// dead-letter the welcome emails this test's users cause.
	go func() {
		workersDone <- workers.NewRouter(env.Platform.WorkersConfig(), workers.Webhooks(env.Platform.WebhookProcessor())).Run(ctx)
	}()
	defer func() { cancel(); <-workersDone }()

	owner := env.UserToken(t, shop, domain.RoleOwner)
	staff := env.UserToken(t, shop, domain.RoleStaff)
	auditor := env.UserToken(t, shop, domain.RoleAuditor)

	// Before registration the shop is unknown: 401, nothing stored.
	body := []byte(orderBody)
	apitest.Problem(t, deliver(t, env, "/webhooks/shopify", shop, "orders/create", "w-early", body, sign(body, "s1")), http.StatusUnauthorized)

	register := map[string]any{"domain": shop, "name": "Capture", "currency": "JPY", "webhook_secrets": []string{"s1"}, "access_token": "shpat_x"}
	apitest.Problem(t, env.Do(t, "POST", "/api/v1/shops", staff, register), http.StatusForbidden)
	apitest.Problem(t, env.Do(t, "POST", "/api/v1/shops", owner, map[string]any{"domain": "other.myshopify.com", "name": "O",
		"currency": "USD", "webhook_secrets": []string{"x"}, "access_token": "y"}), http.StatusForbidden)
	resp := env.Do(t, "POST", "/api/v1/shops", owner, register)
	if text := apitest.ReadBody(t, resp); resp.StatusCode != http.StatusCreated || strings.Contains(text, "s1") || strings.Contains(text, "shpat_x") {
		t.Fatalf("register: %d %s", resp.StatusCode, text)
	}
	apitest.Problem(t, env.Do(t, "POST", "/api/v1/shops", owner, register), http.StatusConflict)
	apitest.Problem(t, env.Do(t, "GET", "/api/v1/shops", auditor, nil), http.StatusForbidden)
	if text := apitest.ReadBody(t, env.Do(t, "GET", "/api/v1/shops", owner, nil)); !strings.Contains(text, `"webhook_secrets":1`) || strings.Contains(text, "s1\"") {
		t.Errorf("list shops: %s", text)
	}

	// A verified webhook is stored byte-exact with its headers, once.
	if r := deliver(t, env, "/webhooks/shopify", shop, "orders/create", "w-1", body, sign(body, "s1")); r.StatusCode != http.StatusOK {
		t.Fatalf("valid webhook: %d %s", r.StatusCode, apitest.ReadBody(t, r))
	}
	if r := deliver(t, env, "/webhooks/shopify", shop, "orders/create", "w-1", body, sign(body, "s1")); !strings.Contains(apitest.ReadBody(t, r), "duplicate") {
		t.Error("a repeated webhook id was not answered as a duplicate")
	}
	events, err := env.Platform.Store.ReadStream(context.Background(), domain.WebhookStream(shop, "w-1"), 1)
	if err != nil || len(events) < 1 || events[0].Type != "webhook.received" {
		t.Fatalf("webhook stream: %v, %v", events, err)
	}
	d, _ := domain.DecodeEvent(events[0].Type, events[0].Data)
	wh := d.(domain.WebhookReceived)
	if !bytes.Equal(wh.Body, body) || wh.Topic != "orders/create" || wh.EventID != "ev-w-1" || wh.HMAC != sign(body, "s1") ||
		wh.Headers["X-Shopify-Hmac-Sha256"] != "" || wh.Headers["X-Shopify-Topic"] != "orders/create" {
		t.Errorf("stored webhook = %+v", wh)
	}
	if events[0].Metadata.CorrelationID == "" {
		t.Error("webhook has no correlation id")
	}

	// Bad or missing signatures, also on compliance topics, are refused and not stored.
	tampered := bytes.Replace(body, []byte(`"3000"`), []byte(`"1"`), 1)
	for name, r := range map[string]*http.Response{
		"wrong secret":   deliver(t, env, "/webhooks/shopify", shop, "orders/create", "w-bad1", body, sign(body, "nope")),
		"missing":        deliver(t, env, "/webhooks/shopify", shop, "orders/create", "w-bad2", body, ""),
		"tampered body":  deliver(t, env, "/webhooks/shopify", shop, "orders/create", "w-bad3", tampered, sign(body, "s1")),
		"compliance":     deliver(t, env, "/webhooks/shopify", shop, "shop/redact", "w-bad4", body, "garbage"),
		"unknown shop":   deliver(t, env, "/webhooks/shopify", "nobody.myshopify.com", "orders/create", "w-bad5", body, sign(body, "s1")),
		"invalid domain": deliver(t, env, "/webhooks/shopify", "not a domain", "orders/create", "w-bad6", body, sign(body, "s1")),
	} {
		if r.StatusCode != http.StatusUnauthorized || r.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %d %s", name, r.StatusCode, r.Header.Get("Content-Type"))
		}
	}
	for _, id := range []string{"w-bad1", "w-bad2", "w-bad3", "w-bad4"} {
		if _, err := env.Platform.Store.ReadStream(context.Background(), domain.WebhookStream(shop, id), 1); err == nil {
			t.Errorf("refused webhook %s was stored", id)
		}
	}
	big := bytes.Repeat([]byte("x"), 5000)
	apitest.Problem(t, deliver(t, env, "/webhooks/shopify", shop, "orders/create", "w-big", big, sign(big, "s1")), http.StatusRequestEntityTooLarge)

	// Seed-style paths carry the topic; a malformed body with a valid signature is kept and fails.
	malformed := []byte(`{"id":"not-a-number"`)
	if r := deliver(t, env, "/webhooks/orders/updated", shop, "", "w-2", malformed, sign(malformed, "s1")); r.StatusCode != http.StatusOK {
		t.Fatalf("seed path: %d", r.StatusCode)
	}

	// Rotation: both secrets verify while two are active; the retired one stops.
	apitest.Problem(t, env.Do(t, "PATCH", "/api/v1/shops/"+shop, staff, map[string]any{"webhook_secrets": []string{"s2"}}), http.StatusForbidden)
	if r := env.Do(t, "PATCH", "/api/v1/shops/"+shop, owner, map[string]any{"webhook_secrets": []string{"s2", "s1"}}); r.StatusCode != http.StatusOK {
		t.Fatalf("rotate: %d %s", r.StatusCode, apitest.ReadBody(t, r))
	}
	inv := []byte(`{"inventory_item_id":46120394000103,"location_id":65094860801,"available":7,"updated_at":"2025-11-24T10:00:00Z"}`)
	for i, s := range []string{"s1", "s2"} {
		if r := deliver(t, env, "/webhooks/shopify", shop, "inventory_levels/update", "w-inv"+s, inv, sign(inv, s)); r.StatusCode != http.StatusOK {
			t.Errorf("secret %d of 2: %d", i+1, r.StatusCode)
		}
	}
	env.Do(t, "PATCH", "/api/v1/shops/"+shop, owner, map[string]any{"webhook_secrets": []string{"s2"}})
	apitest.Problem(t, deliver(t, env, "/webhooks/shopify", shop, "orders/create", "w-old", body, sign(body, "s1")), http.StatusUnauthorized)

	// The log: processed and failed webhooks, readable by the auditor.
	var list struct {
		Items []struct {
			ID        string  `json:"id"`
			WebhookID string  `json:"webhook_id"`
			Status    string  `json:"status"`
			Error     string  `json:"error"`
			Topic     string  `json:"topic"`
			OrderID   *string `json:"order_id"`
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		apitest.Decode(t, env.Do(t, "GET", "/api/v1/webhooks?limit=10", auditor, nil), &list)
		done := len(list.Items) == 4
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
	byID := map[string]string{}
	var failedID, orderWebhook string
	for _, it := range list.Items {
		byID[it.WebhookID] = it.Status
		if it.Status == "failed" {
			failedID = it.ID
			if it.Error == "" || it.Topic != "orders/updated" {
				t.Errorf("failed webhook = %+v", it)
			}
		}
		if it.WebhookID == "w-1" {
			orderWebhook = it.ID
			if it.OrderID == nil {
				t.Error("processed order webhook names no order")
			}
		}
	}
	if byID["w-1"] != "processed" || byID["w-2"] != "failed" || byID["w-invs1"] != "processed" {
		t.Errorf("statuses = %v", byID)
	}
	apitest.Decode(t, env.Do(t, "GET", "/api/v1/webhooks?status=failed", auditor, nil), &list)
	if len(list.Items) != 1 || list.Items[0].WebhookID != "w-2" {
		t.Errorf("status filter: %+v", list.Items)
	}
	var page1, page2 struct {
		Items      []struct{ ID string }
		NextCursor *string `json:"next_cursor"`
	}
	apitest.Decode(t, env.Do(t, "GET", "/api/v1/webhooks?limit=3", auditor, nil), &page1)
	if page1.NextCursor == nil {
		t.Fatal("no cursor after a full page")
	}
	apitest.Decode(t, env.Do(t, "GET", "/api/v1/webhooks?limit=3&cursor="+*page1.NextCursor, auditor, nil), &page2)
	if len(page1.Items) != 3 || len(page2.Items) != 1 || page2.NextCursor != nil {
		t.Errorf("pages: %d then %d", len(page1.Items), len(page2.Items))
	}

	var detail struct {
		BodyBase64 string            `json:"body_base64"`
		Headers    map[string]string `json:"headers"`
		Signature  string            `json:"signature"`
		Outcomes   []struct{ Type string }
	}
	// w-1 was signed with s1, retired since: no active secret signs it now.
	apitest.Decode(t, env.Do(t, "GET", "/api/v1/webhooks/"+orderWebhook, auditor, nil), &detail)
	if raw, _ := base64.StdEncoding.DecodeString(detail.BodyBase64); !bytes.Equal(raw, body) || detail.Headers["X-Shopify-Topic"] != "orders/create" ||
		detail.Signature != "invalid" || len(detail.Outcomes) != 2 {
		t.Errorf("detail = %+v", detail)
	}
	// Processed once; the duplicate delivery is recorded, before or after that.
	var outcomes []string
	for _, o := range detail.Outcomes {
		outcomes = append(outcomes, o.Type)
	}
	if slices.Sort(outcomes); !slices.Equal(outcomes, []string{"webhook.duplicate_received", "webhook.processed"}) {
		t.Errorf("outcomes %v, want the duplicate and one processed", outcomes)
	}
	apitest.Problem(t, env.Do(t, "GET", "/api/v1/webhooks/00000000-0000-4000-8000-000000000000", auditor, nil), http.StatusNotFound)

	// Redelivery: forbidden to the auditor, a no-op on a processed webhook,
	// a new attempt on a failed one (which fails again: the body is still broken).
	apitest.Problem(t, env.Do(t, "POST", "/api/v1/webhooks/"+orderWebhook+"/redeliver", auditor, nil), http.StatusForbidden)
	var outcome struct {
		Status      string
		AlreadyDone bool `json:"already_done"`
	}
	apitest.Decode(t, env.Do(t, "POST", "/api/v1/webhooks/"+orderWebhook+"/redeliver", staff, nil), &outcome)
	if outcome.Status != "processed" || !outcome.AlreadyDone {
		t.Errorf("redeliver processed: %+v", outcome)
	}
	apitest.Decode(t, env.Do(t, "POST", "/api/v1/webhooks/"+failedID+"/redeliver", staff, nil), &outcome)
	if outcome.Status != "failed" || outcome.AlreadyDone {
		t.Errorf("redeliver failed: %+v", outcome)
	}
	if events, _ := env.Platform.Store.ReadStream(context.Background(), domain.WebhookStream(shop, "w-1"), 1); len(events) != 3 {
		t.Errorf("processed webhook has %d events after redelivery, want 3 (received, duplicate, processed)", len(events))
	}

	// Dead letters: none here; requeue of a missing one is 404, and auditors may not requeue.
	if text := apitest.ReadBody(t, env.Do(t, "GET", "/api/v1/dead-letters", auditor, nil)); !strings.Contains(text, `"items":[]`) {
		t.Errorf("dead letters: %s", text)
	}
	apitest.Problem(t, env.Do(t, "POST", "/api/v1/dead-letters/1/requeue", auditor, nil), http.StatusForbidden)
	apitest.Problem(t, env.Do(t, "POST", "/api/v1/dead-letters/1/requeue", staff, nil), http.StatusNotFound)
}
