package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ordermill/ordermill/internal/simexpect"
)

// fakeClock lets the leaky bucket be tested without sleeping.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// startSimulator serves a simulator on a real loopback listener.
func startSimulator(t *testing.T, cfg adminConfig, clock *fakeClock) (*simulator, string) {
	t.Helper()
	sim := newSimulator(t.Context(), slog.New(slog.DiscardHandler), cfg)
	sim.sender.backoff = 10 * time.Millisecond
	if clock != nil {
		sim.admin.now = clock.now
	}
	srv := httptest.NewServer(sim.routes())
	t.Cleanup(srv.Close)
	return sim, srv.URL
}

var defaultAdmin = adminConfig{bucketSize: 1000, restoreRate: 50}

func call(t *testing.T, method, url string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		rd = bytes.NewReader(mustJSON(b))
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: decoding answer: %v", method, url, err)
		}
	}
	return resp.StatusCode
}

// receiver is a minimal webhook endpoint: it checks signatures, fails the
// first valid delivery once with 500, and records everything.
type receiver struct {
	secret string
	mu     sync.Mutex
	bodies map[string][][]byte // webhook id → bodies received
	failed string
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	id := r.Header.Get("X-Shopify-Webhook-Id")
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.bodies[id] = append(rc.bodies[id], body)
	if r.URL.Path != "/webhooks/shopify" || r.Header.Get("X-Shopify-Event-Id") == "" || r.Header.Get("X-Shopify-Topic") == "" {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	if !verifyHMAC(rc.secret, body, r.Header.Get("X-Shopify-Hmac-Sha256")) {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if rc.failed == "" {
		rc.failed = id
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func TestRunAgainstReceiver(t *testing.T) {
	rc := &receiver{secret: "gamma-secret", bodies: map[string][][]byte{}}
	target := httptest.NewServer(rc)
	defer target.Close()
	_, sim := startSimulator(t, defaultAdmin, nil)

	params := faultyParams()
	params.Shop, params.Secret, params.Target = "gamma.myshopify.com", rc.secret, target.URL
	params.Orders, params.Concurrency, params.Rate = 15, 3, 0
	var created struct{ ID string }
	if code := call(t, "POST", sim+"/_sim/runs", params, &created); code != http.StatusCreated || created.ID == "" {
		t.Fatalf("create run: %d %+v", code, created)
	}
	var v runView
	deadline := time.Now().Add(5 * time.Second)
	for call(t, "GET", sim+"/_sim/runs/"+created.ID, nil, &v); v.Status != "done"; call(t, "GET", sim+"/_sim/runs/"+created.ID, nil, &v) {
		if time.Now().After(deadline) {
			t.Fatalf("run still %s after 5s: %d/%d sent", v.Status, v.Sent, v.Total)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if v.Sent != v.Total || v.Unexpected != 0 || v.Acknowledged+v.Failed != v.Sent || len(v.Deliveries) != v.Total {
		t.Fatalf("run summary %+v", v)
	}
	if v.Failed == 0 {
		t.Error("no delivery was rejected, yet bad signatures were injected")
	}
	want := buildPlan(params)
	if !bytes.Equal(mustJSON(v.Expected), mustJSON(want.expected)) {
		t.Error("run expected state differs from the plan for the same seed")
	}

	rc.mu.Lock()
	defer rc.mu.Unlock()
	received := 0
	for _, bodies := range rc.bodies {
		received += len(bodies)
	}
	if received != v.Total+1 {
		t.Errorf("receiver got %d requests, want %d deliveries + 1 retry", received, v.Total)
	}
	retried := 0
	for _, d := range v.Deliveries {
		got := rc.bodies[d.WebhookID]
		if len(got) == 0 || !bytes.Equal(got[0], d.Body) {
			t.Errorf("delivery %s: recorded body differs from what was received", d.WebhookID)
		}
		if d.Attempts == 1 {
			continue
		}
		retried++
		if d.WebhookID != rc.failed || d.Attempts != 2 || d.Status != http.StatusOK {
			t.Errorf("delivery %s: attempts %d status %d; only %s should be retried, once", d.WebhookID, d.Attempts, d.Status, rc.failed)
		}
		for _, b := range got {
			if !bytes.Equal(b, d.Body) {
				t.Error("retry sent a different body")
			}
		}
	}
	if retried != 1 {
		t.Errorf("%d deliveries retried, want 1", retried)
	}

	// The Admin API now knows the orders that were sent.
	var fulfilled *simexpect.Order
	for i, o := range v.Expected.Orders {
		if o.FulfillmentStatus != nil {
			fulfilled = &v.Expected.Orders[i]
		}
	}
	if fulfilled == nil {
		t.Fatal("no fulfilled order in the expected state")
	}
	call(t, "POST", sim+"/_sim/shops", map[string]string{"shop": params.Shop, "access_token": "shpat_gamma"}, nil)
	var resp struct {
		Data struct {
			Order struct {
				Fulfillments []struct {
					FulfillmentLineItems struct {
						Edges []struct {
							Node struct {
								LineItem struct{ ID string }
								Quantity int
							}
						}
					}
				}
			}
		}
	}
	adminPost(t, sim, "shpat_gamma", map[string]any{
		"query":     `query($id: ID!) { order(id: $id) { fulfillments(first: 5) { fulfillmentLineItems(first: 10) { edges { node { lineItem { id } quantity } } } } } }`,
		"variables": map[string]string{"id": fmt.Sprintf("gid://shopify/Order/%d", fulfilled.ShopifyID)},
	}, &resp)
	shipped := 0
	for _, f := range resp.Data.Order.Fulfillments {
		for _, e := range f.FulfillmentLineItems.Edges {
			shipped += e.Node.Quantity
		}
	}
	wantShipped := 0
	for _, l := range fulfilled.Lines {
		wantShipped += l.FulfilledQuantity
	}
	if shipped != wantShipped {
		t.Errorf("Admin API shows %d units shipped, expected state says %d", shipped, wantShipped)
	}
}

func TestControlValidation(t *testing.T) {
	_, sim := startSimulator(t, defaultAdmin, nil)
	good := `"shop":"a.myshopify.com","secret":"s","target":"http://127.0.0.1:9"`
	for name, body := range map[string]string{
		"not json":         `{"scenario":`,
		"unknown field":    `{"scenario":"orders",` + good + `,"order":5}`,
		"unknown scenario": `{"scenario":"chaos",` + good + `}`,
		"missing shop":     `{"scenario":"orders","secret":"s","target":"http://127.0.0.1:9"}`,
		"missing secret":   `{"scenario":"orders","shop":"a.myshopify.com","target":"http://127.0.0.1:9"}`,
		"bad target":       `{"scenario":"orders","shop":"a.myshopify.com","secret":"s","target":"127.0.0.1:9"}`,
		"negative orders":  `{"scenario":"orders",` + good + `,"orders":-1}`,
		"pct over 100":     `{"scenario":"orders",` + good + `,"malformed_pct":101}`,
		"negative rate":    `{"scenario":"orders",` + good + `,"rate":-1}`,
		"huge concurrency": `{"scenario":"orders",` + good + `,"concurrency":1000}`,
		"id as string":     `{"scenario":"orders",` + good + `,"seed":"1"}`,
	} {
		var e struct{ Error string }
		if code := call(t, "POST", sim+"/_sim/runs", body, &e); code != http.StatusBadRequest || e.Error == "" {
			t.Errorf("%s: got %d %q, want 400 with an error", name, code, e.Error)
		}
	}
	for name, tc := range map[string]struct{ path, body string }{
		"admin status":     {"/_sim/faults", `{"admin":{"status":404,"count":1}}`},
		"admin count":      {"/_sim/faults", `{"admin":{"status":429,"count":-1}}`},
		"ses status":       {"/_sim/faults", `{"ses":{"fail_to":["x@y.test"],"status":200}}`},
		"faults unknown":   {"/_sim/faults", `{"smtp":{}}`},
		"shop no token":    {"/_sim/shops", `{"shop":"a.myshopify.com"}`},
		"shop bad json":    {"/_sim/shops", `[]`},
		"shop bad domain":  {"/_sim/shops", `{"shop":"http://a","access_token":"t"}`},
		"trailing garbage": {"/_sim/shops", `{"shop":"a.myshopify.com","access_token":"t"} {}`},
	} {
		var e struct{ Error string }
		if code := call(t, "POST", sim+tc.path, tc.body, &e); code != http.StatusBadRequest || e.Error == "" {
			t.Errorf("%s: got %d %q, want 400 with an error", name, code, e.Error)
		}
	}
	var e struct{ Error string }
	if code := call(t, "GET", sim+"/_sim/runs/nope", nil, &e); code != http.StatusNotFound {
		t.Errorf("unknown run: %d", code)
	}
}

func TestFlags(t *testing.T) {
	var out bytes.Buffer
	if _, err := parseFlags([]string{"--help"}, &out); !errors.Is(err, flag.ErrHelp) || !strings.Contains(out.String(), "--trickle-target") && !strings.Contains(out.String(), "-trickle-target") {
		t.Errorf("--help: %v\n%s", err, out.String())
	}
	cfg, err := parseFlags([]string{"--addr", "127.0.0.1:0", "--trickle-target", "http://127.0.0.1:8080", "--trickle-interval", "2s"}, io.Discard)
	if err != nil || cfg.trickle.shop != "demo.myshopify.com" || cfg.trickle.interval != 2*time.Second {
		t.Errorf("valid flags: %+v %v", cfg, err)
	}
	for _, args := range [][]string{
		{"--nope"},
		{"--trickle-interval", "10ms"},
		{"--trickle-target", "localhost"},
		{"extra"},
	} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}
