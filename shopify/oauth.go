// Package shopify is the Shopify adapter: how an app is installed (OAuth,
// token exchange, client credentials), how install requests are verified,
// and the webhook subscriptions the platform keeps.
package shopify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// shopHostname is the pattern Shopify's OAuth guide gives for the shop
// parameter: a myshopify.com hostname of letters, digits and hyphens.
// Domains are lower-cased first, since they are tenant ids.
var shopHostname = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9\-]*\.myshopify\.com$`)

// ValidShop reports whether shop is a shop's permanent myshopify.com hostname.
func ValidShop(shop string) bool { return len(shop) <= 255 && shopHostname.MatchString(shop) }

// HMACTolerance is how far a signed request's timestamp may be from our
// clock, as Shopify's own libraries allow.
const HMACTolerance = 90 * time.Second

// Errors of install requests; each is shown to the merchant in plain words.
var (
	ErrBadShop      = errors.New("the shop is not a myshopify.com store domain")
	ErrBadHMAC      = errors.New("the request's signature does not match: it did not come from Shopify")
	ErrStaleRequest = errors.New("the request is too old or from the future; start the installation again from Shopify")
)

// QueryMessage is the string Shopify signs for a redirect or install
// request: every parameter but hmac (and the legacy signature), sorted by
// name, as name=value joined by &, with & and % escaped in names and
// values and = escaped in names.
func QueryMessage(q url.Values) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		if k != "hmac" && k != "signature" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	esc := strings.NewReplacer("%", "%25", "&", "%26")
	keyEsc := strings.NewReplacer("%", "%25", "&", "%26", "=", "%3D")
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		v := q[k]
		value := v[0]
		if len(v) > 1 { // Shopify sends arrays as ["a", "b"]
			quoted := make([]string, len(v))
			for i, s := range v {
				quoted[i] = strconv.Quote(s)
			}
			value = "[" + strings.Join(quoted, ", ") + "]"
		}
		parts = append(parts, keyEsc.Replace(k)+"="+esc.Replace(value))
	}
	return strings.Join(parts, "&")
}

// SignQuery returns the hex HMAC-SHA256 Shopify puts in the hmac parameter.
func SignQuery(q url.Values, secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(QueryMessage(q)))
	return hex.EncodeToString(m.Sum(nil))
}

// VerifyQuery checks a request Shopify signed (the install link, the OAuth
// callback): its hmac in constant time, its shop and its timestamp.
func VerifyQuery(q url.Values, secret string, now time.Time) error {
	if !ValidShop(q.Get("shop")) {
		return ErrBadShop
	}
	got, err := hex.DecodeString(q.Get("hmac"))
	if err != nil || len(q["hmac"]) != 1 {
		return ErrBadHMAC
	}
	want, _ := hex.DecodeString(SignQuery(q, secret))
	if !hmac.Equal(got, want) {
		return ErrBadHMAC
	}
	ts, err := strconv.ParseInt(q.Get("timestamp"), 10, 64)
	if err != nil {
		return ErrStaleRequest
	}
	if d := now.Sub(time.Unix(ts, 0)); d > HMACTolerance || d < -HMACTolerance {
		return ErrStaleRequest
	}
	return nil
}

// App is this app's identity at Shopify, from its Dev Dashboard.
type App struct {
	ClientID     string
	ClientSecret string
	Scopes       []string
	// BaseURL replaces https://<shop> for the OAuth and Admin endpoints (the
	// simulator); empty in production.
	BaseURL string
}

// ShopURL is where the shop's admin lives: https://<shop>, or the configured base.
func (a App) ShopURL(shop string) string {
	if a.BaseURL != "" {
		return strings.TrimRight(a.BaseURL, "/")
	}
	return "https://" + shop
}

// AuthorizeURL is the shop's grant screen for an offline token: the
// merchant approves the scopes and Shopify redirects to redirectURI with a
// code and the state.
func (a App) AuthorizeURL(shop, redirectURI, state string) string {
	q := url.Values{"client_id": {a.ClientID}, "scope": {strings.Join(a.Scopes, ",")},
		"redirect_uri": {redirectURI}, "state": {state}}
	u := a.ShopURL(shop) + "/admin/oauth/authorize?" + q.Encode()
	if a.BaseURL != "" { // the simulator serves every shop: say which
		u += "&" + url.Values{"shop": {shop}}.Encode()
	}
	return u
}

// Grants of an access token, as the shops table records them.
const (
	GrantAuthorizationCode = "authorization_code" // OAuth install; renewed with its refresh token
	GrantTokenExchange     = "token_exchange"     // embedded app; renewed with its refresh token
	GrantClientCredentials = "client_credentials" // the merchant's own app; fetched again
	GrantStatic            = "static"             // pasted by hand; never expires
)

// Token is an Admin API access token and what renews it.
type Token struct {
	AccessToken      string
	Scope            string
	ExpiresAt        time.Time // zero: does not expire
	RefreshToken     string    // empty for client credentials
	RefreshExpiresAt time.Time
}

// TokenError is Shopify's refusal at the token endpoint.
type TokenError struct {
	Status      int
	Code        string // OAuth error code, e.g. invalid_grant
	Description string
}

func (e *TokenError) Error() string {
	msg := fmt.Sprintf("Shopify refused the token request (%d", e.Status)
	if e.Code != "" {
		msg += " " + e.Code
	}
	msg += ")"
	if e.Description != "" {
		msg += ": " + e.Description
	}
	return msg
}

// Grant types and token types of the token endpoint (RFC 8693 for the exchange).
const (
	grantTypeTokenExchange   = "urn:ietf:params:oauth:grant-type:token-exchange"
	tokenTypeIDToken         = "urn:ietf:params:oauth:token-type:id_token"
	tokenTypeOfflineAccess   = "urn:shopify:params:oauth:token-type:offline-access-token"
	tokenEndpointTimeout     = 15 * time.Second
	maxTokenResponseBodySize = 1 << 16
)

// TokenClient calls a shop's /admin/oauth/access_token.
type TokenClient struct {
	App  App
	HTTP *http.Client // nil: a client with a 15 s timeout
	Now  func() time.Time
}

// ExchangeCode trades the callback's code for an expiring offline token.
func (c *TokenClient) ExchangeCode(ctx context.Context, shop, code string) (Token, error) {
	return c.request(ctx, shop, url.Values{"code": {code}, "expiring": {"1"}})
}

// Refresh trades a refresh token for a new access token and refresh token.
func (c *TokenClient) Refresh(ctx context.Context, shop, refreshToken string) (Token, error) {
	return c.request(ctx, shop, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}})
}

// ExchangeSessionToken trades an App Bridge session token (verified first,
// see VerifySessionToken) for an expiring offline token.
func (c *TokenClient) ExchangeSessionToken(ctx context.Context, shop, sessionToken string) (Token, error) {
	return c.request(ctx, shop, url.Values{"grant_type": {grantTypeTokenExchange}, "subject_token": {sessionToken},
		"subject_token_type": {tokenTypeIDToken}, "requested_token_type": {tokenTypeOfflineAccess}, "expiring": {"1"}})
}

// ClientCredentials fetches a token for an app the merchant made for their
// own shop in the Dev Dashboard, with that app's id and secret: it lasts 24
// hours and comes without a refresh token.
func (c *TokenClient) ClientCredentials(ctx context.Context, shop, clientID, clientSecret string) (Token, error) {
	return c.post(ctx, shop, url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {clientSecret}})
}

func (c *TokenClient) request(ctx context.Context, shop string, form url.Values) (Token, error) {
	form.Set("client_id", c.App.ClientID)
	form.Set("client_secret", c.App.ClientSecret)
	return c.post(ctx, shop, form)
}

func (c *TokenClient) post(ctx context.Context, shop string, form url.Values) (Token, error) {
	if !ValidShop(shop) {
		return Token{}, ErrBadShop
	}
	ctx, cancel := context.WithTimeout(ctx, tokenEndpointTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.App.ShopURL(shop)+"/admin/oauth/access_token",
		strings.NewReader(form.Encode()))
	if err != nil {
		return Token{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	// The simulator serves every shop from one address; Shopify ignores this.
	req.Header.Set("X-Shopify-Shop-Domain", shop)
	client := c.HTTP
	if client == nil {
		client = &http.Client{Timeout: tokenEndpointTimeout}
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	asked := now()
	resp, err := client.Do(req)
	if err != nil {
		return Token{}, fmt.Errorf("shopify token endpoint: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenResponseBodySize))
	if err != nil {
		return Token{}, fmt.Errorf("shopify token endpoint: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		te := &TokenError{Status: resp.StatusCode}
		var e struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		if json.Unmarshal(body, &e) == nil {
			te.Code, te.Description = e.Error, e.Description
		}
		return Token{}, te
	}
	var t struct {
		AccessToken           string `json:"access_token"`
		Scope                 string `json:"scope"`
		ExpiresIn             int64  `json:"expires_in"`
		RefreshToken          string `json:"refresh_token"`
		RefreshTokenExpiresIn int64  `json:"refresh_token_expires_in"`
	}
	if err := json.Unmarshal(body, &t); err != nil || t.AccessToken == "" {
		return Token{}, fmt.Errorf("shopify token endpoint: answer without an access token")
	}
	tok := Token{AccessToken: t.AccessToken, Scope: t.Scope, RefreshToken: t.RefreshToken}
	// Lifetimes count from when we asked, so network time only shortens them.
	if t.ExpiresIn > 0 {
		tok.ExpiresAt = asked.Add(time.Duration(t.ExpiresIn) * time.Second).UTC()
	}
	if t.RefreshTokenExpiresIn > 0 {
		tok.RefreshExpiresAt = asked.Add(time.Duration(t.RefreshTokenExpiresIn) * time.Second).UTC()
	}
	return tok, nil
}
