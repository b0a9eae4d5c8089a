package api_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/config"
	"github.com/ordermill/ordermill/internal/shops"
	"github.com/ordermill/ordermill/internal/testenv"
	"github.com/ordermill/ordermill/internal/testenv/apitest"
)

// awaitServerClose reads conn until the server closes it and fails the test
// if the connection is still open after limit.
func awaitServerClose(t *testing.T, conn net.Conn, limit time.Duration) string {
	t.Helper()
	if err := conn.SetReadDeadline(time.Now().Add(limit)); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(conn)
	if ne := net.Error(nil); errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server still held the connection after %s (read %d bytes)", limit, len(got))
	}
	return string(got)
}

// TestSlowClientsAreCutOff: a client that drips its body, or idles on a
// keep-alive connection, loses the connection once the configured timeout
// passes, instead of holding it (and a goroutine) for as long as it likes.
func TestSlowClientsAreCutOff(t *testing.T) {
	e := apitest.New(t, func(c *config.Config) { c.HTTPReadTimeout, c.HTTPIdleTimeout = 2*time.Second, 2*time.Second })
	addr := strings.TrimPrefix(e.URL, "http://")
	dial := func(t *testing.T) net.Conn {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return conn
	}

	for _, path := range []string{"/webhooks/shopify", "/auth/login", "/api/v1/orders"} {
		t.Run("dripped body to "+path, func(t *testing.T) {
			conn := dial(t)
			fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: ordermill.test\r\nContent-Type: application/json\r\n"+
				"Content-Length: 1000\r\n\r\n{", path)
			stop := make(chan struct{})
			defer close(stop)
			// One byte every 200 ms: the whole body would take 200 s.
			go func() {
				tick := time.NewTicker(200 * time.Millisecond)
				defer tick.Stop()
				for {
					select {
					case <-stop:
						return
					case <-tick.C:
						if _, err := conn.Write([]byte(" ")); err != nil {
							return
						}
					}
				}
			}()
			awaitServerClose(t, conn, 20*time.Second)
		})
	}

	t.Run("idle keep-alive", func(t *testing.T) {
		conn := dial(t)
		fmt.Fprint(conn, "GET /healthz HTTP/1.1\r\nHost: ordermill.test\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Close {
			t.Fatalf("first request: %d, close %v; want 200 on a kept-alive connection", resp.StatusCode, resp.Close)
		}
		awaitServerClose(t, conn, 20*time.Second)
	})
}

// TestLongExportOutlivesTheWriteTimeout: the audit export moves its write
// deadline while the client keeps reading, so a download longer than the
// write timeout completes; a client that stops reading is still cut off.
func TestLongExportOutlivesTheWriteTimeout(t *testing.T) {
	// Two seconds, not one: a loaded 2-core machine can starve the reading
	// client for longer than a second between reads.
	const writeTimeout = 2 * time.Second
	e := apitest.New(t, func(c *config.Config) { c.HTTPWriteTimeout = writeTimeout })
	const shop = "export-slow.myshopify.com"
	owner := e.UserToken(t, shop, domain.RoleOwner)
	// About 8 MB of export: more than the kernel buffers between server and a
	// client with a small receive buffer, so the server must wait for reads.
	reason := strings.Repeat("r", 1000)
	const streams, perStream = 60, 100
	for i := range streams {
		key := "SKU-" + strconv.Itoa(i)
		var events []domain.Event
		for range perStream {
			events = append(events, domain.InventoryAdjusted{Shop: shop, Key: key, Delta: 1, Reason: reason})
		}
		encoded, err := eventstore.Encode(shop, eventstore.Metadata{Actor: "test"}, events...)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Platform.Store.Append(context.Background(), domain.InventoryStream(shop, key), eventstore.NoStream, encoded...); err != nil {
			t.Fatal(err)
		}
	}
	// A receive buffer set before connecting is not grown by the kernel.
	dialer := &net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 32<<10) })
		return errors.Join(err, serr)
	}}
	export := func(t *testing.T) (net.Conn, *bufio.Reader) {
		conn, err := dialer.Dial("tcp", strings.TrimPrefix(e.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		fmt.Fprintf(conn, "GET /api/v1/audit/export HTTP/1.1\r\nHost: ordermill.test\r\nAuthorization: Bearer %s\r\n\r\n", owner)
		return conn, bufio.NewReaderSize(conn, 4<<10)
	}

	t.Run("a client that keeps reading gets everything", func(t *testing.T) {
		conn, r := export(t)
		if err := conn.SetReadDeadline(time.Now().Add(2 * time.Minute)); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("export: %d", resp.StatusCode)
		}
		// 16 KB every 10 ms: at most 1.6 MB/s, so the download lasts seconds.
		lines, buf := 0, make([]byte, 16<<10)
		started := time.Now()
		for {
			n, err := resp.Body.Read(buf)
			lines += strings.Count(string(buf[:n]), "\n")
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("export cut after %d lines: %v", lines, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if lines < streams*perStream {
			t.Fatalf("export has %d lines, want at least %d", lines, streams*perStream)
		}
		if took := time.Since(started); took < 2*writeTimeout {
			t.Fatalf("the download took %s: too short to show anything about a %s write timeout", took, writeTimeout)
		}
	})

	t.Run("a client that stops reading is cut off", func(t *testing.T) {
		conn, r := export(t)
		time.Sleep(4 * writeTimeout) // the server's blocked write passes its deadline meanwhile
		if err := conn.SetReadDeadline(time.Now().Add(2 * time.Minute)); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err == nil {
			t.Fatalf("a %d-byte export arrived whole for a client that stopped reading", len(body))
		}
	})
}

// failureLimits sets low budgets for rejected webhooks and bearer tokens, and
// trusts X-Forwarded-For from loopback so tests can speak from several IPs.
func failureLimits(c *config.Config) {
	c.RateLimitWebhookFailures = config.Rate{N: 5, Per: time.Hour}
	c.RateLimitAuthFailures = config.Rate{N: 5, Per: time.Hour}
	c.TrustedProxies = []string{"127.0.0.1", "::1"}
}

// expectThrottled checks a 429 problem with Retry-After and an empty budget.
func expectThrottled(t *testing.T, resp *http.Response) {
	t.Helper()
	retry, remaining := resp.Header.Get("Retry-After"), resp.Header.Get("RateLimit-Remaining")
	apitest.Problem(t, resp, http.StatusTooManyRequests)
	if n, err := strconv.Atoi(retry); err != nil || n < 1 {
		t.Fatalf("Retry-After %q, want a number of seconds", retry)
	}
	if remaining != "0" {
		t.Fatalf("RateLimit-Remaining %q, want 0", remaining)
	}
}

// TestRejectedWebhooksAreThrottledPerIP: once an address has sent its budget
// of webhooks for unknown shops or with bad signatures, further rejected
// ones answer 429; valid deliveries from that same address (Shopify's) are
// still captured, and other addresses are unaffected.
func TestRejectedWebhooksAreThrottledPerIP(t *testing.T) {
	e := apitest.New(t, failureLimits)
	const shop = "throttle.myshopify.com"
	if _, err := e.Platform.App().RegisterShop(context.Background(), shops.Registration{Domain: shop, Name: "Throttle",
		Currency: "USD", WebhookSecrets: []string{"s1"}, AccessToken: "shpat_x"}, eventstore.Metadata{Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	body := []byte(orderBody)
	post := func(ip, shopDomain, id, signature string) *http.Response {
		return e.Do(t, http.MethodPost, "/webhooks/shopify", "", body, "X-Forwarded-For", ip,
			"X-Shopify-Shop-Domain", shopDomain, "X-Shopify-Topic", "orders/create", "X-Shopify-Webhook-Id", id,
			"X-Shopify-Hmac-Sha256", signature)
	}
	const attacker = "203.0.113.7"
	for i := range 5 {
		domain := shop
		if i%2 == 1 {
			domain = "nobody.myshopify.com"
		}
		apitest.Problem(t, post(attacker, domain, "forged-"+strconv.Itoa(i), sign(body, "guess")), http.StatusUnauthorized)
	}
	expectThrottled(t, post(attacker, shop, "forged-5", sign(body, "guess")))
	// A valid delivery from the same address is captured all the same.
	resp := post(attacker, shop, "genuine-1", sign(body, "s1"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("valid webhook from a throttled address: %d %s", resp.StatusCode, apitest.ReadBody(t, resp))
	}
	expectThrottled(t, post(attacker, shop, "forged-6", sign(body, "guess")))
	apitest.Problem(t, post("198.51.100.9", shop, "forged-7", sign(body, "guess")), http.StatusUnauthorized)

	var stored int
	if err := e.Platform.Pool.QueryRow(context.Background(),
		`SELECT count(*) FROM events WHERE event_type = 'webhook.received'`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != 1 {
		t.Fatalf("%d webhooks stored, want only the genuine one", stored)
	}
}

// TestRejectedBearerTokensAreThrottledPerIP: an address presenting bad bearer
// credentials gets 429 once its budget is spent; a valid token from the same
// address still works, and other addresses are unaffected.
func TestRejectedBearerTokensAreThrottledPerIP(t *testing.T) {
	e := apitest.New(t, failureLimits)
	owner := e.UserToken(t, "bearer-throttle.myshopify.com", domain.RoleOwner)
	get := func(ip, token string) *http.Response {
		return e.Do(t, http.MethodGet, "/api/v1/profile", token, nil, "X-Forwarded-For", ip)
	}
	const attacker = "203.0.113.8"
	forged := []string{"omt_" + strings.Repeat("a", 43), "not-a-jwt", owner[:len(owner)-4] + "AAAA", "omt_guess", "x.y.z"}
	for _, token := range forged {
		apitest.Problem(t, get(attacker, token), http.StatusUnauthorized)
	}
	expectThrottled(t, get(attacker, "omt_"+strings.Repeat("b", 43)))
	if resp := get(attacker, owner); resp.StatusCode != http.StatusOK {
		t.Fatalf("valid token from a throttled address: %d %s", resp.StatusCode, apitest.ReadBody(t, resp))
	}
	expectThrottled(t, get(attacker, "omt_"+strings.Repeat("c", 43)))
	apitest.Problem(t, get("198.51.100.10", "omt_"+strings.Repeat("d", 43)), http.StatusUnauthorized)
}

// TestFailureLimitsWithoutRedis: with Redis down the failure budgets cannot
// be read, and they never stand in the way: a valid webhook is captured
// (capture needs only Postgres), a forged one is refused with 401, and so is
// a bad bearer token, while a valid API token keeps working.
func TestFailureLimitsWithoutRedis(t *testing.T) {
	rs := testenv.StartRedis(t)
	e := apitest.New(t, failureLimits, func(c *config.Config) { c.RedisURL = rs.URL() })
	const shop = "redisdown.myshopify.com"
	if _, err := e.Platform.App().RegisterShop(context.Background(), shops.Registration{Domain: shop, Name: "Down",
		Currency: "USD", WebhookSecrets: []string{"s1"}, AccessToken: "shpat_x"}, eventstore.Metadata{Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	owner := e.UserToken(t, shop, domain.RoleOwner)
	resp := e.Do(t, http.MethodPost, "/api/v1/tokens", owner, map[string]string{"name": "erp", "role": "staff"})
	var token struct{ Token string }
	apitest.Decode(t, resp, &token)
	if token.Token == "" {
		t.Fatal("no API token created")
	}

	rs.Kill()
	body := []byte(orderBody)
	for i := range 8 {
		apitest.Problem(t, deliver(t, e, "/webhooks/shopify", shop, "orders/create", "forged-"+strconv.Itoa(i), body, sign(body, "guess")),
			http.StatusUnauthorized)
		apitest.Problem(t, e.Do(t, http.MethodGet, "/api/v1/profile", "omt_"+strings.Repeat("z", 43), nil), http.StatusUnauthorized)
	}
	resp = deliver(t, e, "/webhooks/shopify", shop, "orders/create", "genuine-1", body, sign(body, "s1"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("valid webhook with Redis down: %d %s", resp.StatusCode, apitest.ReadBody(t, resp))
	}
	if resp := e.Do(t, http.MethodGet, "/api/v1/profile", token.Token, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("valid API token with Redis down: %d %s", resp.StatusCode, apitest.ReadBody(t, resp))
	}
}
