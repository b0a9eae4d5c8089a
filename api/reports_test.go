package api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/internal/testenv/apitest"
	"github.com/ordermill/ordermill/workers"
)

type reportOut struct {
	ID          string  `json:"id"`
	Status      string  `json:"status"`
	Kind        string  `json:"kind"`
	From        string  `json:"from"`
	To          string  `json:"to"`
	Rows        int     `json:"rows"`
	Bytes       int     `json:"bytes"`
	RequestedBy string  `json:"requested_by"`
	DownloadURL *string `json:"download_url"`
	Position    string  `json:"position"`
}

func expectStatus(t *testing.T, resp *http.Response, status int) *http.Response {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("%s %s: %d, want %d: %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, status,
			apitest.ReadBody(t, resp))
	}
	return resp
}

// runReportsWorker runs the reports worker on the environment's platform
// until the test ends.
func runReportsWorker(t *testing.T, e *apitest.Env) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := e.Platform
	done := make(chan error, 1)
	go func() {
		done <- workers.NewRouter(p.WorkersConfig(), workers.NewReportBuilder(p.Store, p.ReadPool, p.Log).Handler()).Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("reports worker: %v", err)
		}
	})
}

func TestSalesSummaryReport(t *testing.T) {
	e := apitest.New(t)
	const shop = "reports.myshopify.com"
	owner := e.UserToken(t, shop, domain.RoleOwner)
	auditor := e.UserToken(t, shop, domain.RoleAuditor)
	stranger := e.UserToken(t, "other.myshopify.com", domain.RoleOwner)

	order := func(token, currency, placedAt string, unitPrice int64) orderOut {
		return placeOrder(t, e, token, map[string]any{
			"currency": currency, "placed_at": placedAt,
			"lines": []map[string]any{{"sku": "MUG", "title": "Mug", "quantity": 1, "unit_price": unitPrice}},
		})
	}
	paid := order(owner, "USD", "2025-03-01T10:00:00Z", 2500)
	expectOrder(t, e, http.MethodPost, "/api/v1/orders/"+paid.ID+"/pay", owner, map[string]any{}, http.StatusOK)
	expectOrder(t, e, http.MethodPost, "/api/v1/orders/"+paid.ID+"/refund", owner, map[string]any{"refund_id": "r1", "amount": 500}, http.StatusOK)
	order(owner, "USD", "2025-03-01T23:59:59Z", 1000)
	voided := order(owner, "USD", "2025-03-02T08:00:00Z", 700) // cancelled unpaid: not a sale
	expectOrder(t, e, http.MethodPost, "/api/v1/orders/"+voided.ID+"/cancel", owner, map[string]any{"reason": "customer"}, http.StatusOK)
	order(owner, "JPY", "2025-03-02T12:00:00Z", 1500)
	order(owner, "USD", "2025-03-02T00:00:00Z", 1200)
	order(owner, "USD", "2025-03-04T00:00:00Z", 9900)    // after the range
	order(stranger, "USD", "2025-03-02T10:00:00Z", 8800) // another shop
	last := order(owner, "USD", "2025-02-28T23:59:59Z", 4200)
	// The worker reads orders_view: let it catch up before the report is built.
	expectStatus(t, e.Fresh(t, "/api/v1/orders?limit=1", owner, last.Position), http.StatusOK).Body.Close()

	// Auditors may ask for reports: they change no business state.
	resp := expectStatus(t, e.Do(t, http.MethodPost, "/api/v1/reports", auditor,
		map[string]string{"kind": "sales_summary", "from": "2025-03-01", "to": "2025-03-03"}), http.StatusAccepted)
	var requested reportOut
	apitest.Decode(t, resp, &requested)
	if requested.Status != "requested" || requested.ID == "" || resp.Header.Get("Location") != "/api/v1/reports/"+requested.ID {
		t.Fatalf("requested: %+v, Location %q", requested, resp.Header.Get("Location"))
	}
	path := "/api/v1/reports/" + requested.ID

	// No worker runs yet: the report waits, and its file is not there.
	var got reportOut
	apitest.Decode(t, expectStatus(t, e.Fresh(t, path, owner, requested.Position), http.StatusOK), &got)
	if got.Status != "requested" || got.DownloadURL != nil || got.From != "2025-03-01" || got.To != "2025-03-03" {
		t.Fatalf("before the worker: %+v", got)
	}
	expectStatus(t, e.Do(t, http.MethodGet, path+"/download", owner, nil), http.StatusConflict).Body.Close()
	expectStatus(t, e.Do(t, http.MethodGet, path, stranger, nil), http.StatusNotFound).Body.Close()

	runReportsWorker(t, e)
	deadline := time.Now().Add(30 * time.Second)
	for got.Status != "completed" {
		if time.Now().After(deadline) {
			t.Fatalf("report still %q", got.Status)
		}
		time.Sleep(20 * time.Millisecond)
		apitest.Decode(t, expectStatus(t, e.Do(t, http.MethodGet, path, owner, nil), http.StatusOK), &got)
	}
	const want = "date,currency,orders,gross,refunds,net\n" +
		"2025-03-01,USD,2,35.00,5.00,30.00\n" +
		"2025-03-02,JPY,1,1500,0,1500\n" +
		"2025-03-02,USD,1,12.00,0.00,12.00\n"
	if got.Rows != 3 || got.Bytes != len(want) || got.DownloadURL == nil || *got.DownloadURL != path+"/download" {
		t.Fatalf("completed: %+v", got)
	}
	resp = expectStatus(t, e.Do(t, http.MethodGet, path+"/download", auditor, nil), http.StatusOK)
	if ct, cd := resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"); ct != "text/csv; charset=utf-8" ||
		cd != `attachment; filename="sales_summary-2025-03-01-2025-03-03.csv"` {
		t.Errorf("download headers: %q %q", ct, cd)
	}
	if body := apitest.ReadBody(t, resp); body != want {
		t.Fatalf("CSV:\n%s\nwant:\n%s", body, want)
	}

	var list struct {
		Items      []reportOut `json:"items"`
		NextCursor *string     `json:"next_cursor"`
	}
	apitest.Decode(t, expectStatus(t, e.Do(t, http.MethodGet, "/api/v1/reports", owner, nil), http.StatusOK), &list)
	if len(list.Items) != 1 || list.Items[0].ID != requested.ID || list.Items[0].Status != "completed" ||
		list.Items[0].RequestedBy == "" || list.NextCursor != nil {
		t.Fatalf("list: %+v", list)
	}
	apitest.Decode(t, expectStatus(t, e.Do(t, http.MethodGet, "/api/v1/reports", stranger, nil), http.StatusOK), &list)
	if len(list.Items) != 0 {
		t.Fatalf("another shop sees %+v", list.Items)
	}
}

func TestReportRequestValidation(t *testing.T) {
	e := apitest.New(t)
	owner := e.UserToken(t, "reports.myshopify.com", domain.RoleOwner)
	for _, body := range []map[string]string{
		{"kind": "tax", "from": "2025-03-01", "to": "2025-03-02"},
		{"kind": "sales_summary", "from": "2025-03-02", "to": "2025-03-01"},
		{"kind": "sales_summary", "from": "2024-01-01", "to": "2025-06-01"},
		{"kind": "sales_summary", "from": "yesterday", "to": "2025-03-01"},
	} {
		expectStatus(t, e.Do(t, http.MethodPost, "/api/v1/reports", owner, body), http.StatusUnprocessableEntity).Body.Close()
	}
	expectStatus(t, e.Do(t, http.MethodGet, "/api/v1/reports/not-a-uuid", owner, nil), http.StatusNotFound).Body.Close()
	expectStatus(t, e.Do(t, http.MethodGet, "/api/v1/reports?cursor=bm9wZQ", owner, nil), http.StatusBadRequest).Body.Close()
}
