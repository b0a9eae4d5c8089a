// Command apiload measures API latency at a fixed request rate against a
// running server: POST order, then GET order uncached (each new order read
// for the first time), then GET order cached (the same orders read again).
//
// Requests are sent open-loop (bench/load), so a slow response does not hold
// back the next one and latency, counted from each request's scheduled send
// time, is not hidden.
//
//	apiload -url http://localhost:8080 -shop demo.myshopify.com -email owner@demo.test -password ordermill-demo -rate 200 -duration 10s
//
// With -register-shop the user is first registered as that shop's owner,
// straight through the event store at ORDERMILL_DATABASE_URL (an empty
// database needs no seed).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/ordermill/ordermill/app"
	"github.com/ordermill/ordermill/bench/load"
	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/config"
	"github.com/ordermill/ordermill/internal/database"
)

func main() {
	var (
		base     = flag.String("url", "http://localhost:8080", "API base URL")
		token    = flag.String("token", "", "bearer token (API token or access token); or sign in with -email and -password")
		shop     = flag.String("shop", "demo.myshopify.com", "shop of -email (with -register-shop, that shop)")
		email    = flag.String("email", "owner@demo.test", "user to sign in as")
		password = flag.String("password", "ordermill-demo", "password of -email")
		rate     = flag.Int("rate", 200, "requests per second")
		duration = flag.Duration("duration", 10*time.Second, "length of each phase")
		register = flag.String("register-shop", "", "register -email as owner of this shop first")
	)
	flag.Parse()
	if *register != "" {
		if err := registerOwner(*register, *email, *password); err != nil {
			slog.Error("register owner", "err", err)
			os.Exit(1)
		}
	}
	if *register != "" {
		*shop = *register
	}
	if err := run(*base, *token, *shop, *email, *password, *rate, *duration); err != nil {
		slog.Error("apiload", "err", err)
		os.Exit(1)
	}
}

func run(base, token, shop, email, password string, rate int, duration time.Duration) error {
	c := &client{base: base, http: &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 512},
	}}
	if token == "" {
		var err error
		if token, err = c.login(shop, email, password); err != nil {
			return err
		}
	}
	c.token = token
	ctx := context.Background()
	open := load.Open{Rate: float64(rate), Duration: duration}
	n := open.Count()

	ids := make([]string, n)
	var (
		mu   sync.Mutex
		last string
	)
	post := open.Run(ctx, func(_ context.Context, i int) error {
		var o struct{ ID, Position string }
		_, err := c.do(http.MethodPost, "/api/v1/orders", order(i), http.StatusCreated, &o)
		mu.Lock()
		ids[i], last = o.ID, o.Position
		mu.Unlock()
		return err
	})
	// Wait for the read model to have every order, so the next phase measures
	// plain reads, not read-your-writes waits.
	caughtUp := time.Now()
	for {
		h, err := c.do(http.MethodGet, "/api/v1/orders?limit=1", nil, http.StatusOK, nil, "X-Min-Position", last)
		if err != nil {
			return err
		}
		if h.Get("X-Consistency") != "stale" {
			break
		}
	}
	fmt.Printf("read model caught up %s after the last POST\n", time.Since(caughtUp).Round(time.Millisecond))
	get := func(_ context.Context, i int) error {
		if ids[i] == "" {
			return errors.New("order was not created")
		}
		_, err := c.do(http.MethodGet, "/api/v1/orders/"+ids[i], nil, http.StatusOK, nil)
		return err
	}
	uncached := open.Run(ctx, get)
	cached := open.Run(ctx, get)

	fmt.Printf("%d req/s for %s per phase\n", rate, duration)
	fmt.Printf("%-28s %8s %8s %8s %8s %6s\n", "phase", "median", "p99", "max", "count", "errors")
	for _, r := range []struct {
		name string
		load.Summary
	}{{"POST /orders", post}, {"GET /orders/{id} uncached", uncached}, {"GET /orders/{id} cached", cached}} {
		fmt.Printf("%-28s %7.2fms %7.2fms %7.2fms %8d %6d %s\n", r.name, r.MedianMS, r.P99MS, r.MaxMS, r.Count, r.Errors, r.FirstError)
	}
	return nil
}

func registerOwner(shop, email, password string) error {
	ctx := context.Background()
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	pool, err := database.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	_, err = app.New(eventstore.New(pool)).RegisterUser(ctx, app.Caller{Shop: shop, Meta: eventstore.Metadata{Source: "apiload"}},
		app.NewUser{Email: email, Name: "Load", Role: domain.RoleOwner, Password: password})
	return err
}

func order(i int) map[string]any {
	return map[string]any{
		"email": fmt.Sprintf("load-%d@example.com", i), "customer_name": "Load Test", "currency": "EUR",
		"lines": []map[string]any{
			{"sku": "LOAD-1", "title": "Mug", "quantity": 2, "unit_price": 1250},
			{"sku": "LOAD-2", "title": "Tea", "quantity": 1, "unit_price": 500},
		},
	}
}

type client struct {
	base, token string
	http        *http.Client
}

func (c *client) login(shop, email, password string) (string, error) {
	var out struct {
		AccessToken string `json:"access_token"`
	}
	_, err := c.do(http.MethodPost, "/auth/login", map[string]string{"shop": shop, "email": email, "password": password}, http.StatusOK, &out)
	return out.AccessToken, err
}

// do sends a request, checks its status, decodes the body into dst (when not
// nil) and returns the response headers.
func (c *client) do(method, path string, body any, want int, dst any, headers ...string) (http.Header, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, c.base+path, r)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		return nil, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if dst != nil {
		err = json.Unmarshal(b, dst)
	}
	return resp.Header, err
}
