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

// firstPage checks page is the first of several pages of the shop's orders.
func firstPage(t *testing.T, page shopify.OrdersPage) {
	t.Helper()
	if len(page.Orders)+page.Truncated != 4 || page.After == "" {
		t.Fatalf("got %d orders (%d truncated), next page %q; want the first page of 4", len(page.Orders), page.Truncated, page.After)
	}
}

// playOrders has the simulator play 6 orders of the last hours, which the
// Admin API answers (it shows the last 60 days), and returns one's id.
func playOrders(t *testing.T, sim *testenv.Simulator) int64 {
	t.Helper()
	run := sim.Play(t, map[string]any{"scenario": "orders", "shop": testShop, "orders": 6, "seed": 7, "concurrency": 4,
		"start": time.Now().Add(-6 * time.Hour)})
	for _, d := range run.Deliveries {
		if o, err := shopify.DecodeOrder(d.Body); err == nil && d.Topic == shopify.TopicOrdersCreate {
			return o.ID
		}
	}
	t.Fatal("the scenario created no order")
	return 0
}

// future is a time no order was updated after.
var future = time.Now().Add(24 * time.Hour)

func TestShopifyClientRetriesUntilItSucceeds(t *testing.T) {
	// Throttling is the next test's: here every page fits the bucket.
	sim := testenv.StartSimulator(t, "--admin-bucket-size", "100000", "--admin-restore-rate", "100000")
	sim.Do(t, "POST", "/_sim/shops", map[string]string{"shop": testShop, "access_token": testToken}, nil)
	playOrders(t, sim)

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

			page, err := client.OrdersUpdatedSince(t.Context(), testShop, testToken, time.Time{}, "")
			if err != nil {
				t.Fatalf("OrdersUpdatedSince: %v", err)
			}
			firstPage(t, page)
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
		_, err := client.OrdersUpdatedSince(t.Context(), testShop, testToken, time.Time{}, "")
		var se *shopify.AdminError
		if !errors.Is(err, shopify.ErrAdminUnavailable) || !errors.As(err, &se) || se.Status != 500 || se.Attempts != 3 {
			t.Fatalf("want ErrShopifyUnavailable after 3 attempts, got %v", err)
		}
	})

	t.Run("refused token and no orders", func(t *testing.T) {
		client := shopify.NewAdminClient(shopify.AdminConfig{BaseURL: sim.URL})
		_, err := client.OrdersUpdatedSince(t.Context(), testShop, "shpat_wrong", time.Time{}, "")
		var se *shopify.AdminError
		if !errors.Is(err, shopify.ErrAdminUnauthorized) || !errors.As(err, &se) || se.Attempts != 1 {
			t.Fatalf("want ErrShopifyUnauthorized at once, got %v", err)
		}
		page, err := client.OrdersUpdatedSince(t.Context(), testShop, testToken, future, "")
		if err != nil || len(page.Orders) != 0 || page.Truncated != 0 || page.After != "" {
			t.Fatalf("no orders updated since tomorrow: %+v, %v", page, err)
		}
	})
}

func TestShopifyClientWaitsOutThrottling(t *testing.T) {
	sim := testenv.StartSimulator(t, "--admin-bucket-size", "1000", "--admin-restore-rate", "370")
	sim.Do(t, "POST", "/_sim/shops", map[string]string{"shop": testShop, "access_token": testToken}, nil)
	order := playOrders(t, sim)
	var obs observed
	client := shopify.NewAdminClient(shopify.AdminConfig{BaseURL: sim.URL, Observe: obs.add})
	sim.Do(t, "DELETE", "/_sim/admin/calls", nil, nil)

	// Another app of the shop spends 990 of the 1000 points (990 aliased
	// order lookups, each costing 1); OrdersUpdatedSince requests 850.
	var q strings.Builder
	q.WriteString("query Drain($id: ID!) {")
	for i := range 990 {
		fmt.Fprintf(&q, " o%d: order(id: $id) { id }", i)
	}
	q.WriteString(" }")
	gid := fmt.Sprintf("gid://shopify/Order/%d", order)
	if code := testenv.AdminPost(t, sim, testToken, q.String(), map[string]any{"id": gid}); code != http.StatusOK {
		t.Fatalf("drain: %d", code)
	}
	page, err := client.OrdersUpdatedSince(t.Context(), testShop, testToken, time.Time{}, "")
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	firstPage(t, page)
	calls := sim.AdminCalls(t)
	// One retry, served: the client waited as long as throttleStatus said
	// the bucket needed (the points missing at the restore rate), not less.
	if len(calls) != 3 || !calls[1].Throttled || calls[2].Throttled {
		t.Fatalf("want the query throttled, then served; calls: %+v", calls)
	}
	if n := len(obs.calls); n != 2 || obs.calls[0].RequestedCost != 850 || !obs.calls[0].Throttled {
		t.Fatalf("hook saw %+v", obs.calls)
	}
}

// Processes sharing the Redis bucket spend no more than Shopify restores:
// many concurrent calls from two clients are never throttled.
func TestSharedBucketAvoidsThrottling(t *testing.T) {
	sim := testenv.StartSimulator(t, "--admin-bucket-size", "1000", "--admin-restore-rate", "1000")
	sim.Do(t, "POST", "/_sim/shops", map[string]string{"shop": testShop, "access_token": testToken}, nil)
	playOrders(t, sim)
	rdb, prefix := testenv.Redis(t)
	sim.Do(t, "DELETE", "/_sim/admin/calls", nil, nil)

	var wg sync.WaitGroup
	for range 2 { // two processes
		client := shopify.NewAdminClient(shopify.AdminConfig{BaseURL: sim.URL, Bucket: shopify.NewRedisBucket(rdb, prefix)})
		for range 3 {
			wg.Go(func() {
				for range 2 {
					if _, err := client.OrdersUpdatedSince(t.Context(), testShop, testToken, time.Time{}, ""); err != nil {
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
	if len(calls) != 12 || throttled != 0 {
		t.Fatalf("%d calls, %d throttled; want 12 calls, none throttled", len(calls), throttled)
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
	_, err = client.OrdersUpdatedSince(t.Context(), testShop, testToken, time.Time{}, "")
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
	if _, err := slow.OrdersUpdatedSince(ctx, testShop, testToken, time.Time{}, ""); !errors.Is(err, context.DeadlineExceeded) {
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
		if _, err := client.OrdersUpdatedSince(t.Context(), testShop, testToken, future, ""); err != nil {
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
