package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ordermill/ordermill/api"
	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/testenv/apitest"
)

// routeRules is the authorisation policy as the tests expect it, one entry
// per route the router serves. For an /api/v1 route it names who may call it:
// O owner, S staff, A auditor, T an API token (with the staff role); "-"
// marks a caller that must get 403. An API token with the owner role (W in
// the test) may call exactly what an owner may. "----" routes are the platform
// operator's (TestOperatorRoutes calls them as the operator). "public" routes take no user credentials
// (Shopify's signature, a refresh token or nothing). A route added without an
// entry here fails TestAuthorizationMatrix: decide who may call it first.
var routeRules = map[string]string{
	"GET /healthz":                     "public",
	"GET /readyz":                      "public",
	"GET /.well-known/jwks.json":       "public",
	"POST /auth/login":                 "public",
	"POST /auth/refresh":               "public",
	"POST /auth/logout":                "public",
	"GET /api/v1/openapi.json":         "public",
	"POST /webhooks/shopify":           "public",
	"GET /shopify/install":             "public", // signed by Shopify (hmac), not by a user
	"GET /shopify/callback":            "public",
	"POST /shopify/token-exchange":     "public", // an App Bridge session token, not ours
	"POST /webhooks/:topic_a/:topic_b": "public",

	"GET /api/v1/profile":         "OSAT",
	"GET /api/v1/users":           "O---",
	"POST /api/v1/users":          "O---",
	"PATCH /api/v1/users/:id":     "O---",
	"DELETE /api/v1/users/:id":    "O---",
	"GET /api/v1/tokens":          "O---",
	"POST /api/v1/tokens":         "O---",
	"DELETE /api/v1/tokens/:id":   "O---",
	"GET /api/v1/shops":           "O---",
	"POST /api/v1/shops":          "O---",
	"PATCH /api/v1/shops/:domain": "O---",
	"GET /api/v1/shop/settings":   "OSAT",
	"GET /api/v1/shop/backfill":   "OSAT",
	"PATCH /api/v1/shop/settings": "O---",
	"GET /api/v1/shop/install":    "O---",

	"POST /api/v1/orders":            "OS-T",
	"GET /api/v1/orders":             "OSAT",
	"GET /api/v1/orders/:id":         "OSAT",
	"GET /api/v1/orders/export":      "OSAT",
	"GET /api/v1/dashboard":          "OSAT",
	"GET /api/v1/orders/:id/events":  "OSAT",
	"POST /api/v1/orders/:id/cancel": "OS-T",
	"POST /api/v1/orders/:id/pay":    "OS-T",
	"POST /api/v1/orders/:id/refund": "OS-T",
	"POST /api/v1/orders/:id/fulfil": "OS-T",
	"PATCH /api/v1/orders/:id":       "OS-T",
	"GET /api/v1/cache/stats":        "O-A-",
	"GET /api/v1/status/lag":         "OS-T",

	"GET /api/v1/inventory":              "OSAT",
	"GET /api/v1/inventory/:key":         "OSAT",
	"GET /api/v1/inventory/:key/history": "OSAT",
	"POST /api/v1/inventory/:key/adjust": "OS-T",
	"POST /api/v1/inventory/:key/count":  "OS-T",

	"GET /api/v1/webhooks":                  "OSAT",
	"GET /api/v1/webhooks/:id":              "OSAT",
	"POST /api/v1/webhooks/:id/redeliver":   "OS-T",
	"GET /api/v1/dead-letters":              "OSAT",
	"POST /api/v1/dead-letters/:id/requeue": "OS-T",
	"POST /api/v1/dead-letters/requeue":     "OS-T",
	"POST /api/v1/webhooks/redeliver":       "OS-T",

	"POST /api/v1/reports":             "OSAT",
	"GET /api/v1/reports":              "OSAT",
	"GET /api/v1/reports/:id":          "OSAT",
	"GET /api/v1/reports/:id/download": "OSAT",
	"GET /api/v1/emails":               "OSAT",

	"GET /api/v1/privacy/requests":            "O---",
	"GET /api/v1/privacy/requests/:id/export": "O---",

	"GET /api/v1/audit/verify":                     "O-A-",
	"GET /api/v1/audit/status":                     "O-A-",
	"POST /api/v1/audit/verify-runs":               "O-A-",
	"POST /api/v1/audit/verify":                    "----",
	"GET /api/v1/audit/webhooks/:shop/:webhook_id": "O-A-",
	"GET /api/v1/audit/orders/:id/state":           "O-A-",
	"GET /api/v1/audit/export":                     "O-A-",
	"POST /api/v1/audit/rebuild":                   "----",
}

// shopResources are ids of things one shop owns, to put in route paths.
type shopResources struct {
	shop, order, user, token, webhookRow, webhookID, report, sku string
}

// path fills a route's parameters with r's ids.
func (r shopResources) path(route string) string {
	id := map[string]string{
		"/api/v1/orders/": r.order, "/api/v1/audit/orders/": r.order, "/api/v1/users/": r.user,
		"/api/v1/tokens/": r.token, "/api/v1/webhooks/": r.webhookRow, "/api/v1/reports/": r.report,
		"/api/v1/dead-letters/": "1", "/api/v1/privacy/requests/": uuid.NewString(),
	}
	for prefix, v := range id {
		if strings.HasPrefix(route, prefix+":id") {
			route = strings.Replace(route, ":id", v, 1)
		}
	}
	return strings.NewReplacer(":key", r.sku, ":domain", r.shop, ":shop", r.shop, ":webhook_id", r.webhookID).Replace(route)
}

// matrixBodies are valid request bodies, so that a call reaches its handler
// and the check is the handler's, not the decoder's. Each call gets a fresh
// one (new emails, refund ids).
func matrixBodies(r shopResources, shopA string) map[string]func() any {
	return map[string]func() any{
		"POST /api/v1/users": func() any {
			return map[string]any{"email": "new-" + uuid.NewString()[:8] + "@matrix.test", "name": "New", "role": "staff", "password": password}
		},
		"PATCH /api/v1/users/:id": func() any { return map[string]any{"role": "auditor"} },
		"POST /api/v1/tokens":     func() any { return map[string]any{"name": "matrix", "role": "staff"} },
		// Registering another shop is refused whoever asks; use the caller's own.
		"POST /api/v1/shops": func() any {
			return map[string]any{"domain": shopA, "name": "Again", "currency": "JPY", "webhook_secrets": []string{"secret-" + shopA},
				"access_token": "shpat_again"}
		},
		"PATCH /api/v1/shops/:domain": func() any { return map[string]any{"webhook_secrets": []string{"secret-" + r.shop}} },
		"PATCH /api/v1/shop/settings": func() any { return map[string]any{"shopify_order_confirmations": true} },
		"POST /api/v1/orders": func() any {
			return map[string]any{"currency": "JPY", "email": "m@matrix.test",
				"lines": []map[string]any{{"sku": r.sku, "title": "Mug", "quantity": 1, "unit_price": 1500}}}
		},
		"POST /api/v1/orders/:id/cancel":     func() any { return map[string]any{"reason": "customer"} },
		"POST /api/v1/orders/:id/pay":        func() any { return map[string]any{"amount": 1500} },
		"POST /api/v1/orders/:id/refund":     func() any { return map[string]any{"refund_id": "r-" + uuid.NewString(), "amount": 100} },
		"POST /api/v1/orders/:id/fulfil":     func() any { return map[string]any{"carrier": "UPS"} },
		"PATCH /api/v1/orders/:id":           func() any { return map[string]any{"note": "matrix"} },
		"POST /api/v1/inventory/:key/adjust": func() any { return map[string]any{"delta": 1, "reason": "matrix"} },
		"POST /api/v1/inventory/:key/count":  func() any { return map[string]any{"on_hand": 7, "reason": "matrix"} },
		"POST /api/v1/reports":               func() any { return map[string]any{"kind": "sales_summary", "from": "2025-01-01", "to": "2025-01-31"} },
		"POST /api/v1/dead-letters/requeue":  func() any { return map[string]any{"dry_run": true} },
		"POST /api/v1/webhooks/redeliver":    func() any { return map[string]any{"dry_run": true} },
		// This test sends no email, so the rebuilt read model holds no rows.
		"POST /api/v1/audit/rebuild": func() any { return map[string]any{"projection": "emails"} },
	}
}

// TestAuthorizationMatrix calls every authenticated route as every kind of
// caller of shop A, with valid bodies, on shop A's resources and on shop
// B's: each answer follows routeRules, shop B's data never shows and shop B
// never changes.
func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	const shopA, shopB = "matrix-a.myshopify.com", "matrix-b.myshopify.com"
	env := apitest.New(t)
	engine, ok := env.Platform.Handler().(api.Handler)
	if !ok {
		t.Fatalf("the api handler is a %T, not the gin router", env.Platform.Handler())
	}

	resources := map[string]shopResources{}
	callers := map[string]string{}
	for _, shop := range []string{shopA, shopB} {
		owner := env.UserToken(t, shop, domain.RoleOwner)
		r := shopResources{shop: shop, sku: "ONLY-" + strings.ToUpper(shop[:8])}
		status(t, env.Do(t, "POST", "/api/v1/shops", owner, map[string]any{"domain": shop, "name": shop,
			"currency": "JPY", "webhook_secrets": []string{"secret-" + shop}, "access_token": "shpat_" + shop}), http.StatusCreated)
		r.order = create(t, env, owner, "/api/v1/orders", http.StatusCreated, map[string]any{"currency": "JPY", "email": "c@" + shop,
			"lines": []map[string]any{{"sku": r.sku, "title": "Mug", "quantity": 1, "unit_price": 1500}}}).ID
		status(t, env.Do(t, "POST", "/api/v1/inventory/"+r.sku+"/adjust", owner, map[string]any{"delta": 5, "reason": "stock"}), http.StatusOK)
		r.user = env.CreateUser(t, shop, "target@"+strings.TrimSuffix(shop, ".myshopify.com")+".test", domain.RoleStaff, password).String()
		r.token = create(t, env, owner, "/api/v1/tokens", http.StatusCreated, map[string]any{"name": "target", "role": "staff"}).ID
		r.report = create(t, env, owner, "/api/v1/reports", http.StatusAccepted, map[string]any{"kind": "sales_summary", "from": "2025-01-01", "to": "2025-01-31"}).ID
		r.webhookID = "w-" + shop
		body := []byte(orderBody)
		status(t, deliver(t, env, "/webhooks/shopify", shop, "orders/create", r.webhookID, body, sign(body, "secret-"+shop)), http.StatusOK)
		r.webhookRow = waitWebhookRow(t, env, owner, r.webhookID)
		resources[shop] = r
		if shop == shopA {
			callers["O"] = owner
			callers["S"] = env.UserToken(t, shop, domain.RoleStaff)
			callers["A"] = env.UserToken(t, shop, domain.RoleAuditor)
			callers["T"] = create(t, env, owner, "/api/v1/tokens", http.StatusCreated, map[string]any{"name": "integration", "role": "staff"}).Token
			callers["W"] = create(t, env, owner, "/api/v1/tokens", http.StatusCreated, map[string]any{"name": "admin", "role": "owner"}).Token
		}
	}
	own, other := resources[shopA], resources[shopB]
	if own.report == "" || other.report == "" || own.token == "" {
		t.Fatalf("setup incomplete: %+v %+v", own, other)
	}
	leaks := []string{shopB, other.order, other.user, other.token, other.webhookRow, other.report, other.sku}
	eventsOfB := func() int64 {
		var n int64
		if err := env.Platform.Pool.QueryRow(context.Background(), `SELECT count(*) FROM events WHERE tenant_id = $1`, shopB).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	bBefore := eventsOfB()
	eventsOfBAt := func(position int64) int64 {
		var n int64
		if err := env.Platform.Pool.QueryRow(context.Background(), `SELECT count(*) FROM events WHERE tenant_id = $1 AND global_position = $2`,
			shopB, position).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	seen := map[string]bool{}
	calls := 0
	for _, rt := range engine.Routes() {
		key := rt.Method + " " + rt.Path
		seen[key] = true
		rule, ok := routeRules[key]
		if !ok {
			t.Errorf("%s has no entry in routeRules: add who may call it", key)
			continue
		}
		if rule == "public" {
			if strings.HasPrefix(rt.Path, "/api/v1/") && rt.Path != "/api/v1/openapi.json" {
				t.Errorf("%s is under /api/v1 but marked public", key)
			}
			continue
		}
		call := func(who, token, path string, r shopResources) *http.Response {
			var body any
			if b, ok := matrixBodies(r, shopA)[key]; ok {
				body = b()
			}
			resp := env.Do(t, rt.Method, path, token, body)
			calls++
			checkSecurityHeaders(t, who+" "+rt.Method+" "+path, resp.Header)
			return resp
		}
		t.Run(key, func(t *testing.T) {
			apitest.Problem(t, call("anonymous", "", own.path(rt.Path), own), http.StatusUnauthorized)
			for i, who := range []string{"O", "S", "A", "T", "W"} {
				col := i
				if who == "W" {
					col = 0 // an owner-role token may do what an owner may
				}
				allowed := rule[col] != '-'
				resp := call(who, callers[who], own.path(rt.Path), own)
				switch {
				case !allowed:
					apitest.Problem(t, resp, http.StatusForbidden)
				case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden || resp.StatusCode >= 500:
					t.Errorf("%s on its own shop: %d %s", who, resp.StatusCode, apitest.ReadBody(t, resp))
				default:
					text := apitest.ReadBody(t, resp)
					for _, s := range leaks {
						if strings.Contains(text, s) {
							t.Errorf("%s on its own shop sees shop B's %q: %.200s", who, s, text)
						}
					}
				}
				if strings.Contains(rt.Path, ":") {
					path := other.path(rt.Path)
					resp := call(who, callers[who], path, other)
					// Problems name the path they answer; the ids in it are the caller's own words.
					text := strings.ReplaceAll(apitest.ReadBody(t, resp), path, "")
					switch {
					case !allowed && resp.StatusCode != http.StatusForbidden:
						t.Errorf("%s on shop B's resource: %d, want 403: %.200s", who, resp.StatusCode, text)
					case allowed && strings.Contains(rt.Path, ":key"):
						// A stock key names an item of the caller's own shop: a write
						// with it stocks shop A's own item of that key, and a read
						// finds that item or nothing, never shop B's.
						text = strings.ReplaceAll(text, other.sku, "")
						switch resp.StatusCode {
						case http.StatusNotFound, http.StatusUnprocessableEntity:
						case http.StatusOK:
							var item struct{ Position string }
							if err := json.Unmarshal([]byte(text), &item); err != nil {
								t.Fatalf("%s on stock key: %v: %.200s", who, err, text)
							}
							if pos, err := eventstore.ParsePosition(item.Position); err != nil || eventsOfBAt(pos.GlobalPos) != 0 {
								t.Errorf("%s on shop B's stock key answers shop B's item: %.200s", who, text)
							}
						default:
							t.Errorf("%s on shop B's stock key: %d: %.200s", who, resp.StatusCode, text)
						}
					case allowed && resp.StatusCode != http.StatusNotFound:
						t.Errorf("%s on shop B's resource: %d, want 404: %.200s", who, resp.StatusCode, text)
					}
					for _, s := range leaks[1:] {
						if strings.Contains(text, s) {
							t.Errorf("%s on shop B's resource sees %q", who, s)
						}
					}
				}
			}
		})
	}
	for key := range routeRules {
		if !seen[key] {
			t.Errorf("routeRules has %s, which the router does not serve", key)
		}
	}
	if after := eventsOfB(); after != bBefore {
		t.Errorf("shop A's callers changed shop B: %d events appended", after-bBefore)
	}
	t.Logf("authorization matrix: %d routes, %d calls", len(seen), calls)
}

type created struct {
	ID    string `json:"id"`
	Token string `json:"token"`
}

// create posts body and returns the created resource's id (and secret, for a token).
func create(t *testing.T, env *apitest.Env, token, path string, want int, body any) created {
	t.Helper()
	resp := env.Do(t, http.MethodPost, path, token, body)
	if resp.StatusCode != want {
		t.Fatalf("POST %s: %d %s", path, resp.StatusCode, apitest.ReadBody(t, resp))
	}
	var c created
	apitest.Decode(t, resp, &c)
	if c.ID == "" {
		t.Fatalf("POST %s answered no id", path)
	}
	return c
}

type webhookRow struct {
	ID        uuid.UUID `json:"id"`
	WebhookID string    `json:"webhook_id"`
}

// waitWebhookRow waits until the webhook log lists the delivery and returns its row id.
func waitWebhookRow(t *testing.T, env *apitest.Env, token, webhookID string) string {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		var page struct {
			Items []webhookRow `json:"items"`
		}
		resp := env.Do(t, "GET", "/api/v1/webhooks", token, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("webhook log: %d %s", resp.StatusCode, apitest.ReadBody(t, resp))
		}
		apitest.Decode(t, resp, &page)
		if i := slices.IndexFunc(page.Items, func(w webhookRow) bool { return w.WebhookID == webhookID }); i >= 0 {
			return page.Items[i].ID.String()
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("webhook %s never reached the webhook log", webhookID)
	return ""
}
