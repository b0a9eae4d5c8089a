package api_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ordermill/ordermill/audit"
	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/shops"
	"github.com/ordermill/ordermill/internal/testenv/apitest"
	"github.com/ordermill/ordermill/workers"
)

// runWebhookWorkers runs the webhook processor and the given handlers on the
// environment's platform until the test ends.
func runWebhookWorkers(t *testing.T, env *apitest.Env, more ...workers.Handler) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	handlers := append([]workers.Handler{workers.Webhooks(env.Platform.WebhookProcessor())}, more...)
	go func() { done <- workers.NewRouter(env.Platform.WorkersConfig(), handlers...).Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("workers: %v", err)
		}
	})
}

// TestStoredSignaturesAreNeverServed: Shopify signs the body only, so a
// read-only user who could read a stored X-Shopify-Hmac-Sha256 could post the
// body again under any topic. No API view hands one out, for webhooks
// captured now (signature sealed apart from the headers) or before
// (signature among the stored headers); the detail view says whether it holds.
func TestStoredSignaturesAreNeverServed(t *testing.T) {
	const shop, secret = "signatures.myshopify.com", "signatures-secret"
	env := apitest.New(t)
	runWebhookWorkers(t, env)
	ctx := context.Background()
	if _, err := env.Platform.App().RegisterShop(ctx, shops.Registration{Domain: shop, Name: "Signatures", Currency: "JPY",
		WebhookSecrets: []string{secret}, AccessToken: "shpat_sig"}, eventstore.Metadata{Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	owner := env.UserToken(t, shop, domain.RoleOwner)
	staff := env.UserToken(t, shop, domain.RoleStaff)
	auditor := env.UserToken(t, shop, domain.RoleAuditor)

	body := []byte(orderBody)
	current := sign(body, secret)
	if r := deliver(t, env, "/webhooks/shopify", shop, "orders/create", "sig-now", body, current); r.StatusCode != http.StatusOK {
		t.Fatalf("deliver: %d %s", r.StatusCode, apitest.ReadBody(t, r))
	}
	// A webhook as captured before signatures were kept apart: among the headers.
	legacyBody := []byte(`{"inventory_item_id":46120394000103,"location_id":65094860801,"available":7,"updated_at":"2025-11-24T10:00:00Z"}`)
	legacy := sign(legacyBody, secret)
	old, err := eventstore.Encode(shop, eventstore.Metadata{Source: "webhook"}, domain.WebhookReceived{
		Shop: shop, Topic: "inventory_levels/update", WebhookID: "sig-old",
		Headers: map[string]string{"X-Shopify-Hmac-Sha256": legacy, "X-Shopify-Topic": "inventory_levels/update"},
		Body:    legacyBody, ReceivedAt: time.Now().UTC()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Platform.Store.Append(ctx, domain.WebhookStream(shop, "sig-old"), eventstore.NoStream, old...); err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, w := range []string{"sig-now", "sig-old"} {
		ids[w] = waitWebhookRow(t, env, auditor, w)
	}

	// At rest, the new signature is sealed with the body.
	var stored string
	if err := env.Platform.Pool.QueryRow(ctx, `SELECT data::text FROM events WHERE stream_id = $1 AND stream_version = 1`,
		domain.WebhookStream(shop, "sig-now")).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stored, current) || !strings.Contains(stored, `"hmac": "sealed:v1:`) {
		t.Errorf("stored webhook.received does not seal its signature: %s", stored)
	}

	leaks := func(what, text string) {
		t.Helper()
		for name, sig := range map[string]string{"current": current, "legacy": legacy} {
			if strings.Contains(text, sig) {
				t.Errorf("%s serves the %s webhook's signature", what, name)
			}
		}
	}
	for role, token := range map[string]string{"owner": owner, "staff": staff, "auditor": auditor} {
		leaks(role+" webhook log", apitest.ReadBody(t, env.Do(t, "GET", "/api/v1/webhooks", token, nil)))
		for w, id := range ids {
			resp := env.Do(t, "GET", "/api/v1/webhooks/"+id, token, nil)
			text := apitest.ReadBody(t, resp)
			leaks(role+" detail of "+w, text)
			var detail struct {
				Signature string            `json:"signature"`
				Headers   map[string]string `json:"headers"`
			}
			if err := json.Unmarshal([]byte(text), &detail); err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("%s detail of %s: %d %s", role, w, resp.StatusCode, text)
			}
			if detail.Signature != "valid" || detail.Headers["X-Shopify-Topic"] == "" {
				t.Errorf("%s detail of %s: signature %q, headers %v", role, w, detail.Signature, detail.Headers)
			}
			for _, secretHeader := range []string{"", secret} {
				h := []string{}
				if secretHeader != "" {
					h = append(h, "X-Audit-Webhook-Secret", secretHeader)
				}
				leaks(role+" trace of "+w, apitest.ReadBody(t, env.Do(t, "GET", "/api/v1/audit/webhooks/"+shop+"/"+w, token, nil, h...)))
			}
		}
		for _, format := range []string{"jsonl", "csv"} {
			leaks(role+" "+format+" export", apitest.ReadBody(t, env.Do(t, "GET", "/api/v1/audit/export?format="+format, token, nil)))
		}
	}

	// The auditor still learns whether the signature holds under a secret.
	for secretHeader, valid := range map[string]bool{secret: true, "not-the-secret": false} {
		var trace audit.WebhookTrace
		apitest.Decode(t, env.Do(t, "GET", "/api/v1/audit/webhooks/"+shop+"/sig-old", auditor, nil, "X-Audit-Webhook-Secret", secretHeader), &trace)
		if trace.Signature == nil || trace.Signature.Valid != valid || string(trace.Webhook.Body) != string(legacyBody) {
			t.Errorf("trace with secret %q: %+v", secretHeader, trace.Signature)
		}
	}

	// The export keeps the chain checkable where the signature is sealed, and
	// withholds the plain-text one.
	sc := bufio.NewScanner(env.Do(t, "GET", "/api/v1/audit/export", auditor, nil).Body)
	sc.Buffer(nil, 1<<20)
	seen := map[string]bool{}
	for sc.Scan() {
		var l struct {
			EventID       uuid.UUID       `json:"event_id"`
			StreamID      string          `json:"stream_id"`
			StreamVersion int64           `json:"stream_version"`
			EventType     string          `json:"event_type"`
			SchemaVersion int             `json:"schema_version"`
			TenantID      string          `json:"tenant_id"`
			RecordedAt    time.Time       `json:"recorded_at"`
			Data          json.RawMessage `json:"data"`
			Metadata      json.RawMessage `json:"metadata"`
			PrevHash      string          `json:"prev_hash"`
			Hash          string          `json:"hash"`
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		if l.EventType != "webhook.received" {
			continue
		}
		prev, _ := hex.DecodeString(l.PrevHash)
		sum := sha256.Sum256(append(prev, eventstore.CanonicalBytes(l.EventID, l.StreamID, l.StreamVersion, l.EventType,
			l.SchemaVersion, l.TenantID, l.RecordedAt.UnixMicro(), string(l.Data), string(l.Metadata))...))
		recomputes := hex.EncodeToString(sum[:]) == l.Hash
		switch l.StreamID {
		case domain.WebhookStream(shop, "sig-now"):
			if !recomputes || !strings.Contains(string(l.Data), `"hmac": "sealed:v1:`) {
				t.Errorf("export of a new webhook: recomputes %v, data %s", recomputes, l.Data)
			}
		case domain.WebhookStream(shop, "sig-old"):
			if recomputes || !strings.Contains(string(l.Data), `"X-Shopify-Hmac-Sha256":"[withheld]"`) {
				t.Errorf("export of an older webhook: recomputes %v, data %s", recomputes, l.Data)
			}
		}
		seen[l.StreamID] = true
	}
	if len(seen) != 2 || sc.Err() != nil {
		t.Errorf("export held webhooks %v: %v", seen, sc.Err())
	}
}
