package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/crypto/bcrypt"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/config"
	"github.com/ordermill/ordermill/internal/platform"
	"github.com/ordermill/ordermill/internal/shops"
	"github.com/ordermill/ordermill/internal/testenv"
	"github.com/ordermill/ordermill/shopify"
)

// installEnv is the whole platform (api, relay, projectors, workers) at a
// known address, installed on shops through the simulator's OAuth.
type installEnv struct {
	url     string
	sim     *testenv.Simulator
	p       *platform.Platform
	cfg     config.Config
	browser *http.Client // follows no redirects: each step is checked
}

func newInstallEnv(t *testing.T, tweaks ...func(*config.Config)) *installEnv {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end")
	}
	sim := testenv.StartSimulator(t)
	cfg := testenv.Config(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.AppURL = "http://" + ln.Addr().String()
	cfg.ShopifyAPIURL, cfg.SESEndpoint = sim.URL, sim.URL
	cfg.MetricsAddr, cfg.JWTKeyFile, cfg.BcryptCost = "", "", bcrypt.MinCost
	high := config.Rate{N: 100000, Per: time.Second}
	cfg.RateLimitUser, cfg.RateLimitIP, cfg.RateLimitLogin, cfg.RateLimitAuthFailures = high, high, high, high
	cfg.ShopifySubscriptionsCheck = time.Second
	for _, tweak := range tweaks {
		tweak(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	p, err := platform.Open(ctx, cfg, log, false)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, []string{"relay", "projectors", "workers"}) }()
	srv := &httptest.Server{Listener: ln, Config: p.APIServer(p.Handler())}
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		cancel()
		<-done
		p.Close()
	})
	return &installEnv{url: cfg.AppURL, sim: sim, p: p, cfg: cfg, browser: &http.Client{
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// signed is a query as Shopify signs it, stamped now.
func (e *installEnv) signed(q url.Values) url.Values {
	if !q.Has("timestamp") {
		q.Set("timestamp", strconv.FormatInt(time.Now().Unix(), 10))
	}
	q.Set("hmac", shopify.SignQuery(q, e.cfg.ShopifyClientSecret))
	return q
}

type page struct {
	status   int
	location string
	body     string
}

func (e *installEnv) get(t *testing.T, u string) page {
	t.Helper()
	resp, err := e.browser.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 400 && !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Errorf("GET %s: %d answered %s, want an HTML page", u, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return page{resp.StatusCode, resp.Header.Get("Location"), string(b)}
}

// authorize opens the install link of shop and follows it to the
// simulator's grant screen, which answers with the signed callback URL.
func (e *installEnv) authorize(t *testing.T, shop string) string {
	t.Helper()
	start := e.get(t, e.url+"/shopify/install?"+e.signed(url.Values{"shop": {shop}}).Encode())
	if start.status != http.StatusFound || !strings.HasPrefix(start.location, e.sim.URL+"/admin/oauth/authorize?") {
		t.Fatalf("install: %d to %q: %s", start.status, start.location, start.body)
	}
	grant := e.get(t, start.location)
	if grant.status != http.StatusFound || !strings.HasPrefix(grant.location, e.url+"/shopify/callback?") {
		t.Fatalf("grant screen: %d to %q: %s", grant.status, grant.location, grant.body)
	}
	return grant.location
}

// install runs the whole OAuth install and returns the tokens the owner
// lands in the app with.
func (e *installEnv) install(t *testing.T, shop string) (access, refresh string) {
	t.Helper()
	back := e.get(t, e.authorize(t, shop))
	landing, err := url.Parse(back.location)
	if back.status != http.StatusFound || err != nil || landing.Path != "/" {
		t.Fatalf("callback: %d to %q: %s", back.status, back.location, back.body)
	}
	frag, _ := url.ParseQuery(landing.Fragment)
	if frag.Get("access_token") == "" || frag.Get("refresh_token") == "" {
		t.Fatalf("landing %q carries no session", back.location)
	}
	return frag.Get("access_token"), frag.Get("refresh_token")
}

func (e *installEnv) profile(t *testing.T, access string) (status int, p struct {
	ID    string `json:"id"`
	Shop  string `json:"shop"`
	Email string `json:"email"`
	Role  string `json:"role"`
}) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.url+"/api/v1/profile", nil)
	req.Header.Set("Authorization", "Bearer "+access)
	resp, err := e.browser.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_ = json.NewDecoder(resp.Body).Decode(&p)
	return resp.StatusCode, p
}

func (e *installEnv) subscriptions(t *testing.T, shop string) map[string]string {
	t.Helper()
	var out struct {
		Subscriptions []struct{ Topic, URI string }
	}
	if code := e.sim.Do(t, http.MethodGet, "/_sim/shops/"+shop+"/subscriptions", nil, &out); code != http.StatusOK {
		t.Fatalf("subscriptions: %d", code)
	}
	m := map[string]string{}
	for _, s := range out.Subscriptions {
		m[s.Topic] = s.URI
	}
	return m
}

func (e *installEnv) checkSubscribed(t *testing.T, shop string) {
	t.Helper()
	subs := e.subscriptions(t, shop)
	for _, topic := range shopify.SubscribedTopics {
		if uri := subs[shopify.TopicEnum(topic)]; uri != e.url+"/webhooks/shopify" {
			t.Errorf("%s: subscribed at %q, want %s/webhooks/shopify", topic, uri, e.url)
		}
	}
	if len(subs) != len(shopify.SubscribedTopics) {
		t.Errorf("%d subscriptions, want %d: %v", len(subs), len(shopify.SubscribedTopics), subs)
	}
}

// adminAnswers reports whether Shopify (the simulator) accepts token for shop.
func (e *installEnv) adminAnswers(t *testing.T, shop, token string) bool {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.sim.URL+"/admin/api/2026-10/graphql.json",
		strings.NewReader(`{"query":"query InstalledShop { shop { id } }"}`))
	req.Header.Set("X-Shopify-Access-Token", token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func (e *installEnv) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := e.p.Pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// A shop installs through OAuth, is subscribed, its orders flow, its
// expiring token is refreshed once however many processes need it, a
// dropped subscription comes back, and after an uninstall it reinstalls
// where it left off.
func TestShopifyInstallEndToEnd(t *testing.T) {
	e := newInstallEnv(t)
	ctx := context.Background()
	const shop = "oauth-e2e.myshopify.com"

	access, _ := e.install(t, shop)
	status, owner := e.profile(t, access)
	if status != http.StatusOK || owner.Shop != shop || owner.Email != "owner@oauth-e2e.test" || owner.Role != string(domain.RoleOwner) {
		t.Fatalf("the owner landed as %d %+v", status, owner)
	}
	st, err := e.p.Shops.TokenState(ctx, shop)
	if err != nil || st.Grant != shopify.GrantAuthorizationCode || !st.HasToken || st.ExpiresAt == nil || st.RefreshExpiresAt == nil ||
		time.Until(*st.ExpiresAt) < 50*time.Minute || time.Until(*st.RefreshExpiresAt) < 80*24*time.Hour {
		t.Fatalf("token state %+v, %v: want an expiring offline token with its refresh token", st, err)
	}
	if n := e.count(t, `SELECT count(*) FROM shops WHERE domain = $1 AND (position('shpat_' in encode(access_token, 'escape')) > 0
		OR position('shprt_' in encode(refresh_token, 'escape')) > 0)`, shop); n != 0 {
		t.Error("a token is stored in clear")
	}
	e.checkSubscribed(t, shop)

	// Orders flow: the simulator delivers to the subscribed topics, signed
	// with the app's secret, and the fulfilment sync reads with the token.
	var run struct{ ID string }
	if code := e.sim.Do(t, http.MethodPost, "/_sim/runs", map[string]any{"scenario": "orders", "shop": shop,
		"secret": e.cfg.ShopifyClientSecret, "target": e.url, "seed": 28, "orders": 8}, &run); code != http.StatusCreated {
		t.Fatalf("start run: %d", code)
	}
	var r testenv.SimRun
	eventually(t, "the run to finish", func() bool {
		e.sim.Do(t, http.MethodGet, "/_sim/runs/"+run.ID+"?deliveries=false", nil, &r)
		return r.Status == "done"
	})
	if r.Sent == 0 || r.Acknowledged != r.Sent {
		t.Fatalf("run: %d sent, %d acknowledged", r.Sent, r.Acknowledged)
	}
	eventually(t, "the orders in the read model", func() bool {
		return e.count(t, `SELECT count(*) FROM orders_view WHERE shop = $1`, shop) == len(r.Expected.Orders)
	})
	var calls struct {
		Calls []struct {
			Shop   string
			Status int
			Query  string
		}
	}
	e.sim.Do(t, http.MethodGet, "/_sim/admin/calls", nil, &calls)
	// Webhook snapshots carry what orders need: no per-order Admin API call.
	// The calls the install made went out with the installed token.
	made := 0
	for _, c := range calls.Calls {
		if c.Shop == shop {
			if c.Status != http.StatusOK {
				t.Errorf("Admin API call answered %d: %s", c.Status, c.Query)
			}
			if strings.Contains(c.Query, "order(") {
				t.Errorf("a per-order Admin API call was made: %s", c.Query)
			}
			made++
		}
	}
	if made == 0 {
		t.Error("no Admin API call reached Shopify with the installed token")
	}

	// An hour later Shopify has expired the token: two processes (two
	// registries) asking at once renew it once and share the new one.
	old, err := e.p.Shops.AccessToken(ctx, shop)
	if err != nil {
		t.Fatal(err)
	}
	e.sim.Do(t, http.MethodPost, "/_sim/shops/"+shop+"/expire-tokens", nil, nil)
	if _, err := e.p.Pool.Exec(ctx, `UPDATE shops SET access_token_expires_at = now() WHERE domain = $1`, shop); err != nil {
		t.Fatal(err)
	}
	if e.adminAnswers(t, shop, old) {
		t.Fatal("the simulator still accepts the expired token")
	}
	other := shops.NewRegistry(e.p.Pool, e.p.MasterKey)
	other.SetRenewer(&shopify.TokenClient{App: e.p.ShopifyApp()})
	tokens := make([]string, 8)
	errs := make([]error, 8)
	var wg sync.WaitGroup
	for i := range tokens {
		reg := e.p.Shops
		if i%2 == 1 {
			reg = other
		}
		wg.Go(func() { tokens[i], errs[i] = reg.AccessToken(ctx, shop) })
	}
	wg.Wait()
	for i := range tokens {
		if errs[i] != nil || tokens[i] != tokens[0] || tokens[i] == old {
			t.Fatalf("caller %d: %v, token shared %v, renewed %v", i, errs[i], tokens[i] == tokens[0], tokens[i] != old)
		}
	}
	if !e.adminAnswers(t, shop, tokens[0]) {
		t.Fatal("Shopify refuses the refreshed token")
	}
	if st, _ := e.p.Shops.TokenState(ctx, shop); st.ExpiresAt == nil || time.Until(*st.ExpiresAt) < 50*time.Minute {
		t.Errorf("after refresh the token expires at %v", st.ExpiresAt)
	}

	// Shopify drops a subscription whose deliveries failed; the periodic
	// check (every second here) subscribes again.
	if code := e.sim.Do(t, http.MethodDelete, "/_sim/shops/"+shop+"/subscriptions/orders/paid", nil, nil); code != http.StatusNoContent {
		t.Fatalf("drop subscription: %d", code)
	}
	eventually(t, "orders/paid subscribed again", func() bool { return e.subscriptions(t, shop)["ORDERS_PAID"] != "" })

	// The merchant removes the app: app/uninstalled destroys the tokens.
	var un struct {
		WebhookStatus int `json:"webhook_status"`
	}
	if code := e.sim.Do(t, http.MethodPost, "/_sim/shops/"+shop+"/uninstall", nil, &un); code != http.StatusOK || un.WebhookStatus != http.StatusOK {
		t.Fatalf("uninstall: %d, app/uninstalled answered %d", code, un.WebhookStatus)
	}
	eventually(t, "the tokens destroyed", func() bool {
		st, err := e.p.Shops.TokenState(ctx, shop)
		return err == nil && !st.HasToken
	})
	if n := e.count(t, `SELECT count(*) FROM shops WHERE domain = $1 AND NOT installed AND refresh_token IS NULL`, shop); n != 1 {
		t.Error("the shop is not marked uninstalled with its refresh token gone")
	}
	if _, err := e.p.Shops.AccessToken(ctx, shop); !errors.Is(err, shopify.ErrNotInstalled) {
		t.Errorf("access token after uninstall: %v, want ErrNotInstalled", err)
	}
	orders := e.count(t, `SELECT count(*) FROM orders_view WHERE shop = $1`, shop)

	// Reinstalling resumes: same owner, same orders, a new token, new subscriptions.
	access2, _ := e.install(t, shop)
	if status, again := e.profile(t, access2); status != http.StatusOK || again.ID != owner.ID {
		t.Errorf("after reinstall the owner is %d %+v, want %+v", status, again, owner)
	}
	e.checkSubscribed(t, shop)
	if got := e.count(t, `SELECT count(*) FROM orders_view WHERE shop = $1`, shop); got != orders {
		t.Errorf("%d orders after reinstall, %d before", got, orders)
	}
	if n := e.count(t, `SELECT count(*) FROM shops WHERE domain = $1 AND installed AND uninstalled_at IS NULL AND access_token IS NOT NULL`, shop); n != 1 {
		t.Error("the shop is not installed again with a token")
	}
	if n := e.count(t, `SELECT count(*) FROM events WHERE stream_id = $1 AND event_type = 'shop.reinstalled'`, domain.ShopStream(shop)); n != 1 {
		t.Errorf("%d shop.reinstalled events, want 1", n)
	}
	token, err := e.p.Shops.AccessToken(ctx, shop)
	if err != nil || !e.adminAnswers(t, shop, token) {
		t.Errorf("the reinstalled shop's token does not work: %v", err)
	}
}

// Every bad install input gets an HTML page saying what is wrong, and
// changes nothing: no shop, no token, no event, no spent state.
func TestShopifyInstallRefusesBadInput(t *testing.T) {
	e := newInstallEnv(t)
	ctx := context.Background()
	const shop = "careful.myshopify.com"
	unchanged := func(name string) {
		t.Helper()
		if n := e.count(t, `SELECT count(*) FROM shops`); n != 0 {
			t.Errorf("%s: %d shops registered", name, n)
		}
		if n := e.count(t, `SELECT count(*) FROM events WHERE stream_id LIKE 'shop-%' OR stream_id LIKE 'user-%'`); n != 0 {
			t.Errorf("%s: %d shop or user events", name, n)
		}
	}
	states := func() int {
		keys, err := e.p.Redis.Keys(ctx, e.cfg.StreamPrefix+"oauth-state:*").Result()
		if err != nil {
			t.Fatal(err)
		}
		return len(keys)
	}
	old := strconv.FormatInt(time.Now().Add(-time.Hour).Unix(), 10)
	for name, tc := range map[string]struct {
		query  url.Values
		status int
		says   string
	}{
		"foreign domain": {e.signed(url.Values{"shop": {"shop.evil.com"}}), http.StatusBadRequest, "not a Shopify store"},
		"no shop":        {e.signed(url.Values{}), http.StatusBadRequest, "not a Shopify store"},
		"wrong hmac":     {url.Values{"shop": {shop}, "timestamp": {old}, "hmac": {strings.Repeat("ab", 32)}}, http.StatusUnauthorized, "did not come from Shopify"},
		"no hmac":        {url.Values{"shop": {shop}, "timestamp": {strconv.FormatInt(time.Now().Unix(), 10)}}, http.StatusUnauthorized, "did not come from Shopify"},
		"signed for another shop": {func() url.Values {
			q := e.signed(url.Values{"shop": {"other.myshopify.com"}})
			q.Set("shop", shop)
			return q
		}(), http.StatusUnauthorized, "did not come from Shopify"},
		"an hour old": {e.signed(url.Values{"shop": {shop}, "timestamp": {old}}), http.StatusBadRequest, "expired"},
	} {
		p := e.get(t, e.url+"/shopify/install?"+tc.query.Encode())
		if p.status != tc.status || !strings.Contains(p.body, tc.says) {
			t.Errorf("install, %s: %d %q, want %d saying %q", name, p.status, p.body, tc.status, tc.says)
		}
		if n := states(); n != 0 {
			t.Errorf("install, %s: %d states stored", name, n)
		}
	}
	unchanged("bad install links")

	// A callback: start for real, then tamper with what comes back.
	callback, _ := url.Parse(e.authorize(t, shop))
	good := callback.Query()
	if ttl := e.p.Redis.TTL(ctx, e.cfg.StreamPrefix+"oauth-state:"+good.Get("state")).Val(); ttl <= 0 || ttl > 10*time.Minute {
		t.Errorf("the state lives %v, want at most 10 minutes", ttl)
	}
	resign := func(change func(url.Values)) url.Values {
		q := url.Values{}
		for k, v := range good {
			if k != "hmac" {
				q[k] = append([]string{}, v...)
			}
		}
		change(q)
		return e.signed(q)
	}
	for name, tc := range map[string]struct {
		query  url.Values
		status int
		says   string
	}{
		"wrong hmac": {func() url.Values {
			q := resign(func(url.Values) {})
			q.Set("hmac", strings.Repeat("0", 64))
			return q
		}(), http.StatusUnauthorized, "did not come from Shopify"},
		"altered code":  {func() url.Values { q := resign(func(url.Values) {}); q.Set("code", "x"); return q }(), http.StatusUnauthorized, "did not come from Shopify"},
		"unknown state": {resign(func(q url.Values) { q.Set("state", "made-up") }), http.StatusBadRequest, "already used or has expired"},
		"no state":      {resign(func(q url.Values) { q.Del("state") }), http.StatusBadRequest, "already used or has expired"},
		"foreign shop":  {resign(func(q url.Values) { q.Set("shop", "evil.com") }), http.StatusBadRequest, "not a Shopify store"},
		"the state of another shop": {resign(func(q url.Values) { q.Set("shop", "other.myshopify.com") }),
			http.StatusBadRequest, "started for another store"},
	} {
		p := e.get(t, e.url+"/shopify/callback?"+tc.query.Encode())
		if p.status != tc.status || !strings.Contains(p.body, tc.says) {
			t.Errorf("callback, %s: %d %q, want %d saying %q", name, p.status, p.body, tc.status, tc.says)
		}
		unchanged("callback, " + name)
	}
	// The state of another shop was spent by that attempt; start again.
	callback, _ = url.Parse(e.authorize(t, shop))
	good = callback.Query()
	if p := e.get(t, e.url+"/shopify/callback?"+resign(func(q url.Values) { q.Set("code", "not-a-code") }).Encode()); p.status != http.StatusBadGateway ||
		!strings.Contains(p.body, "invalid_grant") {
		t.Errorf("callback with a code Shopify refuses: %d %q", p.status, p.body)
	}
	unchanged("a refused code")

	// A real install, then its callback again: the state is spent.
	callback, _ = url.Parse(e.authorize(t, shop))
	if p := e.get(t, callback.String()); p.status != http.StatusFound {
		t.Fatalf("install: %d %s", p.status, p.body)
	}
	// Counted by source: the worker that sends the owner's welcome email
	// appends while the replay is tried.
	const installEvents = `SELECT count(*) FROM events WHERE metadata->>'source' = 'install'`
	events := e.count(t, installEvents)
	if events == 0 {
		t.Fatal("the install recorded no events with its source")
	}
	var sealed []byte
	_ = e.p.Pool.QueryRow(ctx, `SELECT access_token FROM shops WHERE domain = $1`, shop).Scan(&sealed)
	if p := e.get(t, callback.String()); p.status != http.StatusBadRequest || !strings.Contains(p.body, "already used") {
		t.Errorf("the callback replayed: %d %q", p.status, p.body)
	}
	var after []byte
	_ = e.p.Pool.QueryRow(ctx, `SELECT access_token FROM shops WHERE domain = $1`, shop).Scan(&after)
	if string(after) != string(sealed) || e.count(t, installEvents) != events {
		t.Error("the replayed callback changed the shop")
	}
}

func (e *installEnv) sessionToken(t *testing.T, shop, secret string, change func(jwt.MapClaims)) string {
	t.Helper()
	now := time.Now()
	c := jwt.MapClaims{"iss": "https://" + shop + "/admin", "dest": "https://" + shop, "aud": e.cfg.ShopifyClientID, "sub": "42",
		"exp": now.Add(time.Minute).Unix(), "nbf": now.Add(-time.Second).Unix(), "iat": now.Unix(), "jti": "j", "sid": "s"}
	change(c)
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (e *installEnv) exchange(t *testing.T, token string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.url+"/shopify/token-exchange", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := e.browser.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// The embedded app installs by exchanging its session token; the merchant's
// own app gets 24-hour client-credentials tokens, fetched again before expiry.
func TestShopifyTokenExchangeAndClientCredentials(t *testing.T) {
	e := newInstallEnv(t)
	ctx := context.Background()
	const shop = "embedded.myshopify.com"
	secret := e.cfg.ShopifyClientSecret
	for name, token := range map[string]string{
		"other secret": e.sessionToken(t, shop, "not-the-secret", func(jwt.MapClaims) {}),
		"other app":    e.sessionToken(t, shop, secret, func(c jwt.MapClaims) { c["aud"] = "another-app" }),
		"expired":      e.sessionToken(t, shop, secret, func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Minute).Unix() }),
		"not yet":      e.sessionToken(t, shop, secret, func(c jwt.MapClaims) { c["nbf"] = time.Now().Add(time.Minute).Unix() }),
		"foreign dest": e.sessionToken(t, shop, secret, func(c jwt.MapClaims) { c["dest"] = "https://evil.com" }),
	} {
		if code := e.exchange(t, token); code != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401", name, code)
		}
	}
	if n := e.count(t, `SELECT count(*) FROM shops`); n != 0 {
		t.Fatalf("refused session tokens registered %d shops", n)
	}
	if code := e.exchange(t, e.sessionToken(t, shop, secret, func(jwt.MapClaims) {})); code != http.StatusOK {
		t.Fatalf("token exchange: %d", code)
	}
	st, err := e.p.Shops.TokenState(ctx, shop)
	if err != nil || st.Grant != shopify.GrantTokenExchange || st.ExpiresAt == nil || st.RefreshExpiresAt == nil {
		t.Fatalf("after token exchange: %+v, %v", st, err)
	}
	e.checkSubscribed(t, shop)
	token, err := e.p.Shops.AccessToken(ctx, shop)
	if err != nil || !e.adminAnswers(t, shop, token) {
		t.Fatalf("exchanged token: %v", err)
	}

	// A merchant's own Dev Dashboard app, registered from the CLI's path.
	const own = "own-app.myshopify.com"
	e.sim.Do(t, http.MethodPost, "/_sim/apps", map[string]string{"shop": own, "client_id": "own-id", "client_secret": "own-secret"}, nil)
	if _, err := e.p.App().RegisterShop(ctx, shops.Registration{Domain: own, Name: "Own", Currency: "EUR", WebhookSecrets: []string{"own-secret"},
		ClientID: "own-id", ClientSecret: "own-secret"}, eventstore.Metadata{Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	first, err := e.p.Shops.AccessToken(ctx, own)
	if err != nil || !e.adminAnswers(t, own, first) {
		t.Fatalf("client credentials token: %v", err)
	}
	st, _ = e.p.Shops.TokenState(ctx, own)
	if st.Grant != shopify.GrantClientCredentials || st.ExpiresAt == nil || time.Until(*st.ExpiresAt) < 23*time.Hour {
		t.Fatalf("client credentials token state %+v, want about 24 hours", st)
	}
	if again, _ := e.p.Shops.AccessToken(ctx, own); again != first {
		t.Error("a live token was fetched again")
	}
	if _, err := e.p.Pool.Exec(ctx, `UPDATE shops SET access_token_expires_at = now() + interval '1 minute' WHERE domain = $1`, own); err != nil {
		t.Fatal(err)
	}
	next, err := e.p.Shops.AccessToken(ctx, own)
	if err != nil || next == first || !e.adminAnswers(t, own, next) {
		t.Errorf("a token about to expire was not fetched again: %v", err)
	}
}
