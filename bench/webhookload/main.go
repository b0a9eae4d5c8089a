// Command webhookload measures Shopify webhook capture: the ack latency of
// POST /webhooks/shopify at a fixed, open-loop rate, the capture rate it
// sustains, and the time from each ack until the order is visible in
// orders_view. It runs one Ordermill process in itself (api, relay,
// projectors and the webhook processor) on a fresh database on the server of
// ORDERMILL_DATABASE_URL, which it drops at the end.
//
//	webhookload -rate 200 -duration 10s
//	webhookload -rate 0 -n 3000 -concurrency 32   # as fast as it goes: capture rate
package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/config"
	"github.com/ordermill/ordermill/internal/platform"
	"github.com/ordermill/ordermill/internal/shops"
	"github.com/ordermill/ordermill/workers"
)

const (
	shop   = "load.myshopify.com"
	secret = "load-webhook-secret"
)

func main() {
	rate := flag.Float64("rate", 100, "webhooks per second, open loop; 0 sends as fast as -concurrency allows")
	duration := flag.Duration("duration", 10*time.Second, "how long to send at -rate")
	n := flag.Int("n", 2000, "webhooks to send when -rate is 0")
	concurrency := flag.Int("concurrency", 16, "senders when -rate is 0")
	flag.Parse()
	if err := run(*rate, *duration, *n, *concurrency); err != nil {
		fmt.Fprintln(os.Stderr, "webhookload:", err)
		os.Exit(1)
	}
}

func run(rate float64, duration time.Duration, n, concurrency int) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	suffix := randomHex(4)
	u, err := url.Parse(cfg.DatabaseURL)
	if err != nil {
		return err
	}
	dbName := "ordermill_load_" + suffix
	u.Path = "/" + dbName
	cfg.DatabaseURL, cfg.DatabaseReadURL = u.String(), u.String()
	cfg.StreamPrefix = "load:" + suffix + ":"
	cfg.DataDir, err = os.MkdirTemp("", "webhookload")
	if err != nil {
		return err
	}
	defer os.RemoveAll(cfg.DataDir)
	log := platform.NewLogger("error")
	p, err := platform.Open(ctx, cfg, log, true)
	if err != nil {
		return err
	}
	defer dropDatabase(cfg, dbName)
	defer p.Close()
	if _, err := p.App().RegisterShop(ctx, shops.Registration{Domain: shop, Name: "Load", Currency: "USD",
		WebhookSecrets: []string{secret}, AccessToken: "shpat_load"}, eventstore.Metadata{Actor: "load"}); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: p.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	go func() { _ = p.Run(ctx, []string{"relay", "projectors"}) }()
	// Only the webhook processor: the Shopify and SES workers would call out
	// to real endpoints for every order.
	go func() { _ = workers.NewRouter(p.WorkersConfig(), workers.Webhooks(p.WebhookProcessor())).Run(ctx) }()
	target := "http://" + ln.Addr().String() + "/webhooks/shopify"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}, Timeout: 30 * time.Second}

	var (
		mu      sync.Mutex
		acks    []time.Duration
		ackedAt = map[int64]time.Time{}
		seenAt  = map[int64]time.Time{}
		failed  int
	)
	go watchVisible(ctx, p, &mu, seenAt)
	send := func(i int) {
		id := int64(6_000_000_000_000_000_000) + int64(i) + 1
		body := orderJSON(id, i)
		start := time.Now()
		status, err := post(client, target, body, i, suffix)
		took := time.Since(start)
		mu.Lock()
		defer mu.Unlock()
		if err != nil || status != http.StatusOK {
			failed++
			return
		}
		acks = append(acks, took)
		ackedAt[id] = time.Now()
	}

	// Warm up: one order through the whole path, so start-up (consumer groups,
	// relay leadership) is not measured as latency.
	warm := time.Now()
	send(-1)
	if _, err := visibleAfter(&mu, ackedAt, seenAt); err != nil {
		return err
	}
	fmt.Printf("start-up: first order visible after %v\n", time.Since(warm).Round(time.Millisecond))
	mu.Lock()
	acks, ackedAt = acks[:0], map[int64]time.Time{}
	mu.Unlock()

	began := time.Now()
	var wg sync.WaitGroup
	if rate > 0 {
		tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
		for i := 0; time.Since(began) < duration; i++ {
			<-tick.C
			wg.Go(func() { send(i) })
		}
		tick.Stop()
	} else {
		jobs := make(chan int)
		for range concurrency {
			wg.Go(func() {
				for i := range jobs {
					send(i)
				}
			})
		}
		for i := range n {
			jobs <- i
		}
		close(jobs)
	}
	wg.Wait()
	sendTime := time.Since(began)

	visible, err := visibleAfter(&mu, ackedAt, seenAt)
	if err != nil {
		return err
	}
	processed, err := processingTimes(ctx, p)
	if err != nil {
		return err
	}
	slices.Sort(acks)
	slices.Sort(visible)
	fmt.Printf("sent %d webhooks in %v (%d failed): %.0f acks/s\n", len(acks)+failed, sendTime.Round(time.Millisecond), failed,
		float64(len(acks))/sendTime.Seconds())
	fmt.Printf("ack latency:            median %v  p99 %v  max %v\n", pct(acks, 50), pct(acks, 99), acks[len(acks)-1])
	fmt.Printf("received → processed:   median %v  p99 %v  (event store timestamps)\n", pct(processed, 50), pct(processed, 99))
	fmt.Printf("ack → orders_view:      median %v  p99 %v  max %v  (polled every 2ms)\n", pct(visible, 50), pct(visible, 99), visible[len(visible)-1])
	return nil
}

// watchVisible polls orders_view until ctx ends, recording when each order
// row was first seen.
func watchVisible(ctx context.Context, p *platform.Platform, mu *sync.Mutex, seenAt map[int64]time.Time) {
	for ctx.Err() == nil {
		rows, err := p.Pool.Query(ctx, `SELECT shopify_id FROM orders_view WHERE shop = $1`, shop)
		if err == nil {
			ids, _ := pgx.CollectRows(rows, pgx.RowTo[int64])
			now := time.Now()
			mu.Lock()
			for _, id := range ids {
				if _, ok := seenAt[id]; !ok {
					seenAt[id] = now
				}
			}
			mu.Unlock()
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// visibleAfter waits until every acknowledged order was seen and returns the
// time from each ack to its row.
func visibleAfter(mu *sync.Mutex, ackedAt, seenAt map[int64]time.Time) ([]time.Duration, error) {
	deadline := time.Now().Add(5 * time.Minute)
	for {
		mu.Lock()
		var out []time.Duration
		for id, at := range ackedAt {
			if seen, ok := seenAt[id]; ok {
				out = append(out, seen.Sub(at))
			}
		}
		missing := len(ackedAt) - len(out)
		mu.Unlock()
		if missing == 0 {
			return out, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%d orders never became visible", missing)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// processingTimes is, per webhook, the time between its webhook.received
// and webhook.processed events as the database recorded them.
func processingTimes(ctx context.Context, p *platform.Platform) ([]time.Duration, error) {
	rows, err := p.Pool.Query(ctx, `SELECT (o.recorded_at - r.recorded_at) FROM events r
		JOIN events o ON o.stream_id = r.stream_id AND o.stream_version = 2
		WHERE r.stream_id LIKE 'webhook-%' AND r.stream_version = 1 AND r.stream_id NOT LIKE '%:warmup'`)
	if err != nil {
		return nil, err
	}
	d, err := pgx.CollectRows(rows, pgx.RowTo[time.Duration])
	slices.Sort(d)
	return d, err
}

func post(client *http.Client, target string, body []byte, i int, run string) (int, error) {
	req, err := http.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("X-Shopify-Topic", "orders/create")
	h.Set("X-Shopify-Shop-Domain", shop)
	webhookID := fmt.Sprintf("%s-%d", run, i)
	if i < 0 {
		webhookID = "warmup"
	}
	h.Set("X-Shopify-Webhook-Id", webhookID)
	h.Set("X-Shopify-Event-Id", fmt.Sprintf("ev-%s-%d", run, i))
	h.Set("X-Shopify-Triggered-At", time.Now().UTC().Format(time.RFC3339Nano))
	h.Set("X-Shopify-API-Version", "2025-01")
	h.Set("X-Shopify-Hmac-Sha256", base64.StdEncoding.EncodeToString(m.Sum(nil)))
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// orderJSON is a realistic orders/create body of about 1.5 KB.
func orderJSON(id int64, i int) []byte {
	ts := time.Date(2025, 11, 24, 10, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second).Format(time.RFC3339)
	return fmt.Appendf(nil, `{"id":%d,"admin_graphql_api_id":"gid://shopify/Order/%d","name":"#%d","order_number":%d,
"email":"customer%d@example.test","currency":"USD","created_at":%q,"updated_at":%q,"cancelled_at":null,"cancel_reason":null,
"financial_status":"paid","fulfillment_status":null,"note":null,"tags":"","subtotal_price":"58.50","total_tax":"0.00","total_price":"58.50",
"customer":{"id":%d,"email":"customer%d@example.test","first_name":"Ada","last_name":"Lovelace","phone":"+15550000000"},
"line_items":[{"id":%d1,"admin_graphql_api_id":"gid://shopify/LineItem/%d1","variant_id":44020394000101,"sku":"BEAN-CHR","title":"Merino Beanie - Charcoal","quantity":1,"price":"29.00","fulfillable_quantity":1,"fulfillment_status":null},
{"id":%d2,"admin_graphql_api_id":"gid://shopify/LineItem/%d2","variant_id":44020394000103,"sku":"MUG-350","title":"Enamel Mug 350ml","quantity":1,"price":"14.50","fulfillable_quantity":1,"fulfillment_status":null},
{"id":%d3,"admin_graphql_api_id":"gid://shopify/LineItem/%d3","variant_id":44020394000104,"sku":null,"title":"Gift Card","quantity":1,"price":"15.00","fulfillable_quantity":1,"fulfillment_status":null}],
"fulfillments":[],"refunds":[]}`,
		id, id, 1000+i, 1000+i, i, ts, ts, 7000+i, i, i+2, i+2, i+2, i+2, i+2, i+2)
}

func pct(d []time.Duration, p int) time.Duration {
	return d[min(len(d)-1, len(d)*p/100)].Round(10 * time.Microsecond)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func dropDatabase(cfg config.Config, name string) {
	u, err := url.Parse(cfg.DatabaseURL)
	if err != nil {
		return
	}
	u.Path = "/postgres"
	conn, err := pgx.Connect(context.Background(), u.String())
	if err != nil {
		slog.Error("drop database", "err", err)
		return
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
		slog.Error("drop database", "err", err)
	}
}
