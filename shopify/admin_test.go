package shopify_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/internal/testenv"
	"github.com/ordermill/ordermill/shopify"
)

const (
	testShop  = "acme.myshopify.com"
	testToken = "shpat_acme"
)

// observed collects what the client's metrics hook is told.
type observed struct {
	mu    sync.Mutex
	calls []shopify.AdminCall
}

func (o *observed) add(c shopify.AdminCall) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls = append(o.calls, c)
}

func (o *observed) statuses() []int {
	o.mu.Lock()
	defer o.mu.Unlock()
	var s []int
	for _, c := range o.calls {
		s = append(s, c.Status)
	}
	return s
}

func sameFulfillments(t *testing.T, got []shopify.AdminFulfillment, want domain.ShopifyOrder) {
	t.Helper()
	if len(got) != len(want.Fulfillments) {
		t.Fatalf("got %d fulfillments, want %d: %+v", len(got), len(want.Fulfillments), got)
	}
	for i, w := range want.Fulfillments {
		g := got[i]
		if g.ID != w.ID || !g.CreatedAt.Equal(w.CreatedAt) || len(g.Lines) != len(w.LineItems) {
			t.Fatalf("fulfillment %d: got %+v, want %+v", i, g, w)
		}
		for j, l := range w.LineItems {
			if g.Lines[j].LineItemID != l.ID || g.Lines[j].Quantity != l.Quantity {
				t.Fatalf("fulfillment %d line %d: got %+v, want %+v", i, j, g.Lines[j], l)
			}
		}
	}
}

func TestShopifyClientRetriesUntilItSucceeds(t *testing.T) {
	sim := testenv.StartSimulator(t)
	sim.Do(t, "POST", "/_sim/shops", map[string]string{"shop": testShop, "access_token": testToken}, nil)
	order := testenv.FulfilledOrder(t, sim.PlayOrders(t, testShop, 6))

	tests := []struct {
		name       string
		status     int
		count      int
		retryAfter int
	}{
		{"429 with Retry-After", http.StatusTooManyRequests, 2, 1},
		{"500", http.StatusInternalServerError, 2, 0},
		{"503", http.StatusServiceUnavailable, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var obs observed
			client := shopify.NewAdminClient(shopify.AdminConfig{BaseURL: sim.URL, Backoff: 20 * time.Millisecond, Observe: obs.add})
			sim.Do(t, "DELETE", "/_sim/admin/calls", nil, nil)
			sim.Do(t, "POST", "/_sim/faults", map[string]any{"admin": map[string]int{
				"status": tt.status, "count": tt.count, "retry_after_seconds": tt.retryAfter}}, nil)

			got, found, err := client.OrderFulfillments(t.Context(), testShop, testToken, order.ID)
			if err != nil || !found {
				t.Fatalf("OrderFulfillments: found %v, %v", found, err)
			}
			sameFulfillments(t, got, order)
			want := append(slices.Repeat([]int{tt.status}, tt.count), http.StatusOK)
			calls := sim.AdminCalls(t)
			var statuses []int
			for _, c := range calls {
				statuses = append(statuses, c.Status)
			}
			if !slices.Equal(statuses, want) || !slices.Equal(obs.statuses(), want) {
				t.Fatalf("simulator saw %v, hook saw %v, want %v", statuses, obs.statuses(), want)
			}
			if tt.retryAfter > 0 {
				for i := 1; i < len(calls); i++ {
					if gap := calls[i].Time.Sub(calls[i-1].Time); gap < time.Duration(tt.retryAfter)*time.Second {
						t.Errorf("call %d came %v after a Retry-After of %ds", i, gap, tt.retryAfter)
					}
				}
			}
		})
	}

	t.Run("gives up with a typed error", func(t *testing.T) {
		client := shopify.NewAdminClient(shopify.AdminConfig{BaseURL: sim.URL, Attempts: 3, Backoff: 5 * time.Millisecond})
		sim.Do(t, "POST", "/_sim/faults", map[string]any{"admin": map[string]int{"status": 500, "count": 10}}, nil)
		t.Cleanup(func() { sim.Do(t, "POST", "/_sim/faults", map[string]any{"admin": map[string]int{"count": 0}}, nil) })
		_, _, err := client.OrderFulfillments(t.Context(), testShop, testToken, order.ID)
		var se *shopify.AdminError
		if !errors.Is(err, shopify.ErrAdminUnavailable) || !errors.As(err, &se) || se.Status != 500 || se.Attempts != 3 {
			t.Fatalf("want ErrShopifyUnavailable after 3 attempts, got %v", err)
		}
	})

	t.Run("refused token and unknown order", func(t *testing.T) {
		client := shopify.NewAdminClient(shopify.AdminConfig{BaseURL: sim.URL})
		_, _, err := client.OrderFulfillments(t.Context(), testShop, "shpat_wrong", order.ID)
		var se *shopify.AdminError
		if !errors.Is(err, shopify.ErrAdminUnauthorized) || !errors.As(err, &se) || se.Attempts != 1 {
			t.Fatalf("want ErrShopifyUnauthorized at once, got %v", err)
		}
		fs, found, err := client.OrderFulfillments(t.Context(), testShop, testToken, 1)
		if err != nil || found || fs != nil {
			t.Fatalf("unknown order: %v %v %v", fs, found, err)
		}
	})
}

func TestShopifyClientWaitsOutThrottling(t *testing.T) {
	sim := testenv.StartSimulator(t, "--admin-bucket-size", "250", "--admin-restore-rate", "100")
	sim.Do(t, "POST", "/_sim/shops", map[string]string{"shop": testShop, "access_token": testToken}, nil)
	order := testenv.FulfilledOrder(t, sim.PlayOrders(t, testShop, 6))
	var obs observed
	client := shopify.NewAdminClient(shopify.AdminConfig{BaseURL: sim.URL, Observe: obs.add})
	sim.Do(t, "DELETE", "/_sim/admin/calls", nil, nil)

	// Another app of the shop spends 240 of the 250 points (240 aliased
	// order lookups, each costing 1); OrderFulfillments requests 216.
	var q strings.Builder
	q.WriteString("query Drain($id: ID!) {")
	for i := range 240 {
		fmt.Fprintf(&q, " o%d: order(id: $id) { id }", i)
	}
	q.WriteString(" }")
	gid := fmt.Sprintf("gid://shopify/Order/%d", order.ID)
	if code := testenv.AdminPost(t, sim, testToken, q.String(), map[string]any{"id": gid}); code != http.StatusOK {
		t.Fatalf("drain: %d", code)
	}
	got, found, err := client.OrderFulfillments(t.Context(), testShop, testToken, order.ID)
	if err != nil || !found {
		t.Fatalf("query: %v", err)
	}
	sameFulfillments(t, got, order)
	calls := sim.AdminCalls(t)
	// One retry, served: the client waited as long as throttleStatus said
	// the bucket needed ((216 − 10 left) / 100 per second), not less.
	if len(calls) != 3 || !calls[1].Throttled || calls[2].Throttled {
		t.Fatalf("want the query throttled, then served; calls: %+v", calls)
	}
	if n := len(obs.calls); n != 2 || obs.calls[0].RequestedCost != 216 || !obs.calls[0].Throttled {
		t.Errorf("hook saw %+v", obs.calls)
	}
}

// Processes sharing the Redis bucket spend no more than Shopify restores:
// many concurrent calls from two clients are never throttled.
func TestSharedBucketAvoidsThrottling(t *testing.T) {
	sim := testenv.StartSimulator(t, "--admin-bucket-size", "500", "--admin-restore-rate", "250")
	sim.Do(t, "POST", "/_sim/shops", map[string]string{"shop": testShop, "access_token": testToken}, nil)
	order := testenv.FulfilledOrder(t, sim.PlayOrders(t, testShop, 6))
	rdb, prefix := testenv.Redis(t)
	sim.Do(t, "DELETE", "/_sim/admin/calls", nil, nil)

	var wg sync.WaitGroup
	for range 2 { // two processes
		client := shopify.NewAdminClient(shopify.AdminConfig{BaseURL: sim.URL, Bucket: shopify.NewRedisBucket(rdb, prefix)})
		for range 6 {
			wg.Go(func() {
				for range 2 {
					if _, _, err := client.OrderFulfillments(t.Context(), testShop, testToken, order.ID); err != nil {
						t.Errorf("query: %v", err)
					}
				}
			})
		}
	}
	wg.Wait()
	calls := sim.AdminCalls(t)
	throttled := 0
	for _, c := range calls {
		if c.Throttled {
			throttled++
		}
	}
	if len(calls) != 24 || throttled != 0 {
		t.Fatalf("%d calls, %d throttled; want 24 calls, none throttled", len(calls), throttled)
	}
}

func TestShopifyClientTimesOut(t *testing.T) {
	// A server that accepts connections and never answers: what a hung
	// upstream looks like from here.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var accepted atomic.Int32
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	client := shopify.NewAdminClient(shopify.AdminConfig{
		BaseURL: "http://" + ln.Addr().String(), Timeout: 100 * time.Millisecond, Attempts: 2, Backoff: 5 * time.Millisecond,
	})
	_, _, err = client.OrderFulfillments(t.Context(), testShop, testToken, 42)
	var se *shopify.AdminError
	if !errors.Is(err, shopify.ErrAdminTimeout) || !errors.As(err, &se) || se.Attempts != 2 || se.Status != 0 {
		t.Fatalf("want ErrShopifyTimeout after 2 attempts, got %v", err)
	}
	if n := accepted.Load(); n != 2 {
		t.Errorf("server saw %d connections, want 2", n)
	}

	// The caller's own deadline ends the call too, with its error.
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	slow := shopify.NewAdminClient(shopify.AdminConfig{BaseURL: "http://" + ln.Addr().String(), Timeout: time.Hour})
	if _, _, err := slow.OrderFulfillments(ctx, testShop, testToken, 42); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want the caller's deadline, got %v", err)
	}
}

// Every call names the configured API version, and a retired version is
// answered with the one Shopify fell forward to.
func TestAdminClientNamesTheAPIVersion(t *testing.T) {
	sim := testenv.StartSimulator(t)
	sim.Do(t, "POST", "/_sim/shops", map[string]string{"shop": testShop, "access_token": testToken}, nil)
	for _, tt := range []struct{ configured, served string }{
		{"", shopify.DefaultAPIVersion},
		{"2026-04", "2026-04"},
		{"2025-01", "2026-01"},
	} {
		var obs observed
		client := shopify.NewAdminClient(shopify.AdminConfig{BaseURL: sim.URL, APIVersion: tt.configured, Observe: obs.add})
		if _, _, err := client.OrderFulfillments(t.Context(), testShop, testToken, 1); err != nil {
			t.Fatalf("%q: %v", tt.configured, err)
		}
		if len(obs.calls) != 1 || obs.calls[0].APIVersion != tt.served {
			t.Errorf("configured %q: served %+v, want %s", tt.configured, obs.calls, tt.served)
		}
	}
	calls := sim.AdminCalls(t)
	if len(calls) != 3 || calls[0].APIVersion != "2026-10" {
		t.Errorf("simulator call log: %+v", calls)
	}
}
