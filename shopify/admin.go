package shopify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultAPIVersion is the Admin API version calls are pinned to unless
// configured otherwise, so a Shopify release never changes the shape of what
// we parse. Shopify supports a stable version for twelve months: move it on
// at least once a year, after the documents validate against the new schema.
const DefaultAPIVersion = "2026-10"

// Errors of the Shopify Admin client. Every error it returns wraps one of
// them (or the caller's context error), so callers decide with errors.Is.
var (
	// ErrAdminUnauthorized: the access token was refused; retrying cannot help.
	ErrAdminUnauthorized = errors.New("shopify: access token refused")
	// ErrAdminThrottled: still rate limited when the attempts ran out.
	ErrAdminThrottled = errors.New("shopify: rate limited")
	// ErrAdminUnavailable: 5xx answers or connection errors until the attempts ran out.
	ErrAdminUnavailable = errors.New("shopify: unavailable")
	// ErrAdminTimeout: no answer within the per-call timeout, every attempt.
	ErrAdminTimeout = errors.New("shopify: timed out")
	// ErrAdminBadResponse: an answer we could not use (bad JSON, GraphQL errors).
	ErrAdminBadResponse = errors.New("shopify: unusable response")
)

// AdminError is one failed Admin API call: the last HTTP status and what
// Shopify said, wrapping one of the ErrAdmin* kinds.
type AdminError struct {
	Shop     string
	Status   int
	Message  string
	Attempts int
	kind     error
}

func (e *AdminError) Error() string {
	return fmt.Sprintf("%s: %s (status %d after %d attempts): %s", e.kind, e.Shop, e.Status, e.Attempts, e.Message)
}

func (e *AdminError) Unwrap() error { return e.kind }

// AdminCall describes one HTTP attempt, for metrics: the observability
// work plugs a Prometheus histogram in here.
type AdminCall struct {
	Shop      string
	Operation string
	Status    int // 0 when no answer arrived (timeout, connection error)
	// APIVersion is the version Shopify answered with (X-Shopify-API-Version):
	// a retired version falls forward to the oldest supported one.
	APIVersion string
	Throttled  bool
	// RequestedCost and ActualCost are Shopify's query cost figures (0 when
	// the answer had none; ActualCost 0 for a query that did not run).
	RequestedCost float64
	ActualCost    float64
	Throttle      ThrottleStatus
	Duration      time.Duration
	Err           error
}

// AdminConfig configures a AdminClient. Zero values take the defaults.
type AdminConfig struct {
	// BaseURL replaces https://<shop> (the simulator in tests and the demo).
	BaseURL string
	// APIVersion is the Admin API version in every URL (default DefaultAPIVersion).
	APIVersion string
	// Timeout bounds each HTTP attempt (default 10s).
	Timeout time.Duration
	// Attempts is how many times one call is tried (default 5).
	Attempts int
	// Backoff is the first wait after a 5xx or timeout, doubled each time (default 200ms).
	Backoff time.Duration
	// MaxWait caps any single wait, including Retry-After (default 30s).
	MaxWait time.Duration
	// Bucket, when set, is the per-shop bucket shared with other processes:
	// every call first reserves its expected cost there.
	Bucket Bucket
	// Observe, when set, is told about every attempt.
	Observe    func(AdminCall)
	HTTPClient *http.Client
}

// AdminClient calls the Shopify GraphQL Admin API for one app, any shop.
// It waits out 429 Retry-After and GraphQL THROTTLED answers (from the
// bucket's currentlyAvailable and restoreRate) and retries 5xx and
// timeouts with exponential backoff, all within the caller's context.
type AdminClient struct {
	cfg AdminConfig
	// costs remembers each operation's last requested cost, the amount a
	// call reserves in the shared bucket.
	costs sync.Map
}

// unknownCost is what a call reserves before its operation's cost is known:
// the most a single query may cost, so a fresh process never overspends.
const unknownCost = 1000

// NewAdminClient returns a client with cfg's defaults filled in.
func NewAdminClient(cfg AdminConfig) *AdminClient {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = 5
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 200 * time.Millisecond
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = 30 * time.Second
	}
	if cfg.APIVersion == "" {
		cfg.APIVersion = DefaultAPIVersion
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{}
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	return &AdminClient{cfg: cfg}
}

type gqlResponse struct {
	Data   json.RawMessage `json:"data"`
	Errors []struct {
		Message    string `json:"message"`
		Extensions struct {
			Code string `json:"code"`
		} `json:"extensions"`
	} `json:"errors"`
	Extensions struct {
		Cost struct {
			RequestedQueryCost float64        `json:"requestedQueryCost"`
			ActualQueryCost    float64        `json:"actualQueryCost"`
			ThrottleStatus     ThrottleStatus `json:"throttleStatus"`
		} `json:"cost"`
	} `json:"extensions"`
}

// attempt is what one HTTP exchange came to: done (with an error or not),
// or a wait before the next try.
type attempt struct {
	err  *AdminError
	wait time.Duration // > 0: retry after this long
}

// query runs one GraphQL operation, retrying as the type's comment says.
func (c *AdminClient) query(ctx context.Context, shop, token, op, query string, vars map[string]any, out any) error {
	return c.run(ctx, shop, token, op, query, vars, out, true)
}

// mutate runs a mutation that must not run twice: throttled attempts are
// retried (Shopify ran nothing), a lost answer is not (it may have run).
func (c *AdminClient) mutate(ctx context.Context, shop, token, op, query string, vars map[string]any, out any) error {
	return c.run(ctx, shop, token, op, query, vars, out, false)
}

func (c *AdminClient) run(ctx context.Context, shop, token, op, query string, vars map[string]any, out any, retryLost bool) error {
	body, err := json.Marshal(map[string]any{"query": query, "operationName": op, "variables": vars})
	if err != nil {
		return err
	}
	base := c.cfg.BaseURL
	if base == "" {
		base = "https://" + shop
	}
	url := base + "/admin/api/" + c.cfg.APIVersion + "/graphql.json"
	for n := 1; ; n++ {
		reserved, err := c.reserve(ctx, shop, op)
		if err != nil {
			return err
		}
		a := c.try(ctx, shop, token, op, url, body, n, reserved, out)
		if a.err == nil {
			return nil
		}
		a.err.Attempts = n
		if ctx.Err() != nil {
			return fmt.Errorf("%w: %w", a.err, ctx.Err())
		}
		if a.wait <= 0 || n >= c.cfg.Attempts || (!retryLost && lostAnswer(a.err)) {
			return a.err
		}
		wait := min(a.wait, c.cfg.MaxWait)
		// Sleeping past the caller's deadline only to fail is pointless.
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return a.err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (waiting to retry: %w)", a.err, ctx.Err())
		case <-t.C:
		}
	}
}

// reserve waits until the shared bucket holds the operation's expected
// cost. A bucket that cannot be reached does not stop the call: Shopify's
// own throttling still applies.
func (c *AdminClient) reserve(ctx context.Context, shop, op string) (reserved float64, err error) {
	if c.cfg.Bucket == nil {
		return 0, nil
	}
	cost := float64(unknownCost)
	if v, ok := c.costs.Load(op); ok {
		cost = v.(float64)
	}
	for {
		wait, err := c.cfg.Bucket.Reserve(ctx, shop, cost)
		switch {
		case err != nil:
			return 0, nil
		case wait <= 0:
			return cost, nil
		}
		// Check again within a second: a settling call may refund points
		// or report the shop's real bucket sooner than the estimate.
		t := time.NewTimer(min(wait, time.Second))
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, fmt.Errorf("shopify: waiting for %s's bucket: %w", shop, ctx.Err())
		case <-t.C:
		}
	}
}

// try makes one HTTP attempt bounded by the configured timeout.
func (c *AdminClient) try(ctx context.Context, shop, token, op, url string, body []byte, n int, reserved float64, out any) attempt {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	call := AdminCall{Shop: shop, Operation: op}
	start := time.Now()
	a := c.exchange(ctx, shop, token, url, body, n, out, &call)
	call.Duration = time.Since(start)
	if a.err != nil {
		call.Err = a.err
	}
	if call.RequestedCost > 0 {
		c.costs.Store(op, call.RequestedCost)
	}
	if c.cfg.Bucket != nil {
		// Best effort, as in reserve; the call's own context may be spent.
		_ = c.cfg.Bucket.Observe(context.WithoutCancel(ctx), shop, call.Throttle, reserved)
	}
	if c.cfg.Observe != nil {
		c.cfg.Observe(call)
	}
	return a
}

func (c *AdminClient) exchange(ctx context.Context, shop, token, url string, body []byte, n int, out any, call *AdminCall) attempt {
	fail := func(kind error, status int, msg string, wait time.Duration) attempt {
		return attempt{err: &AdminError{Shop: shop, Status: status, Message: msg, kind: kind}, wait: wait}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fail(ErrAdminBadResponse, 0, err.Error(), 0)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Shopify-Access-Token", token)
	resp, err := c.cfg.HTTPClient.Do(req)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fail(ErrAdminTimeout, 0, err.Error(), c.backoff(n))
	case err != nil:
		return fail(ErrAdminUnavailable, 0, err.Error(), c.backoff(n))
	}
	defer resp.Body.Close()
	call.Status = resp.StatusCode
	call.APIVersion = resp.Header.Get("X-Shopify-API-Version")
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fail(ErrAdminUnavailable, resp.StatusCode, "reading body: "+err.Error(), c.backoff(n))
	}
	switch s := resp.StatusCode; {
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		return fail(ErrAdminUnauthorized, s, snippet(raw), 0)
	case s == http.StatusTooManyRequests:
		call.Throttled = true
		return fail(ErrAdminThrottled, s, snippet(raw), retryAfter(resp.Header.Get("Retry-After"), c.backoff(n)))
	case s >= 500:
		return fail(ErrAdminUnavailable, s, snippet(raw), c.backoff(n))
	case s != http.StatusOK:
		return fail(ErrAdminBadResponse, s, snippet(raw), 0)
	}
	var g gqlResponse
	if err := json.Unmarshal(raw, &g); err != nil {
		return fail(ErrAdminBadResponse, resp.StatusCode, "invalid JSON: "+err.Error(), 0)
	}
	cost := g.Extensions.Cost
	call.RequestedCost, call.ActualCost, call.Throttle = cost.RequestedQueryCost, cost.ActualQueryCost, cost.ThrottleStatus
	if len(g.Errors) > 0 {
		for _, e := range g.Errors {
			if e.Extensions.Code == "THROTTLED" {
				call.Throttled = true
				return fail(ErrAdminThrottled, resp.StatusCode, e.Message, c.throttleWait(g, n))
			}
		}
		msgs := make([]string, len(g.Errors))
		for i, e := range g.Errors {
			msgs[i] = e.Message
		}
		return fail(ErrAdminBadResponse, resp.StatusCode, strings.Join(msgs, "; "), 0)
	}
	if err := json.Unmarshal(g.Data, out); err != nil {
		return fail(ErrAdminBadResponse, resp.StatusCode, "unexpected data: "+err.Error(), 0)
	}
	return attempt{}
}

// throttleWait is how long until the bucket holds the query's cost again.
func (c *AdminClient) throttleWait(g gqlResponse, n int) time.Duration {
	cost := g.Extensions.Cost
	missing := cost.RequestedQueryCost - cost.ThrottleStatus.CurrentlyAvailable
	if cost.ThrottleStatus.RestoreRate <= 0 || missing <= 0 {
		return c.backoff(n)
	}
	return time.Duration(math.Ceil(missing/cost.ThrottleStatus.RestoreRate*1000)) * time.Millisecond
}

// backoff is the wait before attempt n+1 after a failure that says nothing
// about when to come back: doubling, with jitter so that many workers do
// not retry in step.
func (c *AdminClient) backoff(n int) time.Duration {
	d := c.cfg.Backoff << min(n-1, 16)
	return d/2 + rand.N(d/2+1)
}

// retryAfter reads Retry-After in seconds (Shopify sends "2.0"); anything
// else falls back to the computed backoff.
func retryAfter(h string, fallback time.Duration) time.Duration {
	s, err := strconv.ParseFloat(strings.TrimSpace(h), 64)
	if err != nil || s < 0 || math.IsInf(s, 0) || math.IsNaN(s) {
		return fallback
	}
	if s == 0 {
		return time.Millisecond
	}
	return time.Duration(s * float64(time.Second))
}

func snippet(b []byte) string {
	const limit = 300
	s := strings.TrimSpace(string(b))
	if len(s) > limit {
		s = s[:limit] + "…"
	}
	return s
}
