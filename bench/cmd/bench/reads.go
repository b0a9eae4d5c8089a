package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ordermill/ordermill/app"
	"github.com/ordermill/ordermill/bench/load"
	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/projections"
)

// reads is scenario 4: GET an order the first time (from the read model),
// the same orders again (from the Redis cache) and list orders, each at a
// fixed rate through the api handler in this process, next to the same
// reads made directly with pgx or go-redis at the same rate.
func (b *bench) reads(ctx context.Context) error {
	e, err := b.open(ctx)
	if err != nil {
		return err
	}
	defer e.close()
	rates := b.size.readRates
	n := int(rates[1] * b.size.phase.Seconds())
	if _, err := seedOrders(ctx, e.p.Pool, n, 4); err != nil {
		return err
	}
	if _, err := projections.Rebuild(ctx, e.p.Store, projections.NewOrders(nil, ""), nil); err != nil {
		return err
	}
	// Statistics, as a live read model and a shadow rebuild (which analyzes
	// before the swap) have them. Without them the planner guesses a shop has
	// a few orders and sorts all of its orders for every page instead of
	// walking orders_view_shop_placed.
	if _, err := e.p.Pool.Exec(ctx, `ANALYZE orders_view, order_lines_view`); err != nil {
		return err
	}
	rows, err := e.p.Pool.Query(ctx, `SELECT id FROM orders_view WHERE shop = $1 ORDER BY id`, benchShop)
	if err != nil {
		return err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return err
	}
	if len(ids) != n {
		return fmt.Errorf("read model has %d of %d orders", len(ids), n)
	}
	url, err := e.serve()
	if err != nil {
		return err
	}
	const email, password = "bench-owner@example.test", "quiet-harbour-2024"
	if _, err := app.New(e.p.Store).RegisterUser(ctx, app.Caller{Shop: benchShop, Meta: eventstore.Metadata{Source: "bench"}},
		app.NewUser{Email: email, Name: "Bench", Role: domain.RoleOwner, Password: password}); err != nil {
		return err
	}
	client := httpClient()
	token, err := login(ctx, client, url, benchShop, email, password)
	if err != nil {
		return err
	}
	get := func(path func(i int) string) load.Op {
		return func(ctx context.Context, i int) error {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+path(i), nil)
			if err != nil {
				return err
			}
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return statusError(resp, http.StatusOK)
		}
	}
	order := func(i int) string { return "/api/v1/orders/" + ids[i%len(ids)].String() }
	page := func(int) string { return "/api/v1/orders?limit=50" }
	// The baselines: what each handler asks of Postgres or Redis, and nothing else.
	selectOrder := func(ctx context.Context, i int) error {
		batch := &pgx.Batch{}
		batch.Queue(`SELECT * FROM orders_view WHERE shop = $1 AND id = $2`, benchShop, ids[i%len(ids)])
		batch.Queue(`SELECT * FROM order_lines_view WHERE order_id = $1 AND shop = $2 ORDER BY position`, ids[i%len(ids)], benchShop)
		return e.p.Pool.SendBatch(ctx, batch).Close()
	}
	cacheGet := func(ctx context.Context, i int) error {
		return e.p.Redis.Get(ctx, projections.OrderCacheKey(e.cfg.StreamPrefix, ids[i%len(ids)])).Err()
	}
	selectPage := func(ctx context.Context, _ int) error {
		rows, err := e.p.Pool.Query(ctx, `SELECT * FROM orders_view WHERE shop = $1 ORDER BY placed_at DESC, id DESC LIMIT 51`, benchShop)
		if err != nil {
			return err
		}
		rows.Close()
		return rows.Err()
	}
	// Warm up connections on both sides; the orders read here are not
	// read again before the cached phase.
	load.Closed{Workers: 8, N: 100}.Run(ctx, get(page))
	load.Closed{Workers: 8, N: 100}.Run(ctx, selectPage)

	// Uncached runs first: every order is read for the first time, which
	// also fills the cache for the cached phase.
	phases := []struct {
		name, baseline string
		rate           float64
		subject, base  load.Op
		goal           bool
	}{
		{"GET order, uncached", "pgx: order and lines in one batch", rates[1], get(order), selectOrder, false},
		{"GET order, cached", "go-redis GET of the cache entry", rates[0], get(order), cacheGet, true},
		{"list orders (50 per page)", "pgx: the same page query", rates[2], get(page), selectPage, false},
	}
	for _, p := range phases {
		open := load.Open{Rate: p.rate, Duration: b.size.phase}
		subject, baseline := open.Run(ctx, p.subject), open.Run(ctx, p.base)
		b.row("4", latency(fmt.Sprintf("%s at %.0f/s", p.name, p.rate), subject), latency(p.baseline, baseline),
			ratio(subject.P99MS, baseline.P99MS), "p99")
		if p.goal {
			b.goal("4", fmt.Sprintf("cached GET p99 < 10 ms at %.0f req/s", p.rate), fmt.Sprintf("p99 %.1f ms (baseline %.1f ms), %d errors",
				subject.P99MS, baseline.P99MS, subject.Errors), subject.P99MS < 10 && subject.Errors == 0)
		}
	}
	b.note("Scenario 4: %d orders (4 events each) in orders_view; every request carries a bearer access token "+
		"(RS256 verified on first use, then remembered until it expires; its session is checked per request); "+
		"rate limits are off; the read models are analyzed after loading.", n)
	return nil
}

func login(ctx context.Context, client *http.Client, url, shop, email, password string) (string, error) {
	body, _ := json.Marshal(map[string]string{"shop": shop, "email": email, "password": password})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/auth/login", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if err := statusError(resp, http.StatusOK); err != nil {
		return "", fmt.Errorf("login: %w", err)
	}
	var out struct {
		AccessToken string `json:"access_token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&out)
	return out.AccessToken, err
}
