package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/internal/config"
	"github.com/ordermill/ordermill/internal/testenv/apitest"
)

// eventCount is the number of stored events: a refused request must not change it.
func eventCount(t *testing.T, env *apitest.Env) int64 {
	t.Helper()
	var n int64
	if err := env.Platform.Pool.QueryRow(context.Background(), `SELECT count(*) FROM events`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// checkSecurityHeaders fails unless resp carries the browser protections every
// response must have, and no CORS grant.
func checkSecurityHeaders(t *testing.T, what string, h http.Header) {
	t.Helper()
	for name, want := range map[string]string{
		"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
	} {
		if got := h.Get(name); got != want {
			t.Errorf("%s: %s = %q, want %q", what, name, got, want)
		}
	}
	if !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("%s: Content-Security-Policy %q", what, h.Get("Content-Security-Policy"))
	}
	for name := range h {
		if strings.HasPrefix(name, "Access-Control-") {
			t.Errorf("%s: CORS header %s = %q", what, name, h.Get(name))
		}
	}
}

// rawRequest sends request bytes exactly as given (no client-side path
// cleaning or escaping) and reads the answer.
func rawRequest(t *testing.T, env *apitest.Env, request string) (*http.Response, string) {
	t.Helper()
	u, err := url.Parse(env.URL)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, request); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%q: %v", request, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

// TestHostileRequests sends malformed, oversized, ambiguous and malicious
// requests: each gets its 4xx as problem+json, with the security headers,
// and stores nothing.
func TestHostileRequests(t *testing.T) {
	t.Parallel()
	const shop = "hostile.myshopify.com"
	env := apitest.New(t, func(c *config.Config) { c.WebhookMaxBytes = 4096 })
	owner := env.UserToken(t, shop, domain.RoleOwner)
	status(t, env.Do(t, http.MethodPost, "/api/v1/shops", owner, map[string]any{"domain": shop, "name": "Hostile",
		"currency": "JPY", "webhook_secrets": []string{"s1"}, "access_token": "shpat_hostile"}), http.StatusCreated)

	body := []byte(orderBody)
	good := sign(body, "s1")
	webhook := func(extra ...string) []string {
		return append([]string{"Content-Type", "application/json", "X-Shopify-Shop-Domain", shop,
			"X-Shopify-Topic", "orders/create", "X-Shopify-Webhook-Id", "w-hostile"}, extra...)
	}
	line := func(fields string) string {
		return `{"currency":"JPY","email":"a@example.test","lines":[{"sku":"MUG",` + fields + `}]}`
	}
	deep := strings.Repeat(`{"lines":[`, 20000) + strings.Repeat(`]}`, 20000)

	cases := []struct {
		name, method, path string
		body               string
		headers            []string // added to the request; a name given twice is sent twice
		token              string
		want               int
	}{
		{"oversized JSON body", "POST", "/api/v1/orders", `{"name":"` + strings.Repeat("x", 2<<20) + `"}`, nil, owner, 413},
		{"deeply nested JSON", "POST", "/api/v1/orders", deep, nil, owner, 400},
		{"invalid UTF-8 in a string", "POST", "/api/v1/orders", line(`"title":"caf\xe9","quantity":1,"unit_price":100`), nil, owner, 400},
		{"invalid UTF-8 outside strings", "POST", "/api/v1/orders", "{\"name\":\"x\"}\xff", nil, owner, 400},
		{"wrong content type", "POST", "/api/v1/orders", line(`"quantity":1,"unit_price":100`), []string{"Content-Type", "text/plain"}, owner, 415},
		{"form content type", "POST", "/auth/login", "email=a&password=b", []string{"Content-Type", "application/x-www-form-urlencoded"}, "", 415},
		{"two content types", "POST", "/api/v1/orders", line(`"quantity":1,"unit_price":100`),
			[]string{"Content-Type", "application/json", "Content-Type", "text/plain"}, owner, 415},
		{"number beyond int64", "POST", "/api/v1/orders", line(`"quantity":1,"unit_price":92233720368547758070`), nil, owner, 400},
		{"number beyond float64", "POST", "/api/v1/orders", line(`"quantity":1e400,"unit_price":1`), nil, owner, 400},
		{"fractional quantity", "POST", "/api/v1/orders", line(`"quantity":1.5,"unit_price":1`), nil, owner, 400},
		{"overflowing line total", "POST", "/api/v1/orders", line(`"quantity":9223372036854775807,"unit_price":9223372036854775807`), nil, owner, 422},
		{"negative quantity", "POST", "/api/v1/orders", line(`"quantity":-3,"unit_price":100`), nil, owner, 422},
		{"negative unit price", "POST", "/api/v1/orders", line(`"quantity":1,"unit_price":-100`), nil, owner, 422},
		{"negative stock count", "POST", "/api/v1/inventory/MUG/count", `{"on_hand":-5,"reason":"count"}`, nil, owner, 422},
		{"NUL character in a string", "POST", "/api/v1/orders", line(`"title":"a\u0000b","quantity":1,"unit_price":100`), nil, owner, 400},
		{"NUL character in a key", "POST", "/api/v1/orders", `{"na\u0000me":"x"}`, nil, owner, 400},
		{"NUL character in a query", "GET", "/api/v1/orders?q=%00&status=%00", "", nil, owner, 400},
		{"null body", "POST", "/api/v1/orders", `null`, nil, owner, 422},
		{"array body", "POST", "/api/v1/orders", `[]`, nil, owner, 400},
		{"overlong idempotency key", "POST", "/api/v1/orders", line(`"quantity":1,"unit_price":100`), []string{"Idempotency-Key", strings.Repeat("k", 300)}, owner, 400},
		{"order id not a uuid", "GET", "/api/v1/orders/1%27%20OR%20%271%27=%271", "", nil, owner, 404},
		{"unsupported method", "DELETE", "/api/v1/orders", "", nil, owner, 405},
		{"missing credentials", "GET", "/api/v1/orders", "", nil, "", 401},
		{"webhook: missing signature", "POST", "/webhooks/shopify", orderBody, webhook(), "", 401},
		{"webhook: wrong signature", "POST", "/webhooks/shopify", orderBody, webhook("X-Shopify-Hmac-Sha256", sign(body, "s2")), "", 401},
		{"webhook: signature of another body", "POST", "/webhooks/shopify", orderBody + " ", webhook("X-Shopify-Hmac-Sha256", good), "", 401},
		{"webhook: two signatures", "POST", "/webhooks/shopify", orderBody,
			webhook("X-Shopify-Hmac-Sha256", good, "X-Shopify-Hmac-Sha256", "AAAA"), "", 400},
		{"webhook: two webhook ids", "POST", "/webhooks/shopify", orderBody,
			webhook("X-Shopify-Hmac-Sha256", good, "X-Shopify-Webhook-Id", "w-other"), "", 400},
		{"webhook: two shops", "POST", "/webhooks/shopify", orderBody,
			webhook("X-Shopify-Hmac-Sha256", good, "X-Shopify-Shop-Domain", "other.myshopify.com"), "", 400},
		{"webhook: two topics", "POST", "/webhooks/shopify", orderBody,
			webhook("X-Shopify-Hmac-Sha256", good, "X-Shopify-Topic", "app/uninstalled"), "", 400},
		{"webhook: missing webhook id", "POST", "/webhooks/shopify", orderBody,
			[]string{"X-Shopify-Shop-Domain", shop, "X-Shopify-Topic", "orders/create", "X-Shopify-Hmac-Sha256", good}, "", 400},
		{"webhook: webhook id with spaces", "POST", "/webhooks/shopify", orderBody,
			[]string{"X-Shopify-Shop-Domain", shop, "X-Shopify-Topic", "orders/create", "X-Shopify-Webhook-Id", "a b", "X-Shopify-Hmac-Sha256", good}, "", 400},
		{"webhook: shop domain injection", "POST", "/webhooks/shopify", orderBody,
			[]string{"X-Shopify-Shop-Domain", "x.myshopify.com'; DROP TABLE events;--", "X-Shopify-Topic", "orders/create", "X-Shopify-Webhook-Id", "w1", "X-Shopify-Hmac-Sha256", good}, "", 401},
		{"webhook: oversized body", "POST", "/webhooks/shopify", strings.Repeat(" ", 5000) + orderBody,
			webhook("X-Shopify-Hmac-Sha256", sign([]byte(strings.Repeat(" ", 5000)+orderBody), "s1")), "", 413},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := eventCount(t, env)
			req, err := http.NewRequest(tc.method, env.URL+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			set := map[string]bool{}
			for i := 0; i < len(tc.headers); i += 2 {
				name := http.CanonicalHeaderKey(tc.headers[i])
				if !set[name] {
					req.Header.Del(name)
					set[name] = true
				}
				req.Header.Add(name, tc.headers[i+1])
			}
			resp, err := env.Client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			checkSecurityHeaders(t, tc.name, resp.Header)
			apitest.Problem(t, resp, tc.want)
			if after := eventCount(t, env); after != before {
				t.Fatalf("a refused request stored %d events", after-before)
			}
		})
	}

	t.Run("path traversal on static files", func(t *testing.T) {
		for _, path := range []string{
			"/../../../../etc/passwd", "/assets/../../../etc/passwd", "/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
			"/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd", "/assets/..%2f..%2f..%2fetc%2fpasswd", "/..%5c..%5cetc%5cpasswd",
			"/assets/%2e%2e/index.html", "/.%2e/.%2e/go.mod",
		} {
			resp, text := rawRequest(t, env, "GET "+path+" HTTP/1.1\r\nHost: ordermill.test\r\nConnection: close\r\n\r\n")
			checkSecurityHeaders(t, path, resp.Header)
			if strings.Contains(text, "root:") || strings.Contains(text, "module github.com") || strings.Contains(text, "<html") {
				t.Errorf("%s served a file: %.80q", path, text)
			}
			if resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusNotFound {
				t.Errorf("%s: status %d, want 400 or 404", path, resp.StatusCode)
			}
		}
	})

	t.Run("injection strings are stored verbatim and encoded", func(t *testing.T) {
		hostile := []string{
			`Robert'); DROP TABLE events;--`, `<script>alert(document.cookie)</script>`, `"><img src=x onerror=alert(1)>`,
			`{{7*7}} ${7*7} <%= 7*7 %>`, "line\nbreak\u2028sep", `\u003cscript\u003e`, `%00%27 OR 1=1`,
		}
		for _, s := range hostile {
			resp := env.Do(t, http.MethodPost, "/api/v1/orders", owner, map[string]any{
				"currency": "JPY", "email": "a@example.test", "customer_name": s, "name": "X-" + s[:3],
				"lines": []map[string]any{{"sku": s, "title": s, "quantity": 1, "unit_price": 100}},
			})
			var created struct {
				ID       string `json:"id"`
				Position string `json:"position"`
			}
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("order with %q: %d %s", s, resp.StatusCode, apitest.ReadBody(t, resp))
			}
			apitest.Decode(t, resp, &created)
			got := env.Fresh(t, "/api/v1/orders/"+created.ID, owner, created.Position)
			checkSecurityHeaders(t, "order", got.Header)
			if ct := got.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("order with %q served as %q: %s", s, ct, apitest.ReadBody(t, got))
			}
			raw := apitest.ReadBody(t, got)
			if strings.ContainsAny(raw, "<>") {
				t.Fatalf("markup not escaped in JSON: %s", raw)
			}
			var order struct {
				CustomerName string `json:"customer_name"`
				Lines        []struct {
					SKU   string `json:"sku"`
					Title string `json:"title"`
				} `json:"lines"`
			}
			if err := json.Unmarshal([]byte(raw), &order); err != nil {
				t.Fatal(err)
			}
			if order.CustomerName != s || len(order.Lines) != 1 || order.Lines[0].Title != s || order.Lines[0].SKU != s {
				t.Fatalf("stored %+v, sent %q", order, s)
			}
		}
		// The events table survived the injection attempts.
		if eventCount(t, env) == 0 {
			t.Fatal("no events")
		}
	})
}
