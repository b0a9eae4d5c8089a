package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/privacy"
)

// webhooks makes signed Shopify orders/create deliveries, each a new order
// with its own webhook id, as Shopify sends them.
type webhooks struct {
	run  string
	next atomic.Int64
}

func newWebhooks() *webhooks { return &webhooks{run: randomHex(4)} }

// delivery is one webhook: its headers (signature included) and raw body.
type delivery struct {
	orderID    int64
	customerID int64 // every delivery names a new customer
	header     http.Header
	body       []byte
}

func (w *webhooks) make() delivery {
	n := w.next.Add(1)
	// Shopify ids exceed 2^53; the run id keeps them unique across runs.
	runID, _ := strconv.ParseInt(w.run[:6], 16, 64)
	id := 6_000_000_000_000_000_000 + runID*10_000_000 + n
	customer := 7_000_000_000_000_000_000 + n
	body := orderJSON(id, int(n), customer)
	m := hmac.New(sha256.New, []byte(benchSecret))
	m.Write(body)
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "Shopify-Captain-Hook")
	h.Set("X-Shopify-Topic", "orders/create")
	h.Set("X-Shopify-Shop-Domain", benchShop)
	h.Set("X-Shopify-Webhook-Id", fmt.Sprintf("%s-%d", w.run, n))
	h.Set("X-Shopify-Event-Id", fmt.Sprintf("ev-%s-%d", w.run, n))
	h.Set("X-Shopify-Triggered-At", time.Now().UTC().Format(time.RFC3339Nano))
	h.Set("X-Shopify-Api-Version", "2025-01")
	h.Set("X-Shopify-Hmac-Sha256", base64.StdEncoding.EncodeToString(m.Sum(nil)))
	return delivery{orderID: id, customerID: customer, header: h, body: body}
}

// post delivers d to the server's webhook endpoint and expects 200.
func post(ctx context.Context, client *http.Client, base string, d delivery) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/webhooks/shopify", bytes.NewReader(d.body))
	if err != nil {
		return err
	}
	req.Header = d.header
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return statusError(resp, http.StatusOK)
}

// insertRows is the capture baseline: the rows capture stores for d, written
// by plain pgx with no HTTP, HMAC check or application code around them: the
// new customer's data key (same table and indexes, a wrapped key of the same
// size) and the webhook.received event (same event type, stream, data and
// metadata, into the same events table with its hash-chain trigger). Both
// INSERTs go in one round trip and one transaction (a batch is an implicit
// transaction), the least Postgres can do to store them durably. The body is
// stored unsealed, a few dozen bytes shorter than sealed.
func insertRows(ctx context.Context, pool *pgxpool.Pool, d delivery) error {
	headers := map[string]string{}
	for k := range d.header {
		headers[k] = d.header.Get(k)
	}
	shop, webhookID := d.header.Get("X-Shopify-Shop-Domain"), d.header.Get("X-Shopify-Webhook-Id")
	events, err := eventstore.Encode(shop, eventstore.Metadata{CorrelationID: webhookID, RequestID: webhookID,
		Actor: "shopify", Source: "webhook"}, domain.WebhookReceived{
		Shop: shop, Topic: "orders/create", WebhookID: webhookID, EventID: d.header.Get("X-Shopify-Event-Id"),
		TriggeredAt: d.header.Get("X-Shopify-Triggered-At"), APIVersion: "2025-01", Headers: headers,
		Body: d.body, ReceivedAt: time.Now().UTC()})
	if err != nil {
		return err
	}
	e := events[0]
	wrapped := make([]byte, wrappedKeySize)
	_, _ = rand.Read(wrapped)
	batch := &pgx.Batch{}
	batch.Queue(`INSERT INTO data_keys (id, shop, subject, wrapped_key) VALUES (gen_random_uuid(), $1, $2, $3)`,
		shop, privacy.CustomerSubject(d.customerID), wrapped)
	batch.Queue(`INSERT INTO events (event_id, stream_id, stream_version, event_type, tenant_id, data, metadata)
		VALUES (gen_random_uuid(), $1, 1, $2, $3, $4, $5)`,
		domain.WebhookStream(shop, webhookID), e.Type, e.Tenant, string(e.Data), e.Metadata)
	return pool.SendBatch(ctx, batch).Close()
}

// wrappedKeySize is a data key as the keyring stores it: 32 bytes sealed
// with AES-GCM under the master key (12-byte nonce, 16-byte tag).
const wrappedKeySize = 12 + 32 + 16

// orderJSON is a realistic orders/create body of about 1.5 KB: three lines,
// one without a SKU, a customer, Shopify's nulls and ids beyond 2^53.
func orderJSON(id int64, n int, customer int64) []byte {
	ts := time.Date(2026, 11, 24, 10, 0, 0, 0, time.FixedZone("EST", -5*3600)).Add(time.Duration(n) * time.Second).Format(time.RFC3339)
	line := 3_000_000_000_000_000_000 + (id-6_000_000_000_000_000_000)*4
	return fmt.Appendf(nil, `{"id":%d,"admin_graphql_api_id":"gid://shopify/Order/%d","name":"#%d","order_number":%d,`+
		`"email":"customer%d@example.test","currency":"USD","created_at":%q,"updated_at":%q,"cancelled_at":null,"cancel_reason":null,`+
		`"financial_status":"paid","fulfillment_status":null,"note":null,"tags":"","subtotal_price":"58.50","total_tax":"0.00","total_price":"58.50",`+
		`"customer":{"id":%d,"email":"customer%d@example.test","first_name":"Ada","last_name":"Lovelace","phone":"+15550000000"},`+
		`"line_items":[{"id":%d,"admin_graphql_api_id":"gid://shopify/LineItem/%d","variant_id":44020394000101,"sku":"BEAN-CHR","title":"Merino Beanie - Charcoal","quantity":1,"price":"29.00","fulfillable_quantity":1,"fulfillment_status":null},`+
		`{"id":%d,"admin_graphql_api_id":"gid://shopify/LineItem/%d","variant_id":44020394000103,"sku":"MUG-350","title":"Enamel Mug 350ml","quantity":1,"price":"14.50","fulfillable_quantity":1,"fulfillment_status":null},`+
		`{"id":%d,"admin_graphql_api_id":"gid://shopify/LineItem/%d","variant_id":44020394000104,"sku":null,"title":"Gift Card","quantity":1,"price":"15.00","fulfillable_quantity":1,"fulfillment_status":null}],`+
		`"fulfillments":[],"refunds":[]}`,
		id, id, 1000+n, 1000+n, n, ts, ts, customer, n, line+1, line+1, line+2, line+2, line+3, line+3)
}
