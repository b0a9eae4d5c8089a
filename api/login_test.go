package api_test

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/internal/config"
	"github.com/ordermill/ordermill/internal/testenv"
	"github.com/ordermill/ordermill/internal/testenv/apitest"
)

// behindProxy makes the test's requests come from the address in their
// X-Forwarded-For, as behind a load balancer.
func behindProxy(c *config.Config) { c.TrustedProxies = []string{"127.0.0.1", "::1"} }

// signIn posts a sign-in to shopA from address ip.
func signIn(t *testing.T, env *apitest.Env, ip, email, pw string) *http.Response {
	t.Helper()
	return env.Do(t, http.MethodPost, "/auth/login", "", map[string]string{"shop": shopA, "email": email, "password": pw},
		"X-Forwarded-For", ip)
}

func retryAfter(t *testing.T, resp *http.Response) int {
	t.Helper()
	n, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if err != nil || n < 1 {
		t.Fatalf("%d without a usable Retry-After: %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	return n
}

// TestLoginOwnerNotLockedOut is the lockout attack: ten addresses keep
// guessing the owner's password while the owner signs in from their own
// address. Before, the per-account budget ran out and the owner got 429
// every time; now the guessers slow down only themselves.
func TestLoginOwnerNotLockedOut(t *testing.T) {
	t.Parallel()
	env := apitest.New(t, behindProxy, func(c *config.Config) { c.RateLimitLogin = config.Rate{N: 10, Per: time.Minute} })
	env.CreateUser(t, shopA, "owner@alpha.test", domain.RoleOwner, password)

	const rounds, attackers = 8, 10
	var wrong, throttled int
	for round := range rounds {
		for a := range attackers {
			resp := signIn(t, env, fmt.Sprintf("203.0.113.%d", 10+a), "owner@alpha.test", fmt.Sprintf("guess-%d-%d-xyzzy", round, a))
			switch resp.StatusCode {
			case http.StatusUnauthorized:
				wrong++
			case http.StatusTooManyRequests:
				retryAfter(t, resp)
				throttled++
			default:
				t.Fatalf("guess %d from attacker %d: %d %s", round, a, resp.StatusCode, apitest.ReadBody(t, resp))
			}
			resp.Body.Close()
		}
		status(t, signIn(t, env, "198.51.100.7", "owner@alpha.test", password), http.StatusOK)
	}
	t.Logf("owner signed in %d of %d times; %d guesses checked, %d throttled", rounds, rounds, wrong, throttled)
	if throttled == 0 {
		t.Fatalf("guessers were not slowed down: %d guesses checked, none throttled", wrong)
	}
	// A throttled guesser is refused before the password is looked at, so
	// not even the right password tells it anything.
	for range 10 {
		resp := signIn(t, env, "203.0.113.10", "owner@alpha.test", "one-more-guess-xyzzy")
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests {
			break
		}
	}
	resp := signIn(t, env, "203.0.113.10", "owner@alpha.test", password)
	retryAfter(t, resp)
	apitest.Problem(t, resp, http.StatusTooManyRequests)
}

// TestLoginProgressiveDelay shows the delays of one (account, address) pair:
// free typos, then waits that double, whatever the password; other accounts
// from the same address and the success that ends the streak.
func TestLoginProgressiveDelay(t *testing.T) {
	t.Parallel()
	env := apitest.New(t, behindProxy)
	env.CreateUser(t, shopA, "owner@alpha.test", domain.RoleOwner, password)
	env.CreateUser(t, shopA, "staff@alpha.test", domain.RoleStaff, password)
	const ip = "192.0.2.44"

	for i := range 6 { // five free failures, and the sixth that starts the delays
		apitest.Problem(t, signIn(t, env, ip, "owner@alpha.test", fmt.Sprintf("typo-%d-password", i)), http.StatusUnauthorized)
	}
	resp := signIn(t, env, ip, "owner@alpha.test", password)
	if n := retryAfter(t, resp); n != 1 {
		t.Errorf("first delay: Retry-After %d, want 1", n)
	}
	apitest.Problem(t, resp, http.StatusTooManyRequests)
	// An unknown account is counted like a known one, and other accounts
	// from this address are untouched.
	for i := range 6 {
		apitest.Problem(t, signIn(t, env, ip, "nobody@alpha.test", fmt.Sprintf("typo-%d-password", i)), http.StatusUnauthorized)
	}
	apitest.Problem(t, signIn(t, env, ip, "nobody@alpha.test", password), http.StatusTooManyRequests)
	status(t, signIn(t, env, ip, "staff@alpha.test", password), http.StatusOK)

	time.Sleep(1100 * time.Millisecond)
	apitest.Problem(t, signIn(t, env, ip, "owner@alpha.test", "typo-again-password"), http.StatusUnauthorized)
	resp = signIn(t, env, ip, "owner@alpha.test", password)
	if n := retryAfter(t, resp); n != 2 {
		t.Errorf("second delay: Retry-After %d, want 2", n)
	}
	apitest.Problem(t, resp, http.StatusTooManyRequests)

	time.Sleep(2100 * time.Millisecond)
	status(t, signIn(t, env, ip, "owner@alpha.test", password), http.StatusOK)
	// The success forgot the streak: a typo now costs nothing.
	apitest.Problem(t, signIn(t, env, ip, "owner@alpha.test", "typo-after-success"), http.StatusUnauthorized)
	status(t, signIn(t, env, ip, "owner@alpha.test", password), http.StatusOK)
}

// TestLoginPerAddressBudget: one address guessing across many accounts runs
// into its own budget, which other addresses do not share.
func TestLoginPerAddressBudget(t *testing.T) {
	t.Parallel()
	env := apitest.New(t, behindProxy, func(c *config.Config) { c.RateLimitLogin = config.Rate{N: 3, Per: time.Hour} })
	for _, u := range []string{"a", "b", "c", "d"} {
		env.CreateUser(t, shopA, u+"@alpha.test", domain.RoleStaff, password)
	}
	for _, u := range []string{"a", "b", "c"} {
		apitest.Problem(t, signIn(t, env, "203.0.113.1", u+"@alpha.test", "wrong-password-1"), http.StatusUnauthorized)
	}
	resp := signIn(t, env, "203.0.113.1", "d@alpha.test", password)
	retryAfter(t, resp)
	apitest.Problem(t, resp, http.StatusTooManyRequests)
	status(t, signIn(t, env, "203.0.113.2", "d@alpha.test", password), http.StatusOK)
	// IPv6 clients count by their /64: a new address in it is no new budget.
	for i := range 3 {
		apitest.Problem(t, signIn(t, env, fmt.Sprintf("2001:db8:1:2::%x", i+1), "a@alpha.test", "wrong-password-2"), http.StatusUnauthorized)
	}
	apitest.Problem(t, signIn(t, env, "2001:db8:1:2::ff", "a@alpha.test", password), http.StatusTooManyRequests)
	status(t, signIn(t, env, "2001:db8:1:3::1", "a@alpha.test", password), http.StatusOK)
}

// TestLoginRedisDown: without Redis the throttle cannot count, so sign-in
// answers 503 with Retry-After to right and wrong passwords alike (before,
// wrong passwords got unlimited 401s and the right one a 500), and works
// again when Redis is back.
func TestLoginRedisDown(t *testing.T) {
	t.Parallel()
	redisServer := testenv.StartRedis(t)
	env := apitest.New(t, func(c *config.Config) { c.RedisURL = redisServer.URL() })
	env.CreateUser(t, shopA, "owner@alpha.test", domain.RoleOwner, password)
	env.Login(t, "owner@alpha.test", password)

	redisServer.Kill()
	for i, pw := range []string{password, "wrong-password-1", "wrong-password-2", password, "wrong-password-3"} {
		resp := signIn(t, env, "", "owner@alpha.test", pw)
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("attempt %d with Redis down: %d %s", i, resp.StatusCode, apitest.ReadBody(t, resp))
		}
		retryAfter(t, resp)
		apitest.Problem(t, resp, http.StatusServiceUnavailable)
	}
	redisServer.Start()
	// The client reconnects within a few seconds; until then it is still 503.
	for deadline := time.Now().Add(15 * time.Second); ; {
		resp := signIn(t, env, "", "owner@alpha.test", "wrong-password-4")
		if resp.StatusCode != http.StatusServiceUnavailable || time.Now().After(deadline) {
			apitest.Problem(t, resp, http.StatusUnauthorized)
			break
		}
		resp.Body.Close()
		time.Sleep(100 * time.Millisecond)
	}
	env.Login(t, "owner@alpha.test", password)
}
