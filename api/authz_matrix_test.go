package api_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/internal/testenv/apitest"
)

// routeRules is the authorisation policy as the tests expect it, one entry
// per route the router serves. For an /api/v1 route it names who may call it:
// O owner, S staff, A auditor, T an API token (with the staff role); "-"
// marks a caller that must get 403. "----" routes are the platform
// operator's (TestOperatorRoutes calls them as the operator). "public" routes take no user credentials
// (Shopify's signature, a refresh token or nothing). A route added without an
// entry here fails TestAuthorizationMatrix: decide who may call it first.
var routeRules = map[string]string{
	"GET /healthz":                     "public",
	"GET /readyz":                      "public",
	"GET /metrics":                     "public",
	"GET /.well-known/jwks.json":       "public",
	"POST /auth/login":                 "public",
	"POST /auth/refresh":               "public",
	"POST /auth/logout":                "public",
	"GET /api/v1/openapi.json":         "public",
	"POST /webhooks/shopify":           "public",
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

	"POST /api/v1/orders":            "OS-T",
	"GET /api/v1/orders":             "OSAT",
	"GET /api/v1/orders/:id":         "OSAT",
	"GET /api/v1/orders/:id/events":  "OSAT",
	"POST /api/v1/orders/:id/cancel": "OS-T",
	"POST /api/v1/orders/:id/pay":    "OS-T",
	"POST /api/v1/orders/:id/refund": "OS-T",
	"GET /api/v1/cache/stats":        "O-A-",
	"GET /api/v1/status/lag":         "OSAT",

	"GET /api/v1/inventory":              "OSAT",
	"GET /api/v1/inventory/:key":         "OSAT",
	"POST /api/v1/inventory/:key/adjust": "OS-T",
	"POST /api/v1/inventory/:key/count":  "OS-T",

	"GET /api/v1/webhooks":                  "OSAT",
	"GET /api/v1/webhooks/:id":              "OSAT",
	"POST /api/v1/webhooks/:id/redeliver":   "OS-T",
	"GET /api/v1/dead-letters":              "OSAT",
	"POST /api/v1/dead-letters/:id/requeue": "OS-T",

	"POST /api/v1/reports":             "OSAT",
	"GET /api/v1/reports":              "OSAT",
	"GET /api/v1/reports/:id":          "OSAT",
	"GET /api/v1/reports/:id/download": "OSAT",
	"GET /api/v1/emails":               "OSAT",

	"GET /api/v1/privacy/requests":            "O---",
	"GET /api/v1/privacy/requests/:id/export": "O---",

	"GET /api/v1/audit/verify":                     "O-A-",
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

// TestAuthorizationMatrix calls every authenticated route as every kind of
// caller of shop A, on shop A's resources and on shop B's: each answer
// follows routeRules, shop B's data never shows and shop B never changes.
func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	const shopA, shopB = "matrix-a.myshopify.com", "matrix-b.myshopify.com"
	env := apitest.New(t)
	engine, ok := env.Platform.Handler().(*gin.Engine)
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
		call := func(who, token, path string) *http.Response {
			var body any
			if rt.Method == http.MethodPost || rt.Method == http.MethodPatch {
				body = map[string]any{}
			}
			if key == "POST /api/v1/shops" {
				// Registering another shop is refused whoever asks; use the caller's own.
				body = map[string]any{"domain": shopA}
			}
			resp := env.Do(t, rt.Method, path, token, body)
			calls++
			checkSecurityHeaders(t, who+" "+rt.Method+" "+path, resp.Header)
			return resp
		}
		t.Run(key, func(t *testing.T) {
			apitest.Problem(t, call("anonymous", "", own.path(rt.Path)), http.StatusUnauthorized)
			for i, who := range []string{"O", "S", "A", "T"} {
				allowed := rule[i] != '-'
				resp := call(who, callers[who], own.path(rt.Path))
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
					resp := call(who, callers[who], path)
					// Problems name the path they answer; the ids in it are the caller's own words.
					text := strings.ReplaceAll(apitest.ReadBody(t, resp), path, "")
					switch {
					case !allowed && resp.StatusCode != http.StatusForbidden:
						t.Errorf("%s on shop B's resource: %d, want 403: %.200s", who, resp.StatusCode, text)
					case allowed && strings.Contains(rt.Path, ":key"):
						// A stock key names an item of the caller's own shop: shop B's
						// item of the same key is out of reach, so this is a miss
						// (or a refused body), never a hit on shop B.
						if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusUnprocessableEntity {
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
