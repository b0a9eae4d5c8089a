package privacy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ordermill/ordermill/audit"
	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/platform"
	"github.com/ordermill/ordermill/internal/privacy"
	"github.com/ordermill/ordermill/internal/shops"
	"github.com/ordermill/ordermill/internal/telemetry"
	"github.com/ordermill/ordermill/internal/testenv"
	"github.com/ordermill/ordermill/projections"
	"github.com/ordermill/ordermill/workers"
)

type simDelivery struct {
	WebhookID string `json:"webhook_id"`
	Topic     string `json:"topic"`
	Body      []byte `json:"body"`
	Status    int    `json:"status"`
}

type simCustomer struct {
	ID        int64  `json:"id"`
	Email     string `json:"email"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func count(ctx context.Context, t *testing.T, pool *pgxpool.Pool, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// dumpTables returns every row of every table in schema public as text.
func dumpTables(ctx context.Context, t *testing.T, pool *pgxpool.Pool, tables ...string) map[string]string {
	t.Helper()
	if tables == nil {
		rows, err := pool.Query(ctx, `SELECT table_name FROM information_schema.tables
			WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1`)
		if err != nil {
			t.Fatal(err)
		}
		if tables, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			t.Fatal(err)
		}
	}
	out := map[string]string{}
	for _, name := range tables {
		var text *string
		if err := pool.QueryRow(ctx, `SELECT string_agg(r::text, E'\n' ORDER BY r::text) FROM `+pgx.Identifier{name}.Sanitize()+` r`).Scan(&text); err != nil {
			t.Fatalf("dump %s: %v", name, err)
		}
		if text != nil {
			out[name] = *text
		}
	}
	return out
}

// After a customers/redact for one customer, nothing Ordermill keeps shows
// that customer's email or name, other customers are as they were, the
// hash chain verifies, rebuilt read models equal the scrubbed ones, and a
// data request exports exactly the requesting customer's orders.
func TestCustomerRedactErasesEverywhere(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const shop, secret = "erasure.myshopify.com", "erasure-webhook-secret"

	cfg := testenv.Config(t)
	prefix := cfg.StreamPrefix
	logs := &testenv.LogBuffer{}
	logger := slog.New(telemetry.ContextHandler{Handler: slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})})
	p, err := platform.Open(ctx, cfg, logger, false)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.App().RegisterShop(ctx, shops.Registration{Domain: shop, Name: "Erasure", Currency: "USD",
		WebhookSecrets: []string{secret}, AccessToken: "shpat_erasure"}, eventstore.Metadata{Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p.Handler())
	defer srv.Close()
	rolesCtx, stopRoles := context.WithCancel(ctx)
	roles := make(chan error, 2)
	go func() { roles <- p.Run(rolesCtx, []string{"relay", "projectors"}) }()
	eraser := p.Eraser()
	go func() {
		roles <- workers.NewRouter(p.WorkersConfig(), workers.Webhooks(p.WebhookProcessor()), workers.Eraser(eraser)).Run(rolesCtx)
	}()

	sim := testenv.StartSimulator(t)
	var created struct{ ID string }
	if code := sim.Do(t, "POST", "/_sim/runs", map[string]any{
		"scenario": "compliance", "shop": shop, "secret": secret, "target": srv.URL, "seed": 20250610,
		"orders": 40, "concurrency": 1,
	}, &created); code != 201 {
		t.Fatalf("start run: %d", code)
	}
	var run struct {
		Status     string        `json:"status"`
		Deliveries []simDelivery `json:"deliveries"`
	}
	waitFor(t, "the simulator run", func() bool {
		sim.Do(t, "GET", "/_sim/runs/"+created.ID+"?deliveries=false", nil, &run)
		return run.Status == "done"
	})
	sim.Do(t, "GET", "/_sim/runs/"+created.ID, nil, &run)

	// What the scenario sent: each customer's orders, the request and the redaction.
	customers := map[int64]simCustomer{}
	ordersOf := map[int64][]int64{}
	var (
		redact    struct{ Customer simCustomer }
		request   struct{ Customer simCustomer }
		redactedW string
		acked     int
	)
	for _, d := range run.Deliveries {
		if d.Status != 200 {
			t.Fatalf("delivery %s (%s) answered %d", d.WebhookID, d.Topic, d.Status)
		}
		acked++
		switch d.Topic {
		case "orders/create":
			var o struct {
				ID       int64       `json:"id"`
				Customer simCustomer `json:"customer"`
			}
			if err := json.Unmarshal(d.Body, &o); err != nil {
				t.Fatal(err)
			}
			customers[o.Customer.ID] = o.Customer
			ordersOf[o.Customer.ID] = append(ordersOf[o.Customer.ID], o.ID)
		case "customers/redact":
			_ = json.Unmarshal(d.Body, &redact)
		case "customers/data_request":
			_ = json.Unmarshal(d.Body, &request)
		}
	}
	gone := customers[redact.Customer.ID]
	if gone.Email == "" || request.Customer.ID == 0 || len(customers) < 3 {
		t.Fatalf("scenario lacks a redaction, a data request or enough customers: %+v %+v %d", gone, request.Customer, len(customers))
	}
	for _, d := range run.Deliveries {
		var o struct{ Customer simCustomer }
		if d.Topic == "orders/create" && json.Unmarshal(d.Body, &o) == nil && o.Customer.ID == gone.ID {
			redactedW = d.WebhookID
		}
	}
	t.Logf("%d deliveries, %d customers; erasing customer %d (%d orders), export for customer %d",
		len(run.Deliveries), len(customers), gone.ID, len(ordersOf[gone.ID]), request.Customer.ID)

	var orders int
	for _, ids := range ordersOf {
		orders += len(ids)
	}
	waitFor(t, "every webhook processed and the customer erased", func() bool {
		return count(ctx, t, p.Pool, `SELECT count(*) FROM webhooks_view WHERE shop = $1 AND status <> 'received'`, shop) == acked &&
			count(ctx, t, p.Pool, `SELECT count(*) FROM events WHERE event_type = 'customer.redacted'`) == 1
	})
	if n := count(ctx, t, p.Pool, `SELECT count(*) FROM webhooks_view WHERE shop = $1 AND status = 'failed'`, shop); n != 0 {
		t.Errorf("%d webhooks failed", n)
	}
	waitFor(t, "orders_view to hold every order, the erased ones scrubbed", func() bool {
		return count(ctx, t, p.Pool, `SELECT count(*) FROM orders_view WHERE shop = $1`, shop) == orders &&
			count(ctx, t, p.Pool, `SELECT count(*) FROM orders_view WHERE email = $1`, eventstore.Erased) == len(ordersOf[gone.ID])
	})
	// The rebuild below is compared with live tables, so every projector
	// must have applied every event first.
	waitFor(t, "every projector to catch up with the event store", func() bool {
		for _, pr := range projections.All(nil, prefix) {
			done, err := projections.CaughtUp(ctx, p.Pool, pr)
			if err != nil {
				t.Fatal(err)
			}
			if !done {
				return false
			}
		}
		return true
	})
	stopRoles()
	for range 2 {
		if err := <-roles; err != nil && ctx.Err() == nil && rolesCtx.Err() == nil {
			t.Fatal(err)
		}
	}

	// Running the erasure again (a redelivery) records nothing new and
	// drops an order the API cached meanwhile.
	var source eventstore.Event
	err = p.Pool.QueryRow(ctx, `SELECT event_id, stream_id, stream_version, event_type, data FROM events
		WHERE event_type = 'webhook.compliance_recorded' AND data ->> 'topic' = 'customers/redact'`).
		Scan(&source.ID, &source.StreamID, &source.StreamVersion, &source.Type, &source.Data)
	if err != nil {
		t.Fatal(err)
	}
	goneOrder := domain.ShopifyOrderID(shop, ordersOf[gone.ID][0])
	cached := projections.OrderCacheKey(prefix, goneOrder)
	if err := p.Redis.Set(ctx, cached, `{"email":"`+gone.Email+`"}`, time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if err := eraser.Handle(ctx, source); err != nil {
		t.Fatal(err)
	}
	if v := p.Redis.Get(ctx, cached).Val(); strings.Contains(v, gone.Email) {
		t.Errorf("the erasure left an order of the customer in the cache: %q", v)
	}
	redactions, err := p.Store.ReadStream(ctx, domain.RedactionStream(shop), 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(redactions) != 1 {
		t.Fatalf("%d erasures recorded, want 1", len(redactions))
	}
	var rec domain.CustomerRedacted
	if err := json.Unmarshal(redactions[0].Data, &rec); err != nil || rec.CustomerID != gone.ID ||
		len(rec.Orders) != len(ordersOf[gone.ID]) || rec.KeysDestroyed != 1 {
		t.Fatalf("customer.redacted %+v (%v), want customer %d with %d orders", rec, err, gone.ID, len(ordersOf[gone.ID]))
	}

	secretsOf := func(c simCustomer) []string { return []string{c.Email, c.FirstName + " " + c.LastName} }
	find := func(where, text string, needles []string) {
		t.Helper()
		for _, n := range needles {
			if strings.Contains(text, n) {
				t.Errorf("%s contains %q", where, n)
			}
		}
	}

	// The whole database, as text. The search finds what is there: the
	// other customers in orders_view, and nobody in clear in the events.
	dump := dumpTables(ctx, t, p.Pool)
	for table, text := range dump {
		find("table "+table, text, secretsOf(gone))
	}
	for id, c := range customers {
		if id != gone.ID && !strings.Contains(dump["orders_view"], c.Email) {
			t.Errorf("orders_view lacks customer %d's email: the search would miss a leak", id)
		}
		find("the stored events", dump["events"], secretsOf(c))
	}
	// Redis: the event streams and the order cache.
	keys, err := p.Redis.Keys(ctx, prefix+"*").Result()
	if err != nil || len(keys) == 0 {
		t.Fatalf("redis keys under the test prefix: %v, %v", keys, err)
	}
	for _, k := range keys {
		switch p.Redis.Type(ctx, k).Val() {
		case "stream":
			msgs, err := p.Redis.XRange(ctx, k, "-", "+").Result()
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range msgs {
				find("redis stream "+k, fmt.Sprint(m.Values), secretsOf(gone))
			}
		case "string":
			find("redis key "+k, p.Redis.Get(ctx, k).Val(), secretsOf(gone))
		}
	}
	// Every event, decrypted as the application reads it.
	var decrypted int
	for pos := eventstore.Start; ; {
		events, err := p.Store.ReadAll(ctx, pos, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(events) == 0 {
			break
		}
		for _, e := range events {
			find("event "+e.Type+" "+e.StreamID, string(e.Data), secretsOf(gone))
			decrypted++
		}
		pos = events[len(events)-1].Position
	}
	find("the test's log lines", logs.String(), secretsOf(gone))

	// Other customers are untouched.
	if n := count(ctx, t, p.Pool, `SELECT count(*) FROM orders_view WHERE shop = $1 AND email <> $2 AND email <> ''`, shop, eventstore.Erased); n != orders-len(ordersOf[gone.ID]) {
		t.Errorf("%d orders keep their email, want %d", n, orders-len(ordersOf[gone.ID]))
	}
	for id, c := range customers {
		if id == gone.ID {
			continue
		}
		if n := count(ctx, t, p.Pool, `SELECT count(*) FROM orders_view WHERE email = $1 AND customer_name = $2`,
			c.Email, c.FirstName+" "+c.LastName); n != len(ordersOf[id]) {
			t.Errorf("customer %d: %d orders show their email and name, want %d", id, n, len(ordersOf[id]))
		}
	}

	// The chain still verifies: erasure rewrote nothing.
	res, err := audit.New(p.Store).Verify(ctx, nil)
	if err != nil || len(res.Findings) != 0 || res.Events == 0 {
		t.Fatalf("verify after erasure: %d events, findings %v, %v", res.Events, res.Findings, err)
	}

	// The erased webhook's body is gone, which re-verification says.
	trace, err := audit.New(p.Store).TraceWebhook(ctx, shop, redactedW, []byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	if !trace.Signature.BodyErased || string(trace.Webhook.Body) != eventstore.Erased {
		t.Errorf("erased webhook trace: body %q, signature %+v", trace.Webhook.Body, trace.Signature)
	}

	// Rebuilding every read model from events gives the scrubbed tables back.
	for _, pr := range projections.WithCipher(p.Cipher, projections.All(nil, prefix)) {
		tables := pr.Tables()
		before := dumpTables(ctx, t, p.Pool, tables...)
		if _, err := projections.Rebuild(ctx, p.Store, pr, nil); err != nil {
			t.Fatal(err)
		}
		after := dumpTables(ctx, t, p.Pool, tables...)
		for _, table := range tables {
			if before[table] != after[table] {
				t.Errorf("%s: rebuilt %s differs from the scrubbed one", pr.Name(), table)
			}
		}
	}

	// The data request's export holds exactly the requesting customer's orders.
	reqs, err := privacy.Requests(ctx, p.Store, shop)
	if err != nil {
		t.Fatal(err)
	}
	var exportOf *privacy.Request
	for i, r := range reqs {
		if r.Topic == "customers/data_request" {
			exportOf = &reqs[i]
		}
		if r.Topic == "customers/redact" && r.Status != "erased" {
			t.Errorf("redaction request status %q", r.Status)
		}
	}
	if exportOf == nil {
		t.Fatalf("no data request among %+v", reqs)
	}
	export, err := privacy.BuildExport(ctx, p.Store, shop, exportOf.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, o := range export.Orders {
		got = append(got, o.ShopifyID)
		if want := customers[request.Customer.ID].Email; request.Customer.ID != gone.ID && o.Email != want {
			t.Errorf("exported order %d has email %q, want %q", o.ShopifyID, o.Email, want)
		}
	}
	want := slices.Clone(ordersOf[request.Customer.ID])
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("export holds orders %v, want %v", got, want)
	}
	t.Logf("searched %d decrypted events, %d redis keys, %d log bytes", decrypted, len(keys), len(logs.String()))
}
