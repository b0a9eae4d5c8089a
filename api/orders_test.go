package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/internal/testenv/apitest"
	"github.com/ordermill/ordermill/projections"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// orderOut is the part of an order response the tests look at.
type orderOut struct {
	ID                string    `json:"id"`
	Name              string    `json:"name"`
	Email             string    `json:"email"`
	Status            string    `json:"status"`
	FinancialStatus   string    `json:"financial_status"`
	FulfillmentStatus string    `json:"fulfillment_status"`
	Total             int64     `json:"total"`
	Paid              int64     `json:"paid"`
	Refunded          int64     `json:"refunded"`
	PlacedAt          time.Time `json:"placed_at"`
	Version           int64     `json:"version"`
	Position          string    `json:"position"`
	AllowedActions    []string  `json:"allowed_actions"`
	Lines             []struct {
		ID               string `json:"id"`
		Quantity         int    `json:"quantity"`
		RefundedQuantity int    `json:"refunded_quantity"`
	} `json:"lines"`
}

type orderPage struct {
	Items      []orderOut `json:"items"`
	NextCursor *string    `json:"next_cursor"`
}

func sampleOrder(email string) map[string]any {
	return map[string]any{
		"email": email, "customer_name": "Ada Lovelace", "currency": "EUR",
		"lines": []map[string]any{
			{"sku": "SKU-1", "title": "Mug", "quantity": 2, "unit_price": 1250},
			{"sku": "SKU-2", "title": "Tea", "quantity": 1, "unit_price": 500},
		},
	}
}

// placeOrder creates an order and fails the test unless it is 201.
func placeOrder(t *testing.T, e *apitest.Env, token string, body any, headers ...string) orderOut {
	t.Helper()
	resp := e.Do(t, http.MethodPost, "/api/v1/orders", token, body, headers...)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("place order: %d %s", resp.StatusCode, apitest.ReadBody(t, resp))
	}
	var o orderOut
	apitest.Decode(t, resp, &o)
	return o
}

// expectOrder sends a request that must answer status with an order.
func expectOrder(t *testing.T, e *apitest.Env, method, path, token string, body any, status int, headers ...string) (orderOut, http.Header) {
	t.Helper()
	resp := e.Do(t, method, path, token, body, headers...)
	if resp.StatusCode != status {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, status, apitest.ReadBody(t, resp))
	}
	var o orderOut
	apitest.Decode(t, resp, &o)
	return o, resp.Header
}

// freshOrder reads an order that must reflect the write at pos.
func freshOrder(t *testing.T, e *apitest.Env, path, token, pos string) (orderOut, http.Header) {
	t.Helper()
	resp := e.Fresh(t, path, token, pos)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Consistency") != "" {
		t.Fatalf("GET %s at %s: %d %q: %s", path, pos, resp.StatusCode, resp.Header.Get("X-Consistency"), apitest.ReadBody(t, resp))
	}
	var o orderOut
	apitest.Decode(t, resp, &o)
	return o, resp.Header
}

// listOrders reads a page that reflects at least the write at pos.
func listOrders(t *testing.T, e *apitest.Env, token, query, pos string) orderPage {
	t.Helper()
	resp := e.Fresh(t, "/api/v1/orders?"+query, token, pos)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("list %q: %d %s", query, resp.StatusCode, apitest.ReadBody(t, resp))
	}
	var p orderPage
	apitest.Decode(t, resp, &p)
	return p
}

func TestCreateOrderIdempotent(t *testing.T) {
	e, _ := newContractEnv(t)
	shop := "idem.myshopify.com"
	owner := e.UserToken(t, shop, domain.RoleOwner)
	body := sampleOrder("idem@example.com")

	first := e.Do(t, http.MethodPost, "/api/v1/orders", owner, body, "Idempotency-Key", "key-1")
	firstBody := apitest.ReadBody(t, first)
	again := e.Do(t, http.MethodPost, "/api/v1/orders", owner, body, "Idempotency-Key", "key-1")
	againBody := apitest.ReadBody(t, again)
	if first.StatusCode != http.StatusCreated || again.StatusCode != http.StatusCreated {
		t.Fatalf("statuses %d and %d, want 201 twice: %s", first.StatusCode, again.StatusCode, againBody)
	}
	if firstBody != againBody {
		t.Fatalf("replay differs:\n%s\n%s", firstBody, againBody)
	}
	for _, h := range []string{"ETag", "X-Position", "Location"} {
		if first.Header.Get(h) == "" || first.Header.Get(h) != again.Header.Get(h) {
			t.Errorf("header %s: %q then %q", h, first.Header.Get(h), again.Header.Get(h))
		}
	}
	if again.Header.Get("Idempotent-Replayed") != "true" {
		t.Error("replay is not marked Idempotent-Replayed")
	}

	// Concurrent retries of one key still make one order.
	var wg sync.WaitGroup
	statuses := make(chan int, 8)
	for range 8 {
		wg.Go(func() {
			resp := e.Do(t, http.MethodPost, "/api/v1/orders", owner, body, "Idempotency-Key", "key-2")
			resp.Body.Close()
			statuses <- resp.StatusCode
		})
	}
	wg.Wait()
	close(statuses)
	for s := range statuses {
		if s != http.StatusCreated {
			t.Errorf("concurrent retry answered %d", s)
		}
	}
	var placed int
	err := e.Platform.Pool.QueryRow(context.Background(),
		`SELECT count(*) FROM events WHERE event_type = 'order.placed' AND tenant_id = $1`, shop).Scan(&placed)
	if err != nil {
		t.Fatal(err)
	}
	if placed != 2 {
		t.Fatalf("%d orders placed for two keys", placed)
	}

	other := sampleOrder("someone-else@example.com")
	p := apitest.Problem(t, e.Do(t, http.MethodPost, "/api/v1/orders", owner, other, "Idempotency-Key", "key-1"),
		http.StatusUnprocessableEntity)
	if !strings.Contains(p.Detail, "Idempotency-Key") {
		t.Errorf("detail %q does not name the key", p.Detail)
	}
	// Keys are per shop: another shop may use the same one.
	otherShop := e.UserToken(t, "idem-two.myshopify.com", domain.RoleOwner)
	placeOrder(t, e, otherShop, other, "Idempotency-Key", "key-1")
}

func TestOrderCommands(t *testing.T) {
	e, _ := newContractEnv(t)
	staff := e.UserToken(t, "cmds.myshopify.com", domain.RoleStaff)
	o := placeOrder(t, e, staff, sampleOrder("cmds@example.com"))
	path := "/api/v1/orders/" + o.ID
	if o.Status != "placed" || o.Version != 1 || o.Total != 3000 || o.Position == "" {
		t.Fatalf("placed order: %+v", o)
	}

	apitest.Problem(t, e.Do(t, http.MethodPost, path+"/pay", staff, map[string]any{}, "If-Match", `"2"`), http.StatusPreconditionFailed)
	apitest.Problem(t, e.Do(t, http.MethodPost, path+"/pay", staff, map[string]any{}, "If-Match", `nonsense`), http.StatusBadRequest)
	p := apitest.Problem(t, e.Do(t, http.MethodPost, path+"/pay", staff, map[string]any{"amount": 1}), http.StatusUnprocessableEntity)
	if len(p.Errors) != 1 || p.Errors[0].Field != "amount" {
		t.Errorf("pay 1 cent: %+v", p)
	}
	paid, h := expectOrder(t, e, http.MethodPost, path+"/pay", staff, map[string]any{}, http.StatusOK, "If-Match", `"1"`)
	if paid.Status != "paid" || paid.Paid != 3000 || paid.Version != 2 || h.Get("ETag") != `"2"` || h.Get("X-Position") != paid.Position {
		t.Fatalf("paid: %+v %v", paid, h)
	}
	apitest.Problem(t, e.Do(t, http.MethodPost, path+"/pay", staff, map[string]any{}), http.StatusConflict)

	refund := map[string]any{"refund_id": "r1", "amount": 1250, "lines": []map[string]any{{"line_id": "1", "quantity": 1}}}
	part, _ := expectOrder(t, e, http.MethodPost, path+"/refund", staff, refund, http.StatusOK)
	if part.Status != "partially_refunded" || part.Refunded != 1250 || part.Lines[0].RefundedQuantity != 1 {
		t.Fatalf("partial refund: %+v", part)
	}
	// The same refund id again refunds nothing more.
	same, _ := expectOrder(t, e, http.MethodPost, path+"/refund", staff, refund, http.StatusOK)
	if same.Refunded != 1250 || same.Version != part.Version {
		t.Fatalf("repeated refund: %+v", same)
	}
	apitest.Problem(t, e.Do(t, http.MethodPost, path+"/refund", staff, map[string]any{"amount": 5000}), http.StatusConflict)
	full, _ := expectOrder(t, e, http.MethodPost, path+"/refund", staff, map[string]any{"amount": 1750}, http.StatusOK)
	if full.Status != "refunded" || full.FinancialStatus != "refunded" {
		t.Fatalf("full refund: %+v", full)
	}

	// Cancelling: an unpaid order is voided; a cancelled one can be neither paid nor cancelled again.
	o2 := placeOrder(t, e, staff, sampleOrder("cmds@example.com"))
	path2 := "/api/v1/orders/" + o2.ID
	apitest.Problem(t, e.Do(t, http.MethodPost, path2+"/refund", staff, map[string]any{"amount": 1}), http.StatusConflict)
	p = apitest.Problem(t, e.Do(t, http.MethodPost, path2+"/cancel", staff, map[string]any{"reason": " "}), http.StatusUnprocessableEntity)
	if len(p.Errors) != 1 || p.Errors[0].Field != "reason" {
		t.Errorf("blank reason: %+v", p)
	}
	cancelled, _ := expectOrder(t, e, http.MethodPost, path2+"/cancel", staff, map[string]any{"reason": "duplicate"}, http.StatusOK)
	if cancelled.Status != "cancelled" || cancelled.FinancialStatus != "voided" {
		t.Fatalf("cancelled: %+v", cancelled)
	}
	for cmd, body := range map[string]any{"/pay": map[string]any{}, "/cancel": map[string]any{"reason": "again"}} {
		p := apitest.Problem(t, e.Do(t, http.MethodPost, path2+cmd, staff, body), http.StatusConflict)
		if !strings.Contains(p.Detail, "cancelled") {
			t.Errorf("%s on a cancelled order: %q", cmd, p.Detail)
		}
	}
	apitest.Problem(t, e.Do(t, http.MethodPost, "/api/v1/orders/"+uuid.NewString()+"/pay", staff, map[string]any{}), http.StatusNotFound)

	// The history lists every event with its metadata.
	resp := e.Do(t, http.MethodGet, path+"/events", staff, nil)
	var hist struct {
		Items []struct {
			Type     string            `json:"type"`
			Position string            `json:"position"`
			Metadata map[string]string `json:"metadata"`
		} `json:"items"`
	}
	apitest.Decode(t, resp, &hist)
	var types []string
	for _, ev := range hist.Items {
		types = append(types, ev.Type)
		if !strings.HasPrefix(ev.Metadata["actor"], "user:") || ev.Metadata["request_id"] == "" {
			t.Errorf("event %s metadata %v", ev.Type, ev.Metadata)
		}
	}
	if want := "order.placed order.paid order.refunded order.refunded"; strings.Join(types, " ") != want {
		t.Fatalf("history %v, want %s", types, want)
	}
}

func TestOrderAccess(t *testing.T) {
	e, _ := newContractEnv(t)
	shop := "access.myshopify.com"
	owner := e.UserToken(t, shop, domain.RoleOwner)
	staff := e.UserToken(t, shop, domain.RoleStaff)
	auditor := e.UserToken(t, shop, domain.RoleAuditor)
	stranger := e.UserToken(t, "elsewhere.myshopify.com", domain.RoleOwner)

	o := placeOrder(t, e, staff, sampleOrder("access@example.com"))
	path := "/api/v1/orders/" + o.ID
	// The owner's read fills the cache; the stranger must not be served from it.
	freshOrder(t, e, path, owner, o.Position)
	expectOrder(t, e, http.MethodGet, path, auditor, nil, http.StatusOK)
	for _, req := range []struct {
		method, path string
		body         any
	}{
		{http.MethodGet, path, nil}, {http.MethodGet, path + "/events", nil},
		{http.MethodPost, path + "/cancel", map[string]any{"reason": "x"}}, {http.MethodPost, path + "/pay", map[string]any{}},
		{http.MethodPost, path + "/refund", map[string]any{"amount": 1}},
	} {
		// With a correct If-Match the answer is still 404, never 412.
		apitest.Problem(t, e.Do(t, req.method, req.path, stranger, req.body, "If-Match", `"1"`), http.StatusNotFound)
	}
	if page := listOrders(t, e, stranger, "", o.Position); len(page.Items) != 0 {
		t.Fatalf("another shop lists %d orders", len(page.Items))
	}

	resp := e.Do(t, http.MethodGet, path+"/events", auditor, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("auditor reads history: %d", resp.StatusCode)
	}
	resp.Body.Close()
	for _, req := range []struct{ method, path string }{
		{http.MethodPost, "/api/v1/orders"}, {http.MethodPost, path + "/cancel"}, {http.MethodPost, path + "/pay"},
		{http.MethodPost, path + "/refund"}, {http.MethodPost, "/api/v1/inventory/SKU-1/adjust"},
		{http.MethodPost, "/api/v1/inventory/SKU-1/count"},
	} {
		apitest.Problem(t, e.Do(t, req.method, req.path, auditor, map[string]any{"reason": "x"}), http.StatusForbidden)
	}
	apitest.Problem(t, e.Do(t, http.MethodGet, "/api/v1/cache/stats", staff, nil), http.StatusForbidden)
	apitest.Problem(t, e.Do(t, http.MethodGet, "/api/v1/orders", "", nil), http.StatusUnauthorized)
}

func TestOrderValidation(t *testing.T) {
	e, _ := newContractEnv(t)
	owner := e.UserToken(t, "valid.myshopify.com", domain.RoleOwner)

	p := apitest.Problem(t, e.Do(t, http.MethodPost, "/api/v1/orders", owner, map[string]any{
		"email": "not-an-email", "currency": "euro",
		"lines": []map[string]any{{"title": "", "quantity": 0, "unit_price": -1}},
	}), http.StatusUnprocessableEntity)
	fields := map[string]bool{}
	for _, f := range p.Errors {
		fields[f.Field] = true
	}
	for _, want := range []string{"email", "currency", "lines[0].title", "lines[0].quantity", "lines[0].unit_price"} {
		if !fields[want] {
			t.Errorf("no error for %s in %+v", want, p.Errors)
		}
	}
	p = apitest.Problem(t, e.Do(t, http.MethodPost, "/api/v1/orders", owner, `{"currency":"EUR","colour":"red"}`), http.StatusBadRequest)
	if len(p.Errors) != 1 || p.Errors[0].Field != "colour" {
		t.Errorf("unknown field: %+v", p)
	}
	big := `{"name":"` + strings.Repeat("x", 1<<20) + `"}`
	apitest.Problem(t, e.Do(t, http.MethodPost, "/api/v1/orders", owner, big), http.StatusRequestEntityTooLarge)
	apitest.Problem(t, e.Do(t, http.MethodPost, "/api/v1/orders", owner, sampleOrder("a@example.com"),
		"Idempotency-Key", strings.Repeat("k", 256)), http.StatusBadRequest)
	apitest.Problem(t, e.Do(t, http.MethodGet, "/api/v1/orders/not-a-uuid", owner, nil), http.StatusNotFound)

	p = apitest.Problem(t, e.Do(t, http.MethodGet, "/api/v1/orders?limit=500&status=lost&created_from=yesterday&cursor=bm9wZQ", owner, nil),
		http.StatusBadRequest)
	fields = map[string]bool{}
	for _, f := range p.Errors {
		fields[f.Field] = true
	}
	for _, want := range []string{"limit", "status", "created_from", "cursor"} {
		if !fields[want] {
			t.Errorf("no error for query parameter %s in %+v", want, p.Errors)
		}
	}
}

func TestOrderFiltersAndSearch(t *testing.T) {
	e, _ := newContractEnv(t)
	owner := e.UserToken(t, "filters.myshopify.com", domain.RoleOwner)
	day := func(d int) string { return time.Date(2024, 5, d, 12, 0, 0, 0, time.UTC).Format(time.RFC3339) }
	place := func(email, customer, placedAt string) orderOut {
		body := sampleOrder(email)
		body["customer_name"], body["placed_at"] = customer, placedAt
		return placeOrder(t, e, owner, body)
	}
	alice := place("alice@example.com", "Alice Liddell", day(1))
	bob := place("bob@example.com", "Bob Stone", day(2))
	carol := place("carol@example.com", "Carol 100%_Sure", day(3))
	expectOrder(t, e, http.MethodPost, "/api/v1/orders/"+bob.ID+"/pay", owner, map[string]any{}, http.StatusOK)
	last, _ := expectOrder(t, e, http.MethodPost, "/api/v1/orders/"+carol.ID+"/cancel", owner, map[string]any{"reason": "fraud"}, http.StatusOK)

	names := func(query string) string {
		t.Helper()
		var ids []string
		for _, o := range listOrders(t, e, owner, query, last.Position).Items {
			switch o.ID {
			case alice.ID:
				ids = append(ids, "alice")
			case bob.ID:
				ids = append(ids, "bob")
			case carol.ID:
				ids = append(ids, "carol")
			}
		}
		return strings.Join(ids, ",")
	}
	for query, want := range map[string]string{
		"":                               "carol,bob,alice",
		"status=paid":                    "bob",
		"financial_status=voided":        "carol",
		"financial_status=pending":       "alice",
		"fulfillment_status=unfulfilled": "carol,bob,alice",
		"status=placed":                  "alice",
		"q=ALICE":                        "alice",
		"q=stone":                        "bob",
		"q=" + url.QueryEscape("100%_"):  "carol",
		"q=" + url.QueryEscape("%"):      "carol",
		"q=nobody":                       "",
		"created_from=" + day(2):         "carol,bob",
		"created_to=" + day(2):           "alice",
		"created_from=" + day(2) + "&created_to=" + day(3): "bob",
		"status=cancelled&q=carol":                         "carol",
	} {
		if got := names(query); got != want {
			t.Errorf("%q: got %q, want %q", query, got, want)
		}
	}
}

// TestOrderPaginationStable walks every page while other requests keep
// placing orders: no order is listed twice and none that existed is skipped.
func TestOrderPaginationStable(t *testing.T) {
	e, _ := newContractEnv(t)
	owner := e.UserToken(t, "pages.myshopify.com", domain.RoleOwner)
	existing := map[string]bool{}
	var last orderOut
	for i := range 40 {
		last = placeOrder(t, e, owner, sampleOrder(fmt.Sprintf("p%d@example.com", i)))
		existing[last.ID] = true
	}

	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	inserted := make(chan int, 1)
	wg.Go(func() {
		n := 0
		defer func() { inserted <- n }()
		body, _ := json.Marshal(sampleOrder("concurrent@example.com"))
		for ctx.Err() == nil {
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.URL+"/api/v1/orders", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+owner)
			req.Header.Set("Content-Type", "application/json")
			resp, err := e.Client.Do(req)
			if err != nil {
				return // cancelled
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				t.Errorf("concurrent insert: %d", resp.StatusCode)
				return
			}
			n++
		}
	})

	seen := map[string]bool{}
	query, pages := "limit=7", 0
	for {
		p := listOrders(t, e, owner, query, last.Position)
		pages++
		for _, o := range p.Items {
			if seen[o.ID] {
				t.Fatalf("order %s listed twice (page %d)", o.ID, pages)
			}
			seen[o.ID] = true
		}
		if p.NextCursor == nil {
			break
		}
		query = "limit=7&cursor=" + url.QueryEscape(*p.NextCursor)
		// Make sure the writer gets to insert between pages.
		placeOrder(t, e, owner, sampleOrder("between@example.com"))
	}
	stop()
	wg.Wait()
	for id := range existing {
		if !seen[id] {
			t.Errorf("pre-existing order %s was skipped", id)
		}
	}
	t.Logf("walked %d pages, %d orders, while %d were inserted concurrently", pages, len(seen), <-inserted+pages-1)
	if pages < 6 {
		t.Fatalf("only %d pages", pages)
	}
}

// TestReadYourWrites: a read with a write's position sees that write, even
// though projections are asynchronous and the order is cached.
func TestReadYourWrites(t *testing.T) {
	e, _ := newContractEnv(t)
	owner := e.UserToken(t, "ryw.myshopify.com", domain.RoleOwner)
	o := placeOrder(t, e, owner, sampleOrder("ryw@example.com"))
	path := "/api/v1/orders/" + o.ID

	got, h := freshOrder(t, e, path, owner, o.Position)
	if got.Version != 1 || h.Get("ETag") != `"1"` {
		t.Fatalf("after placing: version %d, ETag %q", got.Version, h.Get("ETag"))
	}
	expectOrder(t, e, http.MethodGet, path, owner, nil, http.StatusOK) // now cached
	key := projections.OrderCacheKey(e.Config.StreamPrefix, uuid.MustParse(o.ID))
	if n, err := e.Platform.Redis.Exists(context.Background(), key).Result(); err != nil || n != 1 {
		t.Fatalf("order not cached: %d %v", n, err)
	}
	// Plain reads are answered from the cache: a change the projector did not
	// make (so did not invalidate) stays unseen.
	if _, err := e.Platform.Pool.Exec(context.Background(), `UPDATE orders_view SET name = 'changed' WHERE id = $1`, o.ID); err != nil {
		t.Fatal(err)
	}
	if got, h := expectOrder(t, e, http.MethodGet, path, owner, nil, http.StatusOK); got.Name != o.Name || h.Get("ETag") != `"1"` {
		t.Fatalf("plain read not served from the cache: name %q, ETag %q", got.Name, h.Get("ETag"))
	}

	paid, _ := expectOrder(t, e, http.MethodPost, path+"/pay", owner, map[string]any{}, http.StatusOK)
	got, _ = freshOrder(t, e, path, owner, paid.Position)
	if got.Status != "paid" || got.Version != 2 {
		t.Fatalf("read with the pay position: %+v", got)
	}
	if page := listOrders(t, e, owner, "status=paid", paid.Position); len(page.Items) != 1 {
		t.Fatalf("list with the pay position has %d paid orders", len(page.Items))
	}
	// The projector drops the cached copy, so plain reads catch up too.
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, _ = expectOrder(t, e, http.MethodGet, path, owner, nil, http.StatusOK)
		if got.Version == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cached order never invalidated: still version %d", got.Version)
		}
		time.Sleep(20 * time.Millisecond)
	}

	apitest.Problem(t, e.Do(t, http.MethodGet, path, owner, nil, "X-Min-Position", "latest"), http.StatusBadRequest)
	apitest.Problem(t, e.Do(t, http.MethodGet, "/api/v1/orders", owner, nil, "X-Min-Position", "1-2"), http.StatusBadRequest)
	// A position no projector will reach in time: answered anyway, marked stale.
	_, h = expectOrder(t, e, http.MethodGet, path, owner, nil, http.StatusOK, "X-Min-Position", "999999999.999999999")
	if h.Get("X-Consistency") != "stale" {
		t.Fatalf("X-Consistency %q, want stale", h.Get("X-Consistency"))
	}
}

// TestMinPositionWaitersShareOneQuery: forty reads wait for a position no
// projector reaches while projection_progress is locked. Every query that
// reads progress queues on the lock, so the queue shows who asks: one shared
// watcher, where each waiting read used to poll with a query of its own.
func TestMinPositionWaitersShareOneQuery(t *testing.T) {
	e := apitest.New(t)
	owner := e.UserToken(t, "waiters.myshopify.com", domain.RoleOwner)
	ctx := context.Background()
	locker, err := pgx.Connect(ctx, e.Config.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer locker.Close(ctx)
	observer, err := pgx.Connect(ctx, e.Config.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer observer.Close(ctx)
	tx, err := locker.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `LOCK TABLE projection_progress IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}

	const readers = 40
	answers := make(chan *http.Response, readers)
	for range readers {
		go func() {
			req, _ := http.NewRequest(http.MethodGet, e.URL+"/api/v1/orders", nil)
			req.Header.Set("Authorization", "Bearer "+owner)
			req.Header.Set("X-Min-Position", "999999999.999999999")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				resp = nil
			} else {
				resp.Body.Close()
			}
			answers <- resp
		}()
	}
	// Sample the lock queue for 1.5 s, well within the reads' 2 s wait (and
	// the watcher's, after which a cancelled query may linger in the queue).
	queued, sampling := 0, time.After(1500*time.Millisecond)
	for done := false; !done; {
		select {
		case <-sampling:
			done = true
		case <-time.After(20 * time.Millisecond):
			var n int
			if err := observer.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
				AND wait_event_type = 'Lock' AND query LIKE 'SELECT%projection_progress%'`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			queued = max(queued, n)
		}
	}
	for range readers {
		if resp := <-answers; resp != nil && (resp.StatusCode != http.StatusOK || resp.Header.Get("X-Consistency") != "stale") {
			t.Errorf("waiting read: %d, X-Consistency %q; want 200 stale", resp.StatusCode, resp.Header.Get("X-Consistency"))
		}
	}
	if queued != 1 {
		t.Fatalf("at most %d progress queries waited on the lock at once, want exactly 1 (the shared watcher's)", queued)
	}
}
