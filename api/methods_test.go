package api_test

import (
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/internal/config"
	"github.com/ordermill/ordermill/internal/testenv/apitest"
)

// perRequest are the headers that differ between any two requests.
var perRequest = []string{"Date", "X-Request-Id", "X-Correlation-Id", "Ratelimit-Remaining", "Ratelimit-Reset"}

// TestHeadAnswersWhereGetDoes compares HEAD with GET on public, protected and
// failing routes: the same status and headers (Content-Length included), and
// no body.
func TestHeadAnswersWhereGetDoes(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.UserToken(t, "head.myshopify.com", domain.RoleOwner)
	for _, tc := range []struct {
		path, token string
		status      int
	}{
		{"/healthz", "", http.StatusOK},
		{"/api/v1/openapi.json", "", http.StatusOK},
		{"/.well-known/jwks.json", "", http.StatusOK},
		{"/api/v1/orders", owner, http.StatusOK},
		{"/api/v1/orders", "", http.StatusUnauthorized},
		{"/api/v1/orders/not-a-uuid-or-name", owner, http.StatusNotFound},
	} {
		get := e.Do(t, http.MethodGet, tc.path, tc.token, nil)
		body := apitest.ReadBody(t, get)
		head := e.Do(t, http.MethodHead, tc.path, tc.token, nil)
		if get.StatusCode != tc.status || head.StatusCode != tc.status {
			t.Errorf("%s: GET %d, HEAD %d, want %d", tc.path, get.StatusCode, head.StatusCode, tc.status)
		}
		if b := apitest.ReadBody(t, head); b != "" {
			t.Errorf("HEAD %s sent a body: %q", tc.path, b)
		}
		if head.ContentLength != int64(len(body)) {
			t.Errorf("HEAD %s: Content-Length %d, GET's body has %d bytes", tc.path, head.ContentLength, len(body))
		}
		for name := range get.Header {
			if slices.Contains(perRequest, name) {
				continue
			}
			if g, h := get.Header.Values(name), head.Header.Values(name); !slices.Equal(g, h) {
				t.Errorf("%s: GET %s: %q, HEAD: %q", tc.path, name, g, h)
			}
		}
	}
	// Where only POST works, HEAD is refused like GET, and Allow says what works.
	resp := e.Do(t, http.MethodHead, "/auth/login", "", nil)
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST, OPTIONS" {
		t.Errorf("HEAD /auth/login: %d, Allow %q; want 405, POST, OPTIONS", resp.StatusCode, resp.Header.Get("Allow"))
	}

	// On the wire: nothing follows the header block.
	u, _ := url.Parse(e.URL)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "HEAD /api/v1/openapi.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(conn)
	if err != nil {
		t.Fatal(err)
	}
	headers, rest, ok := strings.Cut(string(raw), "\r\n\r\n")
	if !ok || rest != "" || !strings.HasPrefix(headers, "HTTP/1.1 200") {
		t.Errorf("raw HEAD answer: %q", raw)
	}
}

// TestOptionsAndCORS: OPTIONS answers what a resource allows; with no origin
// configured no Access-Control-* header is ever sent, and with one a
// preflight from it (and only from it) is answered and its requests may be read.
func TestOptionsAndCORS(t *testing.T) {
	t.Parallel()
	const app = "https://app.example.com"
	preflight := func(e *apitest.Env, path, origin, method string) *http.Response {
		return e.Do(t, http.MethodOptions, path, "", nil, "Origin", origin,
			"Access-Control-Request-Method", method, "Access-Control-Request-Headers", "authorization, idempotency-key")
	}

	t.Run("off by default", func(t *testing.T) {
		e := apitest.New(t)
		resp := preflight(e, "/api/v1/orders", app, http.MethodPost)
		if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Allow") != "GET, POST, HEAD, OPTIONS" {
			t.Errorf("OPTIONS /api/v1/orders: %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
		}
		get := e.Do(t, http.MethodGet, "/healthz", "", nil, "Origin", app)
		for _, r := range []*http.Response{resp, get} {
			for name := range r.Header {
				if strings.HasPrefix(name, "Access-Control-") {
					t.Errorf("%s %s: CORS header %s with no origin configured", r.Request.Method, r.Request.URL.Path, name)
				}
			}
		}
	})

	t.Run("configured origins", func(t *testing.T) {
		e := apitest.New(t, func(c *config.Config) { c.CORSOrigins = []string{app} })
		owner := e.UserToken(t, "cors.myshopify.com", domain.RoleOwner)

		resp := preflight(e, "/api/v1/orders", app, http.MethodPost)
		h := resp.Header
		if resp.StatusCode != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != app ||
			!strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") ||
			!strings.Contains(h.Get("Access-Control-Allow-Headers"), "Authorization") ||
			!strings.Contains(h.Get("Access-Control-Allow-Headers"), "Idempotency-Key") ||
			h.Get("Access-Control-Max-Age") == "" || !slices.Contains(h.Values("Vary"), "Origin") {
			t.Errorf("preflight from %s: %d %v", app, resp.StatusCode, h)
		}
		if age, err := strconv.Atoi(h.Get("Access-Control-Max-Age")); err != nil || age <= 0 {
			t.Errorf("Access-Control-Max-Age %q", h.Get("Access-Control-Max-Age"))
		}

		// A method the resource does not have, and another origin: no permission.
		for _, r := range []*http.Response{
			preflight(e, "/api/v1/orders", app, http.MethodDelete),
			preflight(e, "/api/v1/orders", "https://evil.example", http.MethodPost),
		} {
			if r.StatusCode != http.StatusNoContent || r.Header.Get("Access-Control-Allow-Methods") != "" {
				t.Errorf("preflight %s from %s: %d %v", r.Request.Header.Get("Access-Control-Request-Method"),
					r.Request.Header.Get("Origin"), r.StatusCode, r.Header)
			}
		}
		if got := preflight(e, "/api/v1/orders", "https://evil.example", http.MethodPost).Header.Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("another origin allowed: %q", got)
		}

		// The request itself: readable by the allowed origin, with its useful headers exposed.
		get := e.Do(t, http.MethodGet, "/api/v1/orders", owner, nil, "Origin", app)
		exposed := get.Header.Get("Access-Control-Expose-Headers")
		if get.StatusCode != http.StatusOK || get.Header.Get("Access-Control-Allow-Origin") != app ||
			!strings.Contains(exposed, "ETag") || !strings.Contains(exposed, "RateLimit-Reset") {
			t.Errorf("GET with Origin %s: %d %v", app, get.StatusCode, get.Header)
		}
		if got := e.Do(t, http.MethodGet, "/api/v1/orders", owner, nil, "Origin", "https://evil.example").
			Header.Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("GET from another origin: Access-Control-Allow-Origin %q", got)
		}
	})
}
