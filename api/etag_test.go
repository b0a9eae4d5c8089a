package api_test

import (
	"net/http"
	"testing"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/internal/testenv/apitest"
)

// TestIfMatchComparesStrongly: If-Match uses the strong comparison (RFC 9110
// §13.1.1), so a weak tag of the current version does not match and the
// write is refused with 412, changing nothing; the strong tag and * match.
func TestIfMatchComparesStrongly(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.UserToken(t, "etag.myshopify.com", domain.RoleOwner)
	resp := e.Do(t, http.MethodPost, "/api/v1/orders", owner, map[string]any{
		"email": "buyer@example.com", "customer_name": "Ada", "currency": "EUR",
		"lines": []map[string]any{{"sku": "SKU-1", "title": "Mug", "quantity": 1, "unit_price": 1250}},
	})
	var order struct{ ID string }
	apitest.Decode(t, resp, &order)
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("ETag") != `"1"` {
		t.Fatalf("place order: %d, ETag %q", resp.StatusCode, resp.Header.Get("ETag"))
	}
	write := func(action string, body map[string]any, ifMatch string) *http.Response {
		return e.Do(t, http.MethodPost, "/api/v1/orders/"+order.ID+"/"+action, owner, body, "If-Match", ifMatch)
	}
	pay := map[string]any{"amount": 1250}
	refund := map[string]any{"amount": 100, "refund_id": "r1"}
	apitest.Problem(t, write("pay", pay, `W/"1"`), http.StatusPreconditionFailed)
	if r := write("pay", pay, `"1"`); r.StatusCode != http.StatusOK || r.Header.Get("ETag") != `"2"` {
		t.Errorf(`If-Match "1" after the refused weak match: %d, ETag %q; want 200, "2"`, r.StatusCode, r.Header.Get("ETag"))
	}
	if r := write("refund", refund, "*"); r.StatusCode != http.StatusOK || r.Header.Get("ETag") != `"3"` {
		t.Errorf(`If-Match *: %d, ETag %q; want 200, "3"`, r.StatusCode, r.Header.Get("ETag"))
	}
	apitest.Problem(t, write("refund", refund, `"2"`), http.StatusPreconditionFailed)
	apitest.Problem(t, write("refund", refund, `3`), http.StatusBadRequest)
}
