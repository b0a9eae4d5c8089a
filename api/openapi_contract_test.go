package api_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/ordermill/ordermill/api"
	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/internal/testenv/apitest"
)

// contractTransport validates every response the test client receives
// against openapi.yaml, so each API test doubles as a contract test.
type contractTransport struct {
	t      testing.TB
	base   http.RoundTripper
	router routers.Router

	mu   sync.Mutex
	seen map[string]bool // "METHOD /path/{template} status"
}

func (ct *contractTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := ct.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return resp, err
	}
	route, params, err := ct.router.FindRoute(req)
	if err != nil {
		ct.t.Errorf("contract: %s %s is not described in openapi.yaml: %v", req.Method, req.URL.Path, err)
		return resp, nil
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		ct.t.Errorf("contract: %s %s answered %d, not as openapi.yaml says: %v\nbody: %s",
			req.Method, req.URL.Path, resp.StatusCode, err, body)
	}
	ct.mu.Lock()
	ct.seen[req.Method+" "+route.Path+" "+http.StatusText(resp.StatusCode)] = true
	ct.mu.Unlock()
	return resp, nil
}

// newContractEnv starts an API whose client checks every response against
// the OpenAPI description.
func newContractEnv(t *testing.T, opts ...apitest.Option) (*apitest.Env, *contractTransport) {
	t.Helper()
	doc, err := api.LoadOpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	doc.Servers = nil // match any host: httptest picks a port
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	e := apitest.New(t, opts...)
	ct := &contractTransport{t: t, base: e.Client.Transport, router: router, seen: map[string]bool{}}
	e.Client = &http.Client{Transport: ct}
	return e, ct
}

var ginParam = regexp.MustCompile(`[:*]([A-Za-z_]+)`)

// TestOpenAPIDescribesEveryRoute walks the routes Gin has registered: every
// route of the API must be in openapi.yaml, and everything described must exist.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	doc, err := api.LoadOpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	e := apitest.New(t)
	engine, ok := e.Platform.Handler().(api.Handler)
	if !ok {
		t.Fatalf("the api handler is a %T, not an api.Handler", e.Platform.Handler())
	}
	registered := map[string]bool{}
	for _, r := range engine.Routes() {
		if !isAPIRoute(r.Path) || r.Method == http.MethodHead {
			continue
		}
		path := ginParam.ReplaceAllString(r.Path, "{$1}")
		registered[r.Method+" "+path] = true
		if op := operation(doc, r.Method, path); op == nil {
			t.Errorf("%s %s is registered but not described in openapi.yaml", r.Method, path)
		}
	}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if !registered[method+" "+path] {
				t.Errorf("openapi.yaml describes %s %s, which is not registered", method, path)
			}
		}
	}
	if len(registered) < 20 {
		t.Fatalf("only %d API routes registered; the walk is broken", len(registered))
	}
}

// isAPIRoute says which routes the description must cover: the REST API, sign-in,
// webhook intake, the key set and health checks (not metrics or the SPA).
func isAPIRoute(path string) bool {
	for _, p := range []string{"/api/v1/", "/auth/", "/webhooks/", "/shopify/", "/.well-known/", "/healthz", "/readyz"} {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

func operation(doc *openapi3.T, method, path string) *openapi3.Operation {
	item := doc.Paths.Find(path)
	if item == nil {
		return nil
	}
	return item.GetOperation(method)
}

// TestOpenAPIContract drives every documented operation through the real
// server; the contract transport validates each response.
func TestOpenAPIContract(t *testing.T) {
	e, ct := newContractEnv(t)
	shop := "contract.myshopify.com"
	owner := e.UserToken(t, shop, domain.RoleOwner)

	check := func(resp *http.Response, status int) {
		t.Helper()
		if resp.StatusCode != status {
			t.Fatalf("%s %s: %d, want %d: %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, status,
				apitest.ReadBody(t, resp))
		}
		apitest.ReadBody(t, resp)
	}
	check(e.Do(t, http.MethodGet, "/healthz", "", nil), http.StatusOK)
	check(e.Do(t, http.MethodGet, "/.well-known/jwks.json", "", nil), http.StatusOK)
	check(e.Do(t, http.MethodGet, "/api/v1/openapi.json", "", nil), http.StatusOK)
	check(e.Do(t, http.MethodGet, "/api/v1/profile", owner, nil), http.StatusOK)
	check(e.Do(t, http.MethodGet, "/api/v1/profile", "", nil), http.StatusUnauthorized)

	// Sign-in.
	email := "contract-staff@contract.test"
	e.CreateUser(t, shop, email, domain.RoleStaff, "correct horse battery")
	check(e.Do(t, http.MethodPost, "/auth/login", "", map[string]string{"shop": shop, "email": email, "password": "wrong"}), http.StatusUnauthorized)
	_, refresh := e.Login(t, email, "correct horse battery")
	resp := e.Do(t, http.MethodPost, "/auth/refresh", "", map[string]string{"refresh_token": refresh})
	var tokens struct {
		RefreshToken string `json:"refresh_token"`
	}
	apitest.Decode(t, resp, &tokens)
	check(e.Do(t, http.MethodPost, "/auth/logout", "", map[string]string{"refresh_token": tokens.RefreshToken}), http.StatusNoContent)

	// Users and tokens.
	resp = e.Do(t, http.MethodPost, "/api/v1/users", owner, map[string]string{
		"email": "contract-auditor@contract.test", "name": "Audrey", "role": "auditor", "password": "correct horse battery",
	})
	var user struct{ ID string }
	apitest.Decode(t, resp, &user)
	check(e.Do(t, http.MethodGet, "/api/v1/users", owner, nil), http.StatusOK)
	check(e.Do(t, http.MethodPatch, "/api/v1/users/"+user.ID, owner, map[string]string{"role": "staff"}), http.StatusOK)
	check(e.Do(t, http.MethodPost, "/api/v1/users", owner, map[string]string{"email": "nope"}), http.StatusUnprocessableEntity)
	check(e.Do(t, http.MethodDelete, "/api/v1/users/"+user.ID, owner, nil), http.StatusNoContent)
	resp = e.Do(t, http.MethodPost, "/api/v1/tokens", owner, map[string]string{"name": "erp", "role": "staff"})
	var token struct{ ID, Token string }
	apitest.Decode(t, resp, &token)
	check(e.Do(t, http.MethodGet, "/api/v1/tokens", owner, nil), http.StatusOK)
	check(e.Do(t, http.MethodGet, "/api/v1/profile", token.Token, nil), http.StatusOK)
	check(e.Do(t, http.MethodDelete, "/api/v1/tokens/"+token.ID, owner, nil), http.StatusNoContent)

	// Orders: every endpoint, success and the usual errors.
	o := placeOrder(t, e, owner, sampleOrder("contract@example.com"))
	path := "/api/v1/orders/" + o.ID
	check(e.Fresh(t, path, owner, o.Position), http.StatusOK)
	check(e.Do(t, http.MethodGet, path, owner, nil), http.StatusOK) // from the cache
	check(e.Fresh(t, "/api/v1/orders?limit=1&q=contract", owner, o.Position), http.StatusOK)
	check(e.Do(t, http.MethodGet, "/api/v1/orders?limit=0", owner, nil), http.StatusBadRequest)
	check(e.Do(t, http.MethodGet, path+"/events", owner, nil), http.StatusOK)
	check(e.Do(t, http.MethodPost, path+"/pay", owner, map[string]any{}, "If-Match", `"9"`), http.StatusPreconditionFailed)
	check(e.Do(t, http.MethodPost, path+"/pay", owner, map[string]any{}), http.StatusOK)
	check(e.Do(t, http.MethodPost, path+"/pay", owner, map[string]any{}), http.StatusConflict)
	check(e.Do(t, http.MethodPost, path+"/refund", owner, map[string]any{"amount": 100, "lines": []map[string]any{{"line_id": "1", "quantity": 1}},
		"reason": "damaged", "restock": true}), http.StatusOK)
	check(e.Do(t, http.MethodPost, path+"/cancel", owner, map[string]string{"reason": "customer changed their mind"}), http.StatusOK)
	check(e.Do(t, http.MethodPost, path+"/cancel", owner, map[string]string{"reason": "again"}), http.StatusConflict)
	shipped := "/api/v1/orders/" + placeOrder(t, e, owner, sampleOrder("contract@example.com")).ID
	check(e.Do(t, http.MethodPatch, shipped, owner, map[string]any{"note": "Gift wrap", "tags": []string{"vip"}}), http.StatusOK)
	check(e.Do(t, http.MethodPatch, shipped, owner, map[string]any{"tags": []string{strings.Repeat("x", 256)}}), http.StatusUnprocessableEntity)
	check(e.Do(t, http.MethodPost, shipped+"/fulfil", owner, map[string]any{"lines": []map[string]any{{"line_id": "1", "quantity": 99}}}), http.StatusConflict)
	check(e.Do(t, http.MethodPost, shipped+"/fulfil", owner, map[string]any{"lines": []map[string]any{{"line_id": "1", "quantity": 1}},
		"carrier": "UPS", "tracking_number": "1Z999", "tracking_url": "https://ups.example.test/1Z999"}), http.StatusOK)
	check(e.Do(t, http.MethodPost, shipped+"/fulfil", owner, map[string]any{}), http.StatusOK)
	check(e.Do(t, http.MethodPost, "/api/v1/orders", owner, map[string]any{"currency": "EUR", "lines": []any{}}), http.StatusUnprocessableEntity)
	check(e.Do(t, http.MethodPost, "/api/v1/orders", owner, "{}", "Content-Type", "text/plain"), http.StatusUnsupportedMediaType)
	check(e.Do(t, http.MethodGet, "/api/v1/orders/00000000-0000-0000-0000-000000000001", owner, nil), http.StatusNotFound)
	check(e.Do(t, http.MethodGet, "/api/v1/orders/export?status=cancelled", owner, nil), http.StatusOK)
	check(e.Do(t, http.MethodGet, "/api/v1/dashboard", owner, nil), http.StatusOK)
	check(e.Do(t, http.MethodGet, "/api/v1/shop/backfill", owner, nil), http.StatusOK)
	check(e.Do(t, http.MethodGet, "/api/v1/dashboard?from=someday", owner, nil), http.StatusBadRequest)
	check(e.Do(t, http.MethodPost, "/api/v1/dead-letters/requeue", owner, map[string]any{"handler": "email", "dry_run": true}), http.StatusOK)
	check(e.Do(t, http.MethodPost, "/api/v1/webhooks/redeliver", owner, map[string]any{"topic": "orders/create", "dry_run": true}), http.StatusOK)

	// Inventory.
	check(e.Do(t, http.MethodPost, "/api/v1/inventory/SKU-C/adjust", owner, map[string]any{"delta": 5, "reason": "received"}), http.StatusOK)
	resp = e.Do(t, http.MethodPost, "/api/v1/inventory/SKU-C/count", owner, map[string]any{"on_hand": 4, "reason": "cycle count"})
	var inv struct{ Position string }
	apitest.Decode(t, resp, &inv)
	check(e.Fresh(t, "/api/v1/inventory/SKU-C", owner, inv.Position), http.StatusOK)
	check(e.Fresh(t, "/api/v1/inventory?backordered=false", owner, inv.Position), http.StatusOK)
	check(e.Do(t, http.MethodPost, "/api/v1/inventory/SKU-C/count", owner, map[string]any{"reason": "x"}), http.StatusUnprocessableEntity)
	check(e.Do(t, http.MethodGet, "/api/v1/inventory/NOPE", owner, nil), http.StatusNotFound)
	check(e.Do(t, http.MethodGet, "/api/v1/inventory/SKU-C/history?limit=1", owner, nil), http.StatusOK)
	check(e.Do(t, http.MethodGet, "/api/v1/cache/stats", owner, nil), http.StatusOK)
	check(e.Do(t, http.MethodGet, "/api/v1/status/lag", owner, nil), http.StatusOK)
	// Ready or not (the relay may still be electing a leader): both are described.
	apitest.ReadBody(t, e.Do(t, http.MethodGet, "/readyz", "", nil))

	// Shops and webhooks: register the shop, deliver two signed webhooks, read the log.
	check(e.Do(t, http.MethodPost, "/api/v1/shops", owner, map[string]any{
		"domain": shop, "name": "Contract", "currency": "EUR", "webhook_secrets": []string{"contract-secret"},
		"access_token": "shpat_contract",
	}), http.StatusCreated)
	check(e.Do(t, http.MethodGet, "/api/v1/shop/settings", owner, nil), http.StatusOK)
	check(e.Do(t, http.MethodPatch, "/api/v1/shop/settings", owner, map[string]any{"shopify_order_confirmations": true}), http.StatusOK)
	check(e.Do(t, http.MethodGet, "/api/v1/shops", owner, nil), http.StatusOK)
	check(e.Do(t, http.MethodGet, "/api/v1/shop/install", owner, nil), http.StatusOK)
	check(e.Do(t, http.MethodPatch, "/api/v1/shops/"+shop, owner, map[string]any{
		"webhook_secrets": []string{"contract-secret", "next-secret"},
	}), http.StatusOK)
	payload, err := os.ReadFile("../shopify/testdata/order.json")
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, []byte("contract-secret"))
	mac.Write(payload)
	signature := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for i, path := range []string{"/webhooks/shopify", "/webhooks/orders/create"} {
		check(e.Do(t, http.MethodPost, path, "", payload, "X-Shopify-Hmac-Sha256", signature,
			"X-Shopify-Shop-Domain", shop, "X-Shopify-Topic", "orders/create",
			"X-Shopify-Webhook-Id", "contract-"+strconv.Itoa(i)), http.StatusOK)
	}
	var webhooks struct{ Items []struct{ ID string } }
	for deadline := time.Now().Add(10 * time.Second); len(webhooks.Items) < 2; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the webhook log never listed both deliveries: %+v", webhooks)
		}
		apitest.Decode(t, e.Do(t, http.MethodGet, "/api/v1/webhooks", owner, nil), &webhooks)
	}
	check(e.Do(t, http.MethodGet, "/api/v1/webhooks/"+webhooks.Items[0].ID, owner, nil), http.StatusOK)
	check(e.Do(t, http.MethodPost, "/api/v1/webhooks/"+webhooks.Items[0].ID+"/redeliver", owner, nil), http.StatusOK)
	// A data request, processed by redelivery (no worker runs here), then exported.
	request := []byte(`{"shop_id":954889,"shop_domain":"` + shop + `","orders_requested":[450789469],` +
		`"customer":{"id":207119551,"email":"bob@example.test","phone":"555-625-1199"},"data_request":{"id":9999}}`)
	mac = hmac.New(sha256.New, []byte("contract-secret"))
	mac.Write(request)
	check(e.Do(t, http.MethodPost, "/webhooks/shopify", "", request, "X-Shopify-Hmac-Sha256", base64.StdEncoding.EncodeToString(mac.Sum(nil)),
		"X-Shopify-Shop-Domain", shop, "X-Shopify-Topic", "customers/data_request", "X-Shopify-Webhook-Id", "contract-request"), http.StatusOK)
	var requested struct{ Items []struct{ ID string } }
	for deadline := time.Now().Add(10 * time.Second); len(requested.Items) < 1; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the webhook log never listed the data request")
		}
		apitest.Decode(t, e.Do(t, http.MethodGet, "/api/v1/webhooks?topic=customers/data_request", owner, nil), &requested)
	}
	check(e.Do(t, http.MethodPost, "/api/v1/webhooks/"+requested.Items[0].ID+"/redeliver", owner, nil), http.StatusOK)
	var privacyRequests struct{ Items []struct{ ID string } }
	apitest.Decode(t, e.Do(t, http.MethodGet, "/api/v1/privacy/requests", owner, nil), &privacyRequests)
	if len(privacyRequests.Items) != 1 {
		t.Fatalf("privacy requests: %+v, want the data request", privacyRequests)
	}
	check(e.Do(t, http.MethodGet, "/api/v1/privacy/requests/"+privacyRequests.Items[0].ID+"/export", owner, nil), http.StatusOK)
	check(e.Do(t, http.MethodGet, "/api/v1/dead-letters?all=true", owner, nil), http.StatusOK)
	check(e.Do(t, http.MethodPost, "/api/v1/dead-letters/1/requeue", owner, nil), http.StatusNotFound)

	// Reports and emails; no worker runs here, so a report stays requested.
	check(e.Do(t, http.MethodGet, "/api/v1/emails", owner, nil), http.StatusOK)
	resp = e.Do(t, http.MethodPost, "/api/v1/reports", owner, map[string]string{
		"kind": "sales_summary", "from": "2024-05-01", "to": "2024-05-31",
	})
	var report struct{ ID, Position string }
	apitest.Decode(t, resp, &report)
	check(e.Fresh(t, "/api/v1/reports", owner, report.Position), http.StatusOK)
	check(e.Fresh(t, "/api/v1/reports/"+report.ID, owner, report.Position), http.StatusOK)
	check(e.Do(t, http.MethodGet, "/api/v1/reports/"+report.ID+"/download", owner, nil), http.StatusConflict)

	// Every operation of these tags was exercised with a success status, except
	// those that need a worker to finish or give up (the workers' tests).
	// Operations of other tags are validated wherever their tests call them
	// through newContractEnv.
	covered := []string{"auth", "identity", "orders", "inventory", "webhooks", "operations"}
	doc, _ := api.LoadOpenAPI()
	var missing []string
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if !slices.ContainsFunc(op.Tags, func(tag string) bool { return slices.Contains(covered, tag) }) {
				continue
			}
			ok := false
			for status := range op.Responses.Map() {
				code, _ := strconv.Atoi(status)
				if (strings.HasPrefix(status, "2") || path == "/readyz") && ct.seen[method+" "+path+" "+http.StatusText(code)] {
					ok = true
				}
			}
			if !ok && op.OperationID != "requeueDeadLetter" && op.OperationID != "downloadReport" {
				missing = append(missing, method+" "+path)
			}
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("operations never answered with success in the contract test: %v", missing)
	}
}
