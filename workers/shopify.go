package workers

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
	"time"
)

// ShopifyAPIVersion is the Admin API version every call is pinned to, so a
// Shopify release never changes the shape of what we parse.
const ShopifyAPIVersion = "2025-01"

// Errors of the Shopify Admin client. Every error it returns wraps one of
// them (or the caller's context error), so callers decide with errors.Is.
var (
	// ErrShopifyUnauthorized: the access token was refused; retrying cannot help.
	ErrShopifyUnauthorized = errors.New("shopify: access token refused")
	// ErrShopifyThrottled: still rate limited when the attempts ran out.
	ErrShopifyThrottled = errors.New("shopify: rate limited")
	// ErrShopifyUnavailable: 5xx answers or connection errors until the attempts ran out.
	ErrShopifyUnavailable = errors.New("shopify: unavailable")
	// ErrShopifyTimeout: no answer within the per-call timeout, every attempt.
	ErrShopifyTimeout = errors.New("shopify: timed out")
	// ErrShopifyBadResponse: an answer we could not use (bad JSON, GraphQL errors).
	ErrShopifyBadResponse = errors.New("shopify: unusable response")
)

// ShopifyError is one failed Admin API call: the last HTTP status and what
// Shopify said, wrapping one of the ErrShopify* kinds.
type ShopifyError struct {
	Shop     string
	Status   int
	Message  string
	Attempts int
	kind     error
}

func (e *ShopifyError) Error() string {
	return fmt.Sprintf("%s: %s (status %d after %d attempts): %s", e.kind, e.Shop, e.Status, e.Attempts, e.Message)
}

func (e *ShopifyError) Unwrap() error { return e.kind }

// ShopifyCall describes one HTTP attempt, for metrics: the observability
// work plugs a Prometheus histogram in here.
type ShopifyCall struct {
	Shop      string
	Operation string
	Status    int // 0 when no answer arrived (timeout, connection error)
	Throttled bool
	Duration  time.Duration
	Err       error
}

// ShopifyConfig configures a ShopifyClient. Zero values take the defaults.
type ShopifyConfig struct {
	// BaseURL replaces https://<shop> (the simulator in tests and the demo).
	BaseURL string
	// Timeout bounds each HTTP attempt (default 10s).
	Timeout time.Duration
	// Attempts is how many times one call is tried (default 5).
	Attempts int
	// Backoff is the first wait after a 5xx or timeout, doubled each time (default 200ms).
	Backoff time.Duration
	// MaxWait caps any single wait, including Retry-After (default 30s).
	MaxWait time.Duration
	// Observe, when set, is told about every attempt.
	Observe    func(ShopifyCall)
	HTTPClient *http.Client
}

// ShopifyClient calls the Shopify GraphQL Admin API for one app, any shop.
// It waits out 429 Retry-After and GraphQL THROTTLED answers (from the
// bucket's currentlyAvailable and restoreRate) and retries 5xx and
// timeouts with exponential backoff, all within the caller's context.
type ShopifyClient struct {
	cfg ShopifyConfig
}

// NewShopifyClient returns a client with cfg's defaults filled in.
func NewShopifyClient(cfg ShopifyConfig) *ShopifyClient {
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
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{}
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	return &ShopifyClient{cfg: cfg}
}

// ShopifyFulfillment is one fulfillment as the Admin API reports it, with
// Shopify's numeric ids (the ones webhooks carry) taken out of the global ids.
type ShopifyFulfillment struct {
	ID        int64
	Status    string // SUCCESS, CANCELLED, ERROR, FAILURE, OPEN, PENDING
	CreatedAt time.Time
	Lines     []ShopifyFulfillmentLine
}

// ShopifyFulfillmentLine is the number of units of one order line item.
type ShopifyFulfillmentLine struct {
	LineItemID int64
	SKU        string
	Quantity   int
}

// Successful reports whether the goods left: only those fulfillments move
// orders and stock.
func (f ShopifyFulfillment) Successful() bool { return f.Status == "SUCCESS" }

// orderFulfillmentsQuery asks for what the sync worker records. 250 is the
// Admin API's page maximum; an order with more fulfilled line items in one
// shipment than that is not something Shopify's own admin can create.
const orderFulfillmentsQuery = `query OrderFulfillments($id: ID!) {
  order(id: $id) {
    id
    fulfillments(first: 250) {
      id
      status
      createdAt
      fulfillmentLineItems(first: 250) {
        edges { node { quantity lineItem { id sku } } }
      }
    }
  }
}`

type gqlFulfillments struct {
	Order *struct {
		Fulfillments []struct {
			ID                   string    `json:"id"`
			Status               string    `json:"status"`
			CreatedAt            time.Time `json:"createdAt"`
			FulfillmentLineItems struct {
				Edges []struct {
					Node struct {
						Quantity int `json:"quantity"`
						LineItem struct {
							ID  string  `json:"id"`
							SKU *string `json:"sku"`
						} `json:"lineItem"`
					} `json:"node"`
				} `json:"edges"`
			} `json:"fulfillmentLineItems"`
		} `json:"fulfillments"`
	} `json:"order"`
}

// OrderFulfillments returns the fulfillments of a Shopify order. found is
// false when the shop has no such order.
func (c *ShopifyClient) OrderFulfillments(ctx context.Context, shop, token string, orderID int64) (fs []ShopifyFulfillment, found bool, err error) {
	var data gqlFulfillments
	vars := map[string]any{"id": "gid://shopify/Order/" + strconv.FormatInt(orderID, 10)}
	if err := c.query(ctx, shop, token, "OrderFulfillments", orderFulfillmentsQuery, vars, &data); err != nil {
		return nil, false, err
	}
	if data.Order == nil {
		return nil, false, nil
	}
	bad := func(format string, args ...any) error {
		return &ShopifyError{Shop: shop, Status: http.StatusOK, Message: fmt.Sprintf(format, args...), kind: ErrShopifyBadResponse}
	}
	for _, f := range data.Order.Fulfillments {
		id, ok := legacyID(f.ID, "Fulfillment")
		if !ok {
			return nil, false, bad("fulfillment id %q", f.ID)
		}
		out := ShopifyFulfillment{ID: id, Status: f.Status, CreatedAt: f.CreatedAt.UTC()}
		for _, e := range f.FulfillmentLineItems.Edges {
			li, ok := legacyID(e.Node.LineItem.ID, "LineItem")
			if !ok {
				return nil, false, bad("line item id %q", e.Node.LineItem.ID)
			}
			l := ShopifyFulfillmentLine{LineItemID: li, Quantity: e.Node.Quantity}
			if e.Node.LineItem.SKU != nil {
				l.SKU = *e.Node.LineItem.SKU
			}
			out.Lines = append(out.Lines, l)
		}
		fs = append(fs, out)
	}
	return fs, true, nil
}

// legacyID takes the numeric id out of a global id like gid://shopify/Order/123.
func legacyID(gid, kind string) (int64, bool) {
	n, ok := strings.CutPrefix(gid, "gid://shopify/"+kind+"/")
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(n, 10, 64)
	return id, err == nil && id > 0
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
			RequestedQueryCost float64 `json:"requestedQueryCost"`
			ThrottleStatus     struct {
				CurrentlyAvailable float64 `json:"currentlyAvailable"`
				RestoreRate        float64 `json:"restoreRate"`
			} `json:"throttleStatus"`
		} `json:"cost"`
	} `json:"extensions"`
}

// attempt is what one HTTP exchange came to: done (with an error or not),
// or a wait before the next try.
type attempt struct {
	err  *ShopifyError
	wait time.Duration // > 0: retry after this long
}

// query runs one GraphQL operation, retrying as the type's comment says.
func (c *ShopifyClient) query(ctx context.Context, shop, token, op, query string, vars map[string]any, out any) error {
	body, err := json.Marshal(map[string]any{"query": query, "operationName": op, "variables": vars})
	if err != nil {
		return err
	}
	base := c.cfg.BaseURL
	if base == "" {
		base = "https://" + shop
	}
	url := base + "/admin/api/" + ShopifyAPIVersion + "/graphql.json"
	for n := 1; ; n++ {
		a := c.try(ctx, shop, token, op, url, body, n, out)
		if a.err == nil {
			return nil
		}
		a.err.Attempts = n
		if ctx.Err() != nil {
			return fmt.Errorf("%w: %w", a.err, ctx.Err())
		}
		if a.wait <= 0 || n >= c.cfg.Attempts {
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

// try makes one HTTP attempt bounded by the configured timeout.
func (c *ShopifyClient) try(ctx context.Context, shop, token, op, url string, body []byte, n int, out any) attempt {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	call := ShopifyCall{Shop: shop, Operation: op}
	start := time.Now()
	a := c.exchange(ctx, shop, token, url, body, n, out, &call)
	call.Duration = time.Since(start)
	if a.err != nil {
		call.Err = a.err
	}
	observeShopify(call)
	if c.cfg.Observe != nil {
		c.cfg.Observe(call)
	}
	return a
}

func (c *ShopifyClient) exchange(ctx context.Context, shop, token, url string, body []byte, n int, out any, call *ShopifyCall) attempt {
	fail := func(kind error, status int, msg string, wait time.Duration) attempt {
		return attempt{err: &ShopifyError{Shop: shop, Status: status, Message: msg, kind: kind}, wait: wait}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fail(ErrShopifyBadResponse, 0, err.Error(), 0)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Shopify-Access-Token", token)
	resp, err := c.cfg.HTTPClient.Do(req)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fail(ErrShopifyTimeout, 0, err.Error(), c.backoff(n))
	case err != nil:
		return fail(ErrShopifyUnavailable, 0, err.Error(), c.backoff(n))
	}
	defer resp.Body.Close()
	call.Status = resp.StatusCode
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fail(ErrShopifyUnavailable, resp.StatusCode, "reading body: "+err.Error(), c.backoff(n))
	}
	switch s := resp.StatusCode; {
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		return fail(ErrShopifyUnauthorized, s, snippet(raw), 0)
	case s == http.StatusTooManyRequests:
		call.Throttled = true
		return fail(ErrShopifyThrottled, s, snippet(raw), retryAfter(resp.Header.Get("Retry-After"), c.backoff(n)))
	case s >= 500:
		return fail(ErrShopifyUnavailable, s, snippet(raw), c.backoff(n))
	case s != http.StatusOK:
		return fail(ErrShopifyBadResponse, s, snippet(raw), 0)
	}
	var g gqlResponse
	if err := json.Unmarshal(raw, &g); err != nil {
		return fail(ErrShopifyBadResponse, resp.StatusCode, "invalid JSON: "+err.Error(), 0)
	}
	if len(g.Errors) > 0 {
		for _, e := range g.Errors {
			if e.Extensions.Code == "THROTTLED" {
				call.Throttled = true
				return fail(ErrShopifyThrottled, resp.StatusCode, e.Message, c.throttleWait(g, n))
			}
		}
		msgs := make([]string, len(g.Errors))
		for i, e := range g.Errors {
			msgs[i] = e.Message
		}
		return fail(ErrShopifyBadResponse, resp.StatusCode, strings.Join(msgs, "; "), 0)
	}
	if err := json.Unmarshal(g.Data, out); err != nil {
		return fail(ErrShopifyBadResponse, resp.StatusCode, "unexpected data: "+err.Error(), 0)
	}
	return attempt{}
}

// throttleWait is how long until the bucket holds the query's cost again.
func (c *ShopifyClient) throttleWait(g gqlResponse, n int) time.Duration {
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
func (c *ShopifyClient) backoff(n int) time.Duration {
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
