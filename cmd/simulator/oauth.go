package main

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// oauthConfig is the one app the simulator knows as Shopify would: its
// client id and secret (the secret also signs its webhooks), and how long
// the tokens it grants live.
type oauthConfig struct {
	clientID     string
	clientSecret string
	accessTTL    time.Duration // expiring offline tokens (Shopify: 1 hour)
	refreshTTL   time.Duration // their refresh tokens (Shopify: 90 days)
}

// Lifetimes Shopify gives.
const (
	codeTTL              = time.Minute
	clientCredentialsTTL = 86399 * time.Second // "expires_in": 86399
)

type grantedToken struct {
	shop    string
	expires time.Time // zero: never
	scope   string
}

type ownApp struct {
	shop, secret string
}

// apps is Shopify's side of app installation: codes, access and refresh
// tokens, the merchants' own apps, and each shop's webhook subscriptions.
type apps struct {
	cfg oauthConfig
	now func() time.Time

	mu        sync.Mutex
	codes     map[string]grantedToken // authorization code → shop
	access    map[string]grantedToken // access token → shop
	refresh   map[string]grantedToken // refresh token → shop, spent on use
	own       map[string]ownApp       // client id of a merchant's own app → its shop and secret
	installed map[string]bool         // shops that installed through OAuth (false: uninstalled)
	subs      map[string][]subscription
	nextSubID int64
}

func newApps(cfg oauthConfig, now func() time.Time) *apps {
	return &apps{cfg: cfg, now: now, codes: map[string]grantedToken{}, access: map[string]grantedToken{},
		refresh: map[string]grantedToken{}, own: map[string]ownApp{}, installed: map[string]bool{},
		subs: map[string][]subscription{}, nextSubID: 1_000_000}
}

func randomToken(prefix string) string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// tokenShop is the shop a live access token was granted for.
func (a *apps) tokenShop(token string) (string, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	g, ok := a.access[token]
	if !ok || (!g.expires.IsZero() && !a.now().Before(g.expires)) {
		return "", false
	}
	return g.shop, true
}

// signQuery is Shopify's hmac of a redirect: sorted name=value pairs.
func signQuery(q url.Values, secret string) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		if k != "hmac" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + q.Get(k)
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strings.Join(parts, "&")))
	return hex.EncodeToString(m.Sum(nil))
}

// authorize handles GET /admin/oauth/authorize: the merchant approves the
// app at once, and the browser goes back to redirect_uri with a code and
// the app's state, signed. The simulator serves every shop from one
// address, so the shop comes as a parameter.
func (a *apps) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	shop := strings.ToLower(q.Get("shop"))
	redirect, err := url.Parse(q.Get("redirect_uri"))
	switch {
	case q.Get("client_id") != a.cfg.clientID:
		http.Error(w, "Oauth error invalid_request: The client_id is not valid", http.StatusBadRequest)
		return
	case !validHost(shop):
		http.Error(w, "unknown shop", http.StatusNotFound)
		return
	case err != nil || !redirect.IsAbs() || q.Get("state") == "":
		http.Error(w, "Oauth error invalid_request: The redirect_uri and state are required", http.StatusBadRequest)
		return
	}
	code := randomToken("")
	a.mu.Lock()
	a.codes[code] = grantedToken{shop: shop, expires: a.now().Add(codeTTL), scope: q.Get("scope")}
	a.mu.Unlock()
	back := url.Values{"code": {code}, "shop": {shop}, "state": {q.Get("state")},
		"timestamp": {strconv.FormatInt(a.now().Unix(), 10)},
		"host":      {base64.RawURLEncoding.EncodeToString([]byte(shop + "/admin"))}}
	back.Set("hmac", signQuery(back, a.cfg.clientSecret))
	redirect.RawQuery = back.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

func oauthError(w http.ResponseWriter, status int, code, description string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": description})
}

// accessToken handles POST /admin/oauth/access_token: the authorization
// code, refresh token, token exchange and client-credentials grants. The
// shop is the X-Shopify-Shop-Domain header (one address serves every shop).
func (a *apps) accessToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	f := r.PostForm
	shop := strings.ToLower(r.Header.Get("X-Shopify-Shop-Domain"))
	grant := f.Get("grant_type")
	if grant == "client_credentials" {
		a.clientCredentials(w, shop, f)
		return
	}
	if f.Get("client_id") != a.cfg.clientID || !hmac.Equal([]byte(f.Get("client_secret")), []byte(a.cfg.clientSecret)) {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "Client authentication failed.")
		return
	}
	now := a.now()
	scope := "read_orders,write_orders"
	a.mu.Lock()
	defer a.mu.Unlock()
	switch grant {
	case "":
		c, ok := a.codes[f.Get("code")]
		delete(a.codes, f.Get("code")) // single use
		if !ok || c.shop != shop || !now.Before(c.expires) {
			oauthError(w, http.StatusBadRequest, "invalid_grant", "The authorization code was not found or was already used.")
			return
		}
		scope = c.scope
	case "refresh_token":
		g, ok := a.refresh[f.Get("refresh_token")]
		delete(a.refresh, f.Get("refresh_token")) // rotated: the new one replaces it
		if !ok || g.shop != shop || !now.Before(g.expires) || !a.installed[shop] {
			oauthError(w, http.StatusBadRequest, "invalid_grant", "The refresh token is invalid, expired or revoked.")
			return
		}
		scope = g.scope
	case "urn:ietf:params:oauth:grant-type:token-exchange":
		if err := a.verifySessionToken(f.Get("subject_token"), shop, now); err != nil {
			oauthError(w, http.StatusBadRequest, "invalid_subject_token", err.Error())
			return
		}
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type "+grant+" is not supported")
		return
	}
	a.installed[shop] = true
	token := randomToken("shpat_")
	resp := map[string]any{"access_token": token, "scope": scope}
	// A refresh keeps the expiry it was granted with.
	if f.Get("expiring") == "1" || grant == "refresh_token" {
		refresh := randomToken("shprt_")
		a.access[token] = grantedToken{shop: shop, expires: now.Add(a.cfg.accessTTL), scope: scope}
		a.refresh[refresh] = grantedToken{shop: shop, expires: now.Add(a.cfg.refreshTTL), scope: scope}
		resp["expires_in"] = int(a.cfg.accessTTL.Seconds())
		resp["refresh_token"] = refresh
		resp["refresh_token_expires_in"] = int(a.cfg.refreshTTL.Seconds())
	} else {
		a.access[token] = grantedToken{shop: shop}
	}
	writeJSON(w, http.StatusOK, resp)
}

// verifySessionToken checks an App Bridge session token as Shopify does
// before exchanging it.
func (a *apps) verifySessionToken(token, shop string, now time.Time) error {
	var claims struct {
		Dest string `json:"dest"`
		jwt.RegisteredClaims
	}
	_, err := jwt.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return []byte(a.cfg.clientSecret), nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithAudience(a.cfg.clientID), jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(func() time.Time { return now }))
	if err != nil {
		return fmt.Errorf("session token: %w", err)
	}
	if claims.Dest != "https://"+shop {
		return fmt.Errorf("session token is for %s, not %s", claims.Dest, shop)
	}
	return nil
}

// clientCredentials grants a 24-hour token to a merchant's own app.
func (a *apps) clientCredentials(w http.ResponseWriter, shop string, f url.Values) {
	a.mu.Lock()
	defer a.mu.Unlock()
	app, ok := a.own[f.Get("client_id")]
	if !ok || app.shop != shop || !hmac.Equal([]byte(app.secret), []byte(f.Get("client_secret"))) {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "Client authentication failed.")
		return
	}
	token := randomToken("shpat_")
	a.access[token] = grantedToken{shop: shop, expires: a.now().Add(clientCredentialsTTL)}
	writeJSON(w, http.StatusOK, map[string]any{"access_token": token, "scope": "read_orders", "expires_in": int(clientCredentialsTTL.Seconds())})
}

// registerOwnApp handles POST /_sim/apps: a merchant creates their own app
// for their shop in the Dev Dashboard.
func (s *simulator) registerOwnApp(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Shop         string `json:"shop"`
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if !decodeStrict(w, r, &req) {
		return
	}
	if !validHost(req.Shop) || req.ClientID == "" || req.ClientSecret == "" {
		badRequest(w, "shop (a shop domain), client_id and client_secret are required")
		return
	}
	s.admin.apps.mu.Lock()
	s.admin.apps.own[req.ClientID] = ownApp{shop: strings.ToLower(req.Shop), secret: req.ClientSecret}
	s.admin.apps.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// expireTokens handles POST /_sim/shops/{shop}/expire-tokens: every access
// token of the shop expires now, as an hour passing would do.
func (s *simulator) expireTokens(w http.ResponseWriter, r *http.Request) {
	shop := strings.ToLower(r.PathValue("shop"))
	s.admin.apps.mu.Lock()
	n := 0
	for t, g := range s.admin.apps.access {
		if g.shop == shop {
			g.expires = s.admin.apps.now()
			s.admin.apps.access[t] = g
			n++
		}
	}
	s.admin.apps.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]int{"expired": n})
}
