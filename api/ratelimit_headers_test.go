package api_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ordermill/ordermill/api"
	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/internal/config"
	"github.com/ordermill/ordermill/internal/testenv/apitest"
)

// rateLimit reads the IETF RateLimit header fields; ok is false when one is
// missing or not a number.
func rateLimit(resp *http.Response) (limit, remaining, reset int, ok bool) {
	var err [3]error
	limit, err[0] = strconv.Atoi(resp.Header.Get("RateLimit-Limit"))
	remaining, err[1] = strconv.Atoi(resp.Header.Get("RateLimit-Remaining"))
	reset, err[2] = strconv.Atoi(resp.Header.Get("RateLimit-Reset"))
	return limit, remaining, reset, err[0] == nil && err[1] == nil && err[2] == nil
}

// TestRateLimitHeaders spends budgets down to 429 and checks the quota, what
// is left and the reset on each answer.
func TestRateLimitHeaders(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, func(c *config.Config) {
		c.RateLimitUser = config.Rate{N: 3, Per: time.Minute}
		c.RateLimitIP = config.Rate{N: 4, Per: time.Minute}
	})
	owner := e.UserToken(t, "headers.myshopify.com", domain.RoleOwner)

	// Signing in spent some of the IP budget: each answer has one less, down
	// to 0, and the request after that is refused.
	for _, tc := range []struct {
		name, path, token string
		quota             int
	}{
		{"per user", "/api/v1/profile", owner, 3},
		{"per IP", "/.well-known/jwks.json", "", 4},
	} {
		last := tc.quota
		for i := 1; ; i++ {
			resp := e.Do(t, http.MethodGet, tc.path, tc.token, nil)
			apitest.ReadBody(t, resp)
			limit, remaining, reset, ok := rateLimit(resp)
			if !ok || limit != tc.quota || reset < 1 || reset > 60 || i > tc.quota+1 {
				t.Fatalf("%s, request %d: %d, RateLimit-Limit %q, -Remaining %q, -Reset %q", tc.name, i, resp.StatusCode,
					resp.Header.Get("RateLimit-Limit"), resp.Header.Get("RateLimit-Remaining"), resp.Header.Get("RateLimit-Reset"))
			}
			if last == 0 {
				if resp.StatusCode != http.StatusTooManyRequests || remaining != 0 || resp.Header.Get("Retry-After") == "" {
					t.Errorf("%s, request %d: %d, %d remaining (Retry-After %q); want 429, 0, Retry-After", tc.name, i,
						resp.StatusCode, remaining, resp.Header.Get("Retry-After"))
				}
				break
			}
			if resp.StatusCode != http.StatusOK || remaining > last-1 || (i > 1 && remaining != last-1) {
				t.Errorf("%s, request %d: %d, %d remaining; want 200, %d", tc.name, i, resp.StatusCode, remaining, last-1)
			}
			last = remaining
		}
	}
}

// TestEveryLimitedRouteSaysItsBudget walks every registered route: each one
// behind a rate limit (the API for signed-in callers, sign-in and the key
// set by IP) answers with the three RateLimit header fields, whatever its
// status.
func TestEveryLimitedRouteSaysItsBudget(t *testing.T) {
	t.Parallel()
	e := apitest.New(t)
	owner := e.UserToken(t, "walk.myshopify.com", domain.RoleOwner)
	engine := e.Platform.Handler().(api.Handler)
	checked := 0
	for _, r := range engine.Routes() {
		limited := strings.HasPrefix(r.Path, "/api/v1/") && r.Path != "/api/v1/openapi.json" ||
			strings.HasPrefix(r.Path, "/auth/") || r.Path == "/.well-known/jwks.json"
		if !limited || r.Method == http.MethodHead {
			continue
		}
		path := ginParam.ReplaceAllString(r.Path, uuid.NewString())
		resp := e.Do(t, r.Method, path, owner, "{}")
		status := resp.StatusCode
		apitest.ReadBody(t, resp)
		if _, _, _, ok := rateLimit(resp); !ok {
			t.Errorf("%s %s answered %d without RateLimit-Limit/-Remaining/-Reset", r.Method, r.Path, status)
		}
		checked++
	}
	if checked < 20 {
		t.Fatalf("only %d limited routes found; the walk is broken", checked)
	}
}
