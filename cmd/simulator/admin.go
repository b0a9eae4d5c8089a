package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vektah/gqlparser/v2/ast"
)

// orderStore is Shopify's own view of the orders the simulator has sent,
// which is what the Admin API answers from.
type orderStore struct {
	mu     sync.Mutex
	orders map[orderKey]*orderState
}

type orderKey struct {
	shop string
	id   int64
}

func newOrderStore() *orderStore { return &orderStore{orders: map[orderKey]*orderState{}} }

// record keeps the newest state, since deliveries may go out of order.
func (s *orderStore) record(shop string, id int64, st *orderState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := orderKey{shop, id}
	if cur, ok := s.orders[k]; !ok || st.updated.After(cur.updated) {
		s.orders[k] = st
	}
}

func (s *orderStore) get(shop string, id int64) *orderState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.orders[orderKey{shop, id}]
}

// bucket is Shopify's GraphQL leaky bucket: cost points drain per query and
// restore at a fixed rate up to the maximum.
type bucket struct {
	size, rate float64
	available  float64
	last       time.Time
}

func newBucket(size, rate float64, now time.Time) *bucket {
	return &bucket{size: size, rate: rate, available: size, last: now}
}

// take spends cost if available and reports what is left either way.
// refund gives back what a query was charged beyond its actual cost.
func (b *bucket) refund(points float64) float64 {
	b.available = min(b.size, b.available+points)
	return b.available
}

func (b *bucket) take(now time.Time, cost float64) (ok bool, left float64) {
	if now.After(b.last) {
		b.available = min(b.size, b.available+now.Sub(b.last).Seconds()*b.rate)
		b.last = now
	}
	if b.available < cost {
		return false, b.available
	}
	b.available -= cost
	return true, b.available
}

type adminFault struct {
	Status            int `json:"status"`
	Remaining         int `json:"remaining"`
	RetryAfterSeconds int `json:"retry_after_seconds"`
}

type adminCall struct {
	Time       time.Time `json:"time"`
	Shop       string    `json:"shop"`
	APIVersion string    `json:"api_version"` // the version served, after falling forward
	Status     int       `json:"status"`
	Throttled  bool      `json:"throttled"`
	Query      string    `json:"query"`
}

type adminConfig struct {
	versions    []string // supported stable versions, oldest first
	bucketSize  float64
	restoreRate float64
	oauth       oauthConfig
}

// adminAPI serves the slice of the GraphQL Admin API Ordermill uses, with
// Shopify's authentication, query costs and rate limiting.
type adminAPI struct {
	cfg    adminConfig
	now    func() time.Time
	orders *orderStore
	apps   *apps // tokens granted through OAuth; the app operations

	levels *levels
	// emit sends the webhooks of a mutation's change (set by the simulator).
	emit func(shop string, a action)

	// mutating serialises mutations, each a read-modify-write of an order.
	mutating sync.Mutex
	gen      *generator // ids for what mutations create
	idemMu   sync.Mutex
	idem     map[idempotencyKey]idempotentResult

	mu      sync.Mutex
	tokens  map[string]string // access token → shop
	buckets map[string]*bucket
	fault   adminFault
	calls   []adminCall
}

// defaultAPIVersions are the stable Admin API versions Shopify supports
// when the newest is 2026-10: each for twelve months.
var defaultAPIVersions = []string{"2026-01", "2026-04", "2026-07", "2026-10"}

func newAdminAPI(cfg adminConfig, orders *orderStore, now func() time.Time) *adminAPI {
	if len(cfg.versions) == 0 {
		cfg.versions = defaultAPIVersions
	}
	return &adminAPI{cfg: cfg, now: now, orders: orders, apps: newApps(cfg.oauth, now), levels: &levels{m: map[levelKey]int{}},
		idem: map[idempotencyKey]idempotentResult{}, tokens: map[string]string{}, buckets: map[string]*bucket{}}
}

func (a *adminAPI) registerShop(shop, token string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for t, s := range a.tokens {
		if s == shop {
			delete(a.tokens, t)
		}
	}
	a.tokens[token] = shop
}

func (a *adminAPI) setFault(f adminFault) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.fault = f
}

func (a *adminAPI) faultState() adminFault {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.fault
}

func (a *adminAPI) callLog() []adminCall {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]adminCall{}, a.calls...)
}

func (a *adminAPI) clearCalls() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls = nil
}

type costInfo struct {
	RequestedQueryCost float64        `json:"requestedQueryCost"`
	ActualQueryCost    *float64       `json:"actualQueryCost"`
	ThrottleStatus     throttleStatus `json:"throttleStatus"`
}

type throttleStatus struct {
	MaximumAvailable   float64 `json:"maximumAvailable"`
	CurrentlyAvailable int     `json:"currentlyAvailable"`
	RestoreRate        float64 `json:"restoreRate"`
}

type gqlError struct {
	Message    string            `json:"message"`
	Extensions map[string]string `json:"extensions,omitempty"`
}

type gqlResponse struct {
	Data       any                 `json:"data,omitempty"`
	Errors     []gqlError          `json:"errors,omitempty"`
	Extensions map[string]costInfo `json:"extensions"`
}

// admission decides, under one lock, whether a call is let through: the
// token must be known, injected faults come next, then the bucket.
func (a *adminAPI) admission(token string, requested float64) (shop string, status int, retryAfter int, ok bool, cost costInfo) {
	a.mu.Lock()
	defer a.mu.Unlock()
	shop, known := a.tokens[token]
	if !known {
		shop, known = a.apps.tokenShop(token)
	}
	if !known {
		return "", http.StatusUnauthorized, 0, false, cost
	}
	if a.fault.Remaining > 0 {
		a.fault.Remaining--
		return shop, a.fault.Status, a.fault.RetryAfterSeconds, false, cost
	}
	now := a.now()
	b := a.buckets[shop]
	if b == nil {
		b = newBucket(a.cfg.bucketSize, a.cfg.restoreRate, now)
		a.buckets[shop] = b
	}
	ok, left := b.take(now, requested)
	cost = costInfo{
		RequestedQueryCost: requested,
		ThrottleStatus:     throttleStatus{MaximumAvailable: a.cfg.bucketSize, CurrentlyAvailable: int(left), RestoreRate: a.cfg.restoreRate},
	}
	return shop, http.StatusOK, 0, ok, cost
}

// settle refunds the difference between the requested and the actual cost
// of a query that ran, and records both in its cost extension.
func (a *adminAPI) settle(shop string, cost *costInfo, actual float64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	left := a.buckets[shop].refund(cost.RequestedQueryCost - actual)
	cost.ActualQueryCost = &actual
	cost.ThrottleStatus.CurrentlyAvailable = int(left)
}

// servedVersion is the Admin API version Shopify answers a request for
// requested with: a supported one as asked, a retired one falls forward to the
// oldest supported, and an unreleased or malformed one does not exist.
func (a *adminAPI) servedVersion(requested string) (string, bool) {
	vs := a.cfg.versions
	switch {
	case requested == "unstable" || slices.Contains(vs, requested):
		return requested, true
	case apiVersionPattern.MatchString(requested) && requested < vs[0]:
		return vs[0], true
	}
	return "", false
}

var apiVersionPattern = regexp.MustCompile(`^[0-9]{4}-(01|04|07|10)$`)

func (a *adminAPI) serveGraphQL(w http.ResponseWriter, r *http.Request) {
	version, ok := a.servedVersion(r.PathValue("version"))
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"errors": "Not Found"})
		return
	}
	w.Header().Set("X-Shopify-API-Version", version)
	var req struct {
		Query         string         `json:"query"`
		OperationName string         `json:"operationName"`
		Variables     map[string]any `json:"variables"`
	}
	decodeErr := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req)
	var op *operation
	var parseErrs []gqlError
	requested := 0
	if decodeErr == nil {
		op, parseErrs = parseOperation(req.Query, req.OperationName, req.Variables)
	}
	if op != nil {
		requested = op.requestedCost()
	}
	if requested > maxQueryCost {
		parseErrs = []gqlError{{Message: fmt.Sprintf("Query cost is %d, which exceeds the single query max cost limit (%d).", requested, maxQueryCost),
			Extensions: map[string]string{"code": "MAX_COST_EXCEEDED"}}}
		requested = 0
	}
	shop, status, retryAfter, ok, cost := a.admission(r.Header.Get("X-Shopify-Access-Token"), float64(requested))
	throttled := status == http.StatusOK && !ok
	// The call is logged before its answer goes out, so the log's order is
	// the order in which clients saw the answers.
	respond := func(body any) {
		a.mu.Lock()
		a.calls = append(a.calls, adminCall{Time: a.now(), Shop: shop, APIVersion: version, Status: status, Throttled: throttled, Query: req.Query})
		a.mu.Unlock()
		writeJSON(w, status, body)
	}
	switch {
	case status == http.StatusUnauthorized:
		respond(map[string]string{"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"})
		return
	case status == http.StatusTooManyRequests:
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
		respond(map[string]string{"errors": "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."})
		return
	case status != http.StatusOK:
		respond(map[string]string{"errors": "Internal Server Error"})
		return
	case decodeErr != nil:
		status = http.StatusBadRequest
		respond(map[string]string{"errors": "Invalid JSON in request body: " + decodeErr.Error()})
		return
	}
	resp := gqlResponse{Extensions: map[string]costInfo{"cost": cost}}
	switch {
	case parseErrs != nil:
		resp.Errors = parseErrs
	case throttled:
		resp.Errors = []gqlError{{Message: "Throttled", Extensions: map[string]string{"code": "THROTTLED"}}}
	case handlesGraphQL(op):
		resp.Data, resp.Errors = a.apps.answerGraphQL(shop, req.Query, req.Variables)
		// These are charged what they cost too, or frequent subscription
		// checks would drain the bucket for good.
		data, _ := resp.Data.(obj)
		a.settle(shop, &cost, float64(op.actualCost(data)))
		resp.Extensions["cost"] = cost
	default:
		roots := a.queryRoots()
		if op.def.Operation == ast.Mutation {
			roots = a.mutationRoots()
		}
		data, errs := op.execute(shop, version, roots)
		resp.Data, resp.Errors = data, errs
		a.settle(shop, &cost, float64(op.actualCost(data)))
		resp.Extensions["cost"] = cost
	}
	respond(resp)
}

// queryRoots are the QueryRoot fields the simulator implements.
func (a *adminAPI) queryRoots() map[string]rootField {
	return map[string]rootField{"order": a.order, "orders": a.ordersConnection, "ordersCount": a.ordersCount, "inventoryItem": a.inventoryItem}
}

// inventoryItem answers from the catalog, whose every product has one
// variant with one inventory item.
func (a *adminAPI) inventoryItem(c fieldCall) (any, []gqlError) {
	id, errs := legacyID(c.args["id"], "InventoryItem")
	if errs != nil {
		return nil, errs
	}
	for _, p := range catalog {
		if p.inventoryItemID == id {
			return obj{"id": fmt.Sprintf("gid://shopify/InventoryItem/%d", id), "sku": nullable(p.sku),
				"variants": obj{"nodes": []any{obj{"id": fmt.Sprintf("gid://shopify/ProductVariant/%d", p.variantID), "sku": nullable(p.sku)}}}}, nil
		}
	}
	return nil, nil
}

// mutationRoots are the Mutation fields the simulator implements.
func (a *adminAPI) mutationRoots() map[string]rootField {
	return map[string]rootField{
		"orderCancel":               a.orderCancel,
		"orderMarkAsPaid":           a.orderMarkAsPaid,
		"orderUpdate":               a.orderUpdate,
		"refundCreate":              a.idempotent(a.refundCreate),
		"fulfillmentCreate":         a.fulfillmentCreate,
		"inventoryAdjustQuantities": a.idempotent(a.inventoryAdjustQuantities),
	}
}

func (a *adminAPI) order(c fieldCall) (any, []gqlError) {
	id, errs := legacyID(c.args["id"], "Order")
	if errs != nil {
		return nil, errs
	}
	st := a.orders.get(c.shop, id)
	if st == nil {
		return nil, nil
	}
	return orderNode(st)
}

// legacyID takes the numeric id out of a global id argument such as
// gid://shopify/Order/123, answering Shopify's error for anything else.
func legacyID(arg any, kind string) (int64, []gqlError) {
	gid, _ := arg.(string)
	n, found := strings.CutPrefix(gid, "gid://shopify/"+kind+"/")
	id, err := strconv.ParseInt(n, 10, 64)
	if !found || err != nil {
		return 0, []gqlError{{Message: fmt.Sprintf("Invalid global id '%s'", gid), Extensions: map[string]string{"code": "argumentLiteralsIncompatible"}}}
	}
	return id, nil
}
