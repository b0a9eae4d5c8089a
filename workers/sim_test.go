package workers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill-redisstream/pkg/redisstream"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/testenv"
	"github.com/ordermill/ordermill/projections"
	"github.com/ordermill/ordermill/relay"
	"github.com/ordermill/ordermill/workers"
)

// startSimulator runs cmd/simulator with flags and returns its base URL.
func startSimulator(t *testing.T, flags ...string) string {
	t.Helper()
	return testenv.StartSimulator(t, flags...).URL
}

// call sends a JSON request and decodes a JSON answer into out (when not nil).
func call(t *testing.T, method, url string, body, out any) int {
	t.Helper()
	var r io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: decode: %v", method, url, err)
		}
	}
	return resp.StatusCode
}

const (
	testShop  = "acme.myshopify.com"
	testToken = "shpat_acme"
)

func adminCalls(t *testing.T, sim string) []testenv.AdminCall {
	t.Helper()
	return (&testenv.Simulator{URL: sim}).AdminCalls(t)
}

// stack is the part of a running platform the worker tests need: a fresh
// database, a Redis prefix, the relay, and helpers to run handlers and
// projectors on them.
type stack struct {
	ctx    context.Context
	pool   *pgxpool.Pool
	rdb    *redis.Client
	prefix string
	store  *eventstore.Store
	pub    *redisstream.Publisher
}

func newStack(t *testing.T) *stack {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pool := testenv.Pool(t)
	rdb, prefix := testenv.Redis(t)
	store := eventstore.New(pool)
	pub, err := redisstream.NewPublisher(redisstream.PublisherConfig{Client: rdb}, watermill.NopLogger{})
	if err != nil {
		t.Fatal(err)
	}
	relayDone := make(chan struct{})
	go func() {
		defer close(relayDone)
		_ = relay.NewRelay(store, pub, relay.RelayConfig{TopicPrefix: prefix}).Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-relayDone
	})
	return &stack{ctx: ctx, pool: pool, rdb: rdb, prefix: prefix, store: store, pub: pub}
}

// runWorkers runs handlers on the router until the test ends, with short
// retry intervals.
func (s *stack) runWorkers(t *testing.T, handlers ...workers.Handler) {
	t.Helper()
	ctx, cancel := context.WithCancel(s.ctx)
	r := workers.NewRouter(workers.Config{
		Redis: s.rdb, Pool: s.pool, TopicPrefix: s.prefix, ConsumerName: "test",
		MaxRetries: 2, RetryInterval: 10 * time.Millisecond,
	}, handlers...)
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("router: %v", err)
		}
	})
}

// runProjectors runs projectors until the test ends.
func (s *stack) runProjectors(t *testing.T, ps ...projections.Projector) {
	t.Helper()
	ctx, cancel := context.WithCancel(s.ctx)
	done := make(chan error, 1)
	go func() {
		done <- projections.NewRunner(s.pool, projections.RunnerConfig{
			Redis: s.rdb, TopicPrefix: s.prefix, ConsumerName: "test",
		}, ps...).Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("projectors: %v", err)
		}
	})
}

// append stores domain events on a stream as the API or webhook processor would.
func (s *stack) append(t *testing.T, stream, shop string, expected eventstore.ExpectedVersion, events ...domain.Event) []eventstore.Event {
	t.Helper()
	news, err := eventstore.Encode(shop, eventstore.Metadata{Actor: "test"}, events...)
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.store.Append(s.ctx, stream, expected, news...)
	if err != nil {
		t.Fatalf("append to %s: %v", stream, err)
	}
	return res.Events
}

// count runs a counting query.
func (s *stack) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := s.pool.QueryRow(s.ctx, query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// tokens is an access-token source for tests that leave the shops registry out.
type tokens map[string]string

func (m tokens) AccessToken(_ context.Context, shop string) (string, error) {
	if t, ok := m[shop]; ok {
		return t, nil
	}
	return "", errors.New("no access token for " + shop)
}
