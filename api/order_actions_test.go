package api_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/ordermill/ordermill/domain"
)

// Every order read and write carries the actions its state allows, and the
// commands agree: what is left out is refused.
func TestOrderAllowedActions(t *testing.T) {
	e, _ := newContractEnv(t)
	owner := e.UserToken(t, "actions.myshopify.com", domain.RoleOwner)
	want := func(what string, got []string, actions ...string) {
		t.Helper()
		if !slices.Equal(got, actions) {
			t.Fatalf("%s: allowed_actions %q, want %q", what, got, actions)
		}
	}
	o := placeOrder(t, e, owner, sampleOrder("actions@example.com"))
	path := "/api/v1/orders/" + o.ID
	want("placed, as written", o.AllowedActions, "cancel", "pay", "fulfil", "annotate")
	read, _ := freshOrder(t, e, path, owner, o.Position)
	want("placed, as read", read.AllowedActions, "cancel", "pay", "fulfil", "annotate")

	paid, _ := expectOrder(t, e, http.MethodPost, path+"/pay", owner, map[string]any{}, http.StatusOK)
	want("paid, as written", paid.AllowedActions, "cancel", "refund", "fulfil", "annotate")
	read, _ = freshOrder(t, e, path, owner, paid.Position)
	want("paid, as read", read.AllowedActions, "cancel", "refund", "fulfil", "annotate")

	voided := placeOrder(t, e, owner, sampleOrder("actions@example.com"))
	cancelled, _ := expectOrder(t, e, http.MethodPost, "/api/v1/orders/"+voided.ID+"/cancel", owner,
		map[string]any{"reason": "duplicate"}, http.StatusOK)
	want("voided", cancelled.AllowedActions, "annotate")
	for cmd, body := range map[string]any{"/pay": map[string]any{}, "/cancel": map[string]any{"reason": "again"},
		"/refund": map[string]any{"amount": 1}} {
		p := e.Do(t, http.MethodPost, "/api/v1/orders/"+voided.ID+cmd, owner, body)
		if p.StatusCode != http.StatusConflict {
			t.Errorf("%s on an order allowing only annotate: %d, want 409", cmd, p.StatusCode)
		}
		p.Body.Close()
	}

	page := listOrders(t, e, owner, "", cancelled.Position)
	byID := map[string][]string{}
	for _, item := range page.Items {
		byID[item.ID] = item.AllowedActions
	}
	want("paid, as listed", byID[o.ID], "cancel", "refund", "fulfil", "annotate")
	want("voided, as listed", byID[voided.ID], "annotate")
}
