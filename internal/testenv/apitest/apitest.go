// Package apitest runs a whole Ordermill API for integration tests: a fresh
// database and Redis prefix, the relay and projectors, and the api role's
// handler behind a real HTTP server.
package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"

	"github.com/ordermill/ordermill/api"
	"github.com/ordermill/ordermill/app"
	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/internal/config"
	"github.com/ordermill/ordermill/internal/platform"
	"github.com/ordermill/ordermill/internal/telemetry"
	"github.com/ordermill/ordermill/internal/testenv"
)

// Env is one running API with its own data.
type Env struct {
	URL string // base URL of the HTTP server
	// MetricsURL is the base URL of the operators' address (/metrics, /debug/pprof/).
	MetricsURL string
	Platform   *platform.Platform
	Config     config.Config
	Client     *http.Client
	logs       *testenv.LogBuffer
}

// Option changes the configuration before the platform opens (for example
// low rate limits).
type Option func(*config.Config)

// New starts an API for this test; everything stops and is dropped at cleanup.
// Passwords are hashed at bcrypt.MinCost, rate limits are high and the
// scheduled audit is off unless an option says otherwise.
func New(t testing.TB, opts ...Option) *Env {
	t.Helper()
	_, prefix := testenv.Redis(t)
	dbURL := testenv.DatabaseURL(t)
	cfg, err := config.Load()
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	cfg.DatabaseURL, cfg.DatabaseReadURL = dbURL, dbURL
	cfg.RedisURL = testenv.RedisURL()
	cfg.StreamPrefix = prefix
	cfg.DataDir = t.TempDir()
	cfg.JWTKeyFile = ""
	cfg.BcryptCost = bcrypt.MinCost
	high := config.Rate{N: 100000, Per: time.Second}
	cfg.RateLimitUser, cfg.RateLimitIP, cfg.RateLimitLogin = high, high, high
	cfg.RateLimitWebhookFailures, cfg.RateLimitAuthFailures = high, high
	// Port 0: the platform logs the port it got (see waitListening).
	cfg.MetricsAddr = "127.0.0.1:0"
	cfg.AuditInterval = 0 // tests of the scheduled audit turn it on
	for _, o := range opts {
		o(&cfg)
	}
	// Warnings go to the test output; every line, down to debug, is kept for
	// tests that inspect what the platform logs, with the ids the request's
	// or message's context carries, as production logs them.
	logs := &testenv.LogBuffer{}
	log := slog.New(telemetry.ContextHandler{Handler: slog.NewMultiHandler(
		slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}),
		slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})

	ctx, cancel := context.WithCancel(context.Background())
	p, err := platform.Open(ctx, cfg, log, false)
	if err != nil {
		cancel()
		t.Fatalf("open platform: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, []string{"relay", "projectors"}) }()
	// The api role's own server, timeouts included, on a test listener.
	srv := httptest.NewUnstartedServer(nil)
	srv.Config = p.APIServer(p.Handler())
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Logf("platform stopped: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Logf("relay and projectors still stopping after 10s; closing connections")
		}
		p.Close()
	})
	cfg.MetricsAddr = waitListening(t, logs, done)
	return &Env{URL: srv.URL, MetricsURL: "http://" + cfg.MetricsAddr, Platform: p, Config: cfg, Client: srv.Client(), logs: logs}
}

// waitListening returns the platform's operators' address once it listens
// there, which it does in the background.
func waitListening(t testing.TB, logs *testenv.LogBuffer, done <-chan error) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if addr := testenv.ListenAddr(logs.String(), "metrics"); addr != "" {
			return addr
		}
		select {
		case err := <-done:
			t.Fatalf("platform stopped before serving its metrics: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("the platform logged no metrics address")
		}
	}
}

// Logs returns everything the platform has logged so far, as JSON lines.
func (e *Env) Logs() string { return e.logs.String() }

// Keys returns the access-token keys the server signs with, for forging tokens.
func (e *Env) Keys(t testing.TB) *api.Keys {
	t.Helper()
	keys, err := api.LoadKeys(e.Config.JWTKeyFile, e.Config.DataDir)
	if err != nil {
		t.Fatalf("load keys: %v", err)
	}
	return keys
}

// CreateUser registers a user directly through the event store.
func (e *Env) CreateUser(t testing.TB, shop, email string, role domain.Role, password string) uuid.UUID {
	t.Helper()
	id, err := app.New(e.Platform.Store).RegisterUser(context.Background(), app.Caller{Shop: shop}, app.NewUser{
		Email: email, Name: strings.Split(email, "@")[0], Role: role, Password: password, BcryptCost: e.Config.BcryptCost,
	})
	if err != nil {
		t.Fatalf("create user %s: %v", email, err)
	}
	return id
}

// Login signs in the one user with this email, whichever shop it is in, and
// returns the access and refresh tokens. Where shops share an email, use
// LoginShop.
func (e *Env) Login(t testing.TB, email, password string) (access, refresh string) {
	t.Helper()
	var (
		shop  string
		users int
	)
	err := e.Platform.Pool.QueryRow(context.Background(), `SELECT coalesce(min(shop), ''), count(*) FROM users
		WHERE email = lower(trim($1))`, email).Scan(&shop, &users)
	if err != nil || users != 1 {
		t.Fatalf("login %s: %d users have the email (%v): name the shop with LoginShop", email, users, err)
	}
	return e.LoginShop(t, shop, email, password)
}

// LoginShop signs in as a user of shop and returns the access and refresh tokens.
func (e *Env) LoginShop(t testing.TB, shop, email, password string) (access, refresh string) {
	t.Helper()
	resp := e.Do(t, http.MethodPost, "/auth/login", "", map[string]string{"shop": shop, "email": email, "password": password})
	var body struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login %s: %d %s", email, resp.StatusCode, ReadBody(t, resp))
	}
	Decode(t, resp, &body)
	return body.AccessToken, body.RefreshToken
}

// UserToken creates a user with the role in shop (a random email) and returns
// an access token for it: the shortest way to call the API as someone.
func (e *Env) UserToken(t testing.TB, shop string, role domain.Role) string {
	t.Helper()
	email := string(role) + "-" + uuid.NewString()[:8] + "@" + strings.TrimSuffix(shop, ".myshopify.com") + ".test"
	e.CreateUser(t, shop, email, role, "correct horse battery")
	access, _ := e.Login(t, email, "correct horse battery")
	return access
}

// Do sends a request. body may be nil, a []byte or string sent as is, or any
// value sent as JSON (Content-Type application/json is set for every non-nil
// body unless headers set it). token, when not empty, is sent as a Bearer
// credential; headers are name, value pairs. The caller closes the body (or
// uses Decode / ReadBody).
func (e *Env) Do(t testing.TB, method, path, token string, body any, headers ...string) *http.Response {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	case string:
		r = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("encode body: %v", err)
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, e.URL+path, r)
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if len(headers)%2 != 0 {
		t.Fatalf("headers must be name, value pairs")
	}
	for i := 0; i < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := e.Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// Decode reads a JSON response body into dst and closes it.
func Decode(t testing.TB, resp *http.Response, dst any) {
	t.Helper()
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(dst); err != nil {
		t.Fatalf("decode %s response: %v", resp.Request.URL.Path, err)
	}
}

// ReadBody returns the response body as text and closes it.
func ReadBody(t testing.TB, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return string(b)
}

// Problem reads an RFC 9457 problem+json response, failing the test unless
// the status and content type are as expected.
func Problem(t testing.TB, resp *http.Response, status int) api.Problem {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d: %s", resp.Request.Method, resp.Request.URL.Path,
			resp.StatusCode, status, ReadBody(t, resp))
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("%s %s: content type %q, want application/problem+json", resp.Request.Method, resp.Request.URL.Path, ct)
	}
	var p api.Problem
	Decode(t, resp, &p)
	if p.Status != status {
		t.Fatalf("problem status %d, want %d", p.Status, status)
	}
	return p
}

// Fresh reads path with X-Min-Position, repeating the read while the server
// answers stale: on a loaded machine a projector may need longer than the
// server waits, and a stale answer says so instead of being wrong.
func (e *Env) Fresh(t testing.TB, path, token, pos string) *http.Response {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp := e.Do(t, http.MethodGet, path, token, nil, "X-Min-Position", pos)
		if resp.Header.Get("X-Consistency") != "stale" || time.Now().After(deadline) {
			return resp
		}
		resp.Body.Close()
	}
}
