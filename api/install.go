package api

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"

	"github.com/ordermill/ordermill/app"
	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/shops"
	"github.com/ordermill/ordermill/shopify"
)

// ShopifyApp is what the install endpoints need: the app's identity, the
// token endpoint, the Admin API and the app's public address.
type ShopifyApp struct {
	App    shopify.App
	Tokens *shopify.TokenClient
	Admin  *shopify.AdminClient
	AppURL string // public base URL; the OAuth redirect and the webhook endpoint hang off it
	// Installed, when set, runs after a shop has installed (created: for the
	// first time), e.g. to backfill its recent orders. Its failure is logged
	// and does not undo the install.
	Installed func(ctx context.Context, shop string, created bool) error
}

// StateTTL is how long an install may take between our redirect to Shopify
// and Shopify's redirect back.
const StateTTL = 10 * time.Minute

// installRoutes registers the Shopify install endpoints (the app's own
// pages, outside /api/v1: Shopify sends the merchant's browser to them).
func (s *server) installRoutes(r *gin.Engine) {
	if s.Shopify == nil {
		return
	}
	g := r.Group("/shopify", s.limitIP())
	g.GET("/install", s.install)
	g.GET("/callback", s.installCallback)
	g.POST("/token-exchange", s.tokenExchange)
}

func (s *server) stateKey(state string) string { return s.Prefix + "oauth-state:" + state }

// install starts OAuth for a shop that opened the app's install link: the
// request must be Shopify's (hmac, shop, timestamp); the merchant goes to
// the shop's grant screen with a single-use state bound to the shop.
func (s *server) install(c *gin.Context) {
	q := c.Request.URL.Query()
	shop, ok := s.verifiedShop(c, q)
	if !ok {
		return
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	state := base64.RawURLEncoding.EncodeToString(b)
	if err := s.Redis.Set(c.Request.Context(), s.stateKey(state), shop, StateTTL).Err(); err != nil {
		s.installFailed(c, http.StatusServiceUnavailable, "The installation could not start", "Please try again in a moment.", err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.Redirect(http.StatusFound, s.Shopify.App.AuthorizeURL(shop, s.Shopify.AppURL+"/shopify/callback", state))
}

// verifiedShop checks a request Shopify signed and returns its shop, or
// answers with the error page.
func (s *server) verifiedShop(c *gin.Context, q url.Values) (string, bool) {
	shop := strings.ToLower(q.Get("shop"))
	if !shopify.ValidShop(shop) || !domain.ValidShopDomain(shop) {
		s.installFailed(c, http.StatusBadRequest, "This is not a Shopify store",
			"The shop must be a store's myshopify.com domain, like example.myshopify.com.", shopify.ErrBadShop)
		return "", false
	}
	switch err := shopify.VerifyQuery(q, s.Shopify.App.ClientSecret, time.Now()); {
	case errors.Is(err, shopify.ErrStaleRequest):
		s.installFailed(c, http.StatusBadRequest, "This link has expired",
			"Open the app again from your Shopify admin to start over.", err)
		return "", false
	case err != nil:
		s.installFailed(c, http.StatusUnauthorized, "This request did not come from Shopify",
			"Its signature does not match. Open the app from your Shopify admin.", err)
		return "", false
	}
	return shop, true
}

// installCallback finishes OAuth: Shopify's signed redirect with the code
// and the state we issued (spent here, once) for this shop. The code
// becomes an expiring offline token; the shop is registered or resumed,
// subscribed to its webhooks, and its owner lands in the app signed in.
// Any check failing changes nothing.
func (s *server) installCallback(c *gin.Context) {
	q := c.Request.URL.Query()
	shop, ok := s.verifiedShop(c, q)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	state := q.Get("state")
	stateShop, err := s.Redis.GetDel(ctx, s.stateKey(state)).Result()
	switch {
	case errors.Is(err, redis.Nil) || state == "":
		s.installFailed(c, http.StatusBadRequest, "This installation link was already used or has expired",
			"Open the app again from your Shopify admin to start over.", errors.New("unknown or spent state"))
		return
	case err != nil:
		s.installFailed(c, http.StatusServiceUnavailable, "The installation could not finish", "Please try again in a moment.", err)
		return
	case stateShop != shop:
		s.installFailed(c, http.StatusBadRequest, "This installation was started for another store",
			"Open the app again from your Shopify admin to start over.", errors.New("state of another shop"))
		return
	}
	code := q.Get("code")
	if code == "" {
		s.installFailed(c, http.StatusBadRequest, "Shopify sent no authorization code",
			"Open the app again from your Shopify admin to start over.", errors.New("no code"))
		return
	}
	token, err := s.Shopify.Tokens.ExchangeCode(ctx, shop, code)
	if err != nil {
		s.installFailed(c, http.StatusBadGateway, "Shopify did not grant access", shopifyReason(err), err)
		return
	}
	owner, err := s.completeInstall(c, shop, shopify.GrantAuthorizationCode, token)
	if err != nil {
		s.installFailed(c, http.StatusBadGateway, "The installation could not finish", shopifyReason(err), err)
		return
	}
	family, refresh, err := s.startSession(ctx, owner.ID)
	var access string
	if err == nil {
		access, err = s.Keys.Issue(owner.ID, owner.Shop, owner.Role, owner.Email, family, time.Now())
	}
	if err != nil {
		s.installFailed(c, http.StatusServiceUnavailable, "Your store is installed", "Sign in to continue.", err)
		return
	}
	// The fragment never reaches a server (nor a Referer): the app reads it,
	// keeps the tokens and removes it from the address bar.
	c.Header("Cache-Control", "no-store")
	c.Redirect(http.StatusFound, "/#"+url.Values{"access_token": {access}, "refresh_token": {refresh}}.Encode())
}

// completeInstall registers or resumes the shop with its new token and its
// owner, then subscribes it to the platform's webhooks. A subscription that
// fails is logged: the periodic check creates it later.
func (s *server) completeInstall(c *gin.Context, shop, grant string, token shopify.Token) (userRow, error) {
	ctx := c.Request.Context()
	info, err := shopify.InstalledShop(ctx, s.Shopify.Admin, shop, token.AccessToken)
	if err != nil {
		return userRow{}, err
	}
	if info.Domain != shop {
		return userRow{}, errors.New("Shopify named another shop than the one installing")
	}
	meta := eventMetaFor(c, "shopify:"+shop, "install")
	created, err := s.app.InstallShop(ctx, shops.Installation{Shop: shop, Name: info.Name, Currency: info.Currency,
		ShopifyID: info.ID, Grant: grant, Token: token, WebhookSecret: s.Shopify.App.ClientSecret}, meta)
	if err != nil {
		return userRow{}, err
	}
	owner, err := s.ensureOwner(ctx, shop, info, meta)
	if err != nil {
		return userRow{}, err
	}
	if made, err := shopify.EnsureSubscriptions(ctx, s.Shopify.Admin, shop, token.AccessToken, s.Shopify.AppURL+"/webhooks/shopify"); err != nil {
		s.Logger.WarnContext(ctx, "webhook subscriptions incomplete; the periodic check retries", "shop", shop, "created", made, "err", err)
	}
	if s.Shopify.Installed != nil {
		if err := s.Shopify.Installed(ctx, shop, created); err != nil {
			s.Logger.ErrorContext(ctx, "after install", "shop", shop, "err", err)
		}
	}
	s.Logger.InfoContext(ctx, "shop installed", "shop", shop, "grant", grant, "first_install", created)
	return owner, nil
}

// ensureOwner returns the shop owner's user, registering it on the first
// install. Its password is random: the owner signs in through Shopify, and
// may set one later.
func (s *server) ensureOwner(ctx context.Context, shop string, info shopify.ShopInfo, meta eventstore.Metadata) (userRow, error) {
	email := strings.ToLower(strings.TrimSpace(info.Email))
	u, err := s.userByEmail(ctx, shop, email)
	if !errors.Is(err, errNotFound) {
		return u, err
	}
	pw := make([]byte, 24)
	_, _ = rand.Read(pw)
	name := info.OwnerName
	if strings.TrimSpace(name) == "" {
		name = info.Name
	}
	_, err = s.app.RegisterUser(ctx, app.Caller{Shop: shop, Meta: meta}, app.NewUser{Email: email, Name: name,
		Role: domain.RoleOwner, Password: base64.RawURLEncoding.EncodeToString(pw), BcryptCost: s.BcryptCost})
	if err != nil && !errors.Is(err, app.ErrEmailTaken) {
		return userRow{}, err
	}
	return s.userByEmail(ctx, shop, email)
}

// tokenExchange installs a shop from the app embedded in its admin: the
// App Bridge session token (Authorization: Bearer) proves the shop, and is
// exchanged for an expiring offline token unless the shop has a live one.
func (s *server) tokenExchange(c *gin.Context) {
	scheme, sessionToken, _ := strings.Cut(c.GetHeader("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		s.unauthorized(c, "missing session token")
		return
	}
	shop, err := shopify.VerifySessionToken(strings.TrimSpace(sessionToken), s.Shopify.App, time.Now())
	if err != nil {
		s.rejectCredentials(c, err.Error())
		return
	}
	ctx := c.Request.Context()
	if st, err := s.Shops.TokenState(ctx, shop); err == nil && st.HasToken {
		c.JSON(http.StatusOK, gin.H{"shop": shop, "installed": true})
		return
	}
	token, err := s.Shopify.Tokens.ExchangeSessionToken(ctx, shop, strings.TrimSpace(sessionToken))
	if err == nil {
		_, err = s.completeInstall(c, shop, shopify.GrantTokenExchange, token)
	}
	if err != nil {
		s.Logger.WarnContext(ctx, "token exchange failed", "shop", shop, "err", err)
		abortProblem(c, http.StatusBadGateway, shopifyReason(err))
		return
	}
	c.JSON(http.StatusOK, gin.H{"shop": shop, "installed": true})
}

// shopifyReason says in plain words why Shopify's side failed.
func shopifyReason(err error) string {
	var te *shopify.TokenError
	if errors.As(err, &te) {
		return te.Error() + ". Open the app again from your Shopify admin to start over."
	}
	return "Shopify could not be reached or gave an unexpected answer. Please try again in a moment."
}

var installErrorPage = template.Must(template.New("install-error").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}} · Ordermill</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#1f2328}h1{font-size:1.4rem}</style>
</head><body><h1>{{.Title}}</h1><p>{{.Advice}}</p><p><small>Reference: {{.RequestID}}</small></p></body></html>
`))

// installFailed answers an install step with an HTML page (the merchant's
// browser is on it, not the app) and logs the cause.
func (s *server) installFailed(c *gin.Context, status int, title, advice string, cause error) {
	s.Logger.WarnContext(c.Request.Context(), "install refused", "path", c.Request.URL.Path, "status", status,
		"shop", c.Query("shop"), "err", cause, "request_id", c.GetString("request_id"))
	c.Header("Cache-Control", "no-store")
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Status(status)
	_ = installErrorPage.Execute(c.Writer, map[string]string{"Title": title, "Advice": advice, "RequestID": c.GetString("request_id")})
	c.Abort()
}
