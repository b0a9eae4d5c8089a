package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/internal/testenv/apitest"
)

type shopSettingsOut struct {
	ShopifyOrderConfirmations bool `json:"shopify_order_confirmations"`
	Version                   int  `json:"version"`
}

// Shopify order confirmations are off until the owner turns them on; the
// setting is the shop's, read by everyone of the shop, changed by owners.
func TestShopSettings(t *testing.T) {
	const path = "/api/v1/shop/settings"
	e, owner, staff := newRegisteredShop(t, path, "settings.myshopify.com", "shpat_settings")

	get := func(token string) shopSettingsOut {
		t.Helper()
		resp := e.Do(t, http.MethodGet, path, token, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET: %d %s", resp.StatusCode, apitest.ReadBody(t, resp))
		}
		var out shopSettingsOut
		apitest.Decode(t, resp, &out)
		return out
	}
	if got := get(staff); got.ShopifyOrderConfirmations || got.Version != 1 {
		t.Fatalf("default settings: %+v", got)
	}
	apitest.Problem(t, e.Do(t, http.MethodPatch, path, staff, map[string]any{"shopify_order_confirmations": true}), http.StatusForbidden)
	resp := e.Do(t, http.MethodPatch, path, owner, map[string]any{"shopify_order_confirmations": true}, "If-Match", `"1"`)
	var patched shopSettingsOut
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PATCH: %d %s", resp.StatusCode, apitest.ReadBody(t, resp))
	}
	if resp.Header.Get("ETag") != `"2"` {
		t.Fatalf("ETag %q", resp.Header.Get("ETag"))
	}
	apitest.Decode(t, resp, &patched)
	if !patched.ShopifyOrderConfirmations || patched.Version != 2 || get(staff) != patched {
		t.Fatalf("after PATCH: %+v, read back %+v", patched, get(staff))
	}
	// Unchanged settings record nothing; a stale If-Match is refused.
	resp = e.Do(t, http.MethodPatch, path, owner, map[string]any{})
	var same shopSettingsOut
	apitest.Decode(t, resp, &same)
	if same != patched {
		t.Fatalf("empty PATCH: %+v", same)
	}
	apitest.Problem(t, e.Do(t, http.MethodPatch, path, owner, map[string]any{"shopify_order_confirmations": false}, "If-Match", `"1"`),
		http.StatusPreconditionFailed)
	apitest.Problem(t, e.Do(t, http.MethodPatch, path, owner, map[string]any{"shopify_order_confirmations": "yes"}), http.StatusBadRequest)
}

// The install status says how the shop got its token, never the token, and
// follows an uninstall.
func TestShopInstallStatus(t *testing.T) {
	const shop, path = "install-status.myshopify.com", "/api/v1/shop/install"
	e, owner, staff := newRegisteredShop(t, path, shop, "shpat_install")
	apitest.Problem(t, e.Do(t, http.MethodGet, path, staff, nil), http.StatusForbidden)

	type install struct {
		Installed     bool    `json:"installed"`
		UninstalledAt *string `json:"uninstalled_at"`
		Method        string  `json:"method"`
		APIVersion    string  `json:"api_version"`
		Subscriptions *int    `json:"subscriptions"`
		ReconciledAt  *string `json:"reconciled_at"`
	}
	var got install
	resp := e.Do(t, http.MethodGet, path, owner, nil)
	body := apitest.ReadBody(t, resp)
	if strings.Contains(body, "shpat_install") {
		t.Fatalf("the install status discloses the token: %s", body)
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if !got.Installed || got.Method != "api" || got.APIVersion != e.Config.ShopifyAPIVersion || got.Subscriptions != nil || got.ReconciledAt != nil {
		t.Fatalf("registered through the API: %+v", got)
	}

	if err := e.Platform.Shops.MarkUninstalled(context.Background(), shop, time.Now()); err != nil {
		t.Fatal(err)
	}
	apitest.Decode(t, e.Do(t, http.MethodGet, path, owner, nil), &got)
	if got.Installed || got.UninstalledAt == nil || got.Method != "api" {
		t.Fatalf("after the uninstall: %+v", got)
	}
}

// newRegisteredShop is an API where shop's owner registered shop with
// token, and the owner's and a staff member's tokens. path, a route about
// the caller's shop, answered 404 before the registration.
func newRegisteredShop(t *testing.T, path, shop, token string) (e *apitest.Env, owner, staff string) {
	t.Helper()
	e, _ = newContractEnv(t)
	owner = e.UserToken(t, shop, domain.RoleOwner)
	staff = e.UserToken(t, shop, domain.RoleStaff)
	apitest.Problem(t, e.Do(t, http.MethodGet, path, owner, nil), http.StatusNotFound)
	resp := e.Do(t, http.MethodPost, "/api/v1/shops", owner, map[string]any{"domain": shop, "name": shop,
		"currency": "EUR", "webhook_secrets": []string{"secret"}, "access_token": token})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("register: %d %s", resp.StatusCode, apitest.ReadBody(t, resp))
	}
	resp.Body.Close()
	return e, owner, staff
}
