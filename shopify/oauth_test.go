package shopify_test

import (
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ordermill/ordermill/shopify"
)

func TestValidShop(t *testing.T) {
	for shop, want := range map[string]bool{
		"demo.myshopify.com": true, "my-shop-2.myshopify.com": true, "Demo.myshopify.com": true,
		"-demo.myshopify.com": false, "demo.myshopify.com.evil.com": false, "evil.com": false,
		"demo.myshopify.io": false, "de mo.myshopify.com": false, "demo_shop.myshopify.com": false,
		"a.b.myshopify.com": false, ".myshopify.com": false, "": false, "demo.myshopify.com/": false,
	} {
		if got := shopify.ValidShop(shop); got != want {
			t.Errorf("ValidShop(%q) = %v, want %v", shop, got, want)
		}
	}
}

// The example of Shopify's OAuth guide: secret "hush" and its published hmac.
func TestVerifyQueryShopifyExample(t *testing.T) {
	q := url.Values{
		"code": {"0907a61c0c8d55e99db179b68161bc00"}, "shop": {"some-shop.myshopify.com"},
		"state": {"0.6784241404160823"}, "timestamp": {"1337178173"},
		"hmac": {"700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf"},
	}
	if err := shopify.VerifyQuery(q, "hush", time.Unix(1337178173, 0).Add(30*time.Second)); err != nil {
		t.Fatalf("Shopify's own example: %v", err)
	}
	for name, tc := range map[string]struct {
		change func(url.Values)
		secret string
		at     time.Time
		want   error
	}{
		"other secret":     {func(url.Values) {}, "hash", time.Unix(1337178173, 0), shopify.ErrBadHMAC},
		"altered state":    {func(q url.Values) { q.Set("state", "1") }, "hush", time.Unix(1337178173, 0), shopify.ErrBadHMAC},
		"added parameter":  {func(q url.Values) { q.Set("extra", "1") }, "hush", time.Unix(1337178173, 0), shopify.ErrBadHMAC},
		"no hmac":          {func(q url.Values) { q.Del("hmac") }, "hush", time.Unix(1337178173, 0), shopify.ErrBadHMAC},
		"two hmacs":        {func(q url.Values) { q.Add("hmac", q.Get("hmac")) }, "hush", time.Unix(1337178173, 0), shopify.ErrBadHMAC},
		"foreign shop":     {func(q url.Values) { q.Set("shop", "evil.com") }, "hush", time.Unix(1337178173, 0), shopify.ErrBadShop},
		"two minutes late": {func(url.Values) {}, "hush", time.Unix(1337178173+120, 0), shopify.ErrStaleRequest},
		"from the future":  {func(url.Values) {}, "hush", time.Unix(1337178173-120, 0), shopify.ErrStaleRequest},
	} {
		c := url.Values{}
		for k, v := range q {
			c[k] = append([]string{}, v...)
		}
		tc.change(c)
		if err := shopify.VerifyQuery(c, tc.secret, tc.at); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", name, err, tc.want)
		}
	}
}

// & and % inside values are escaped before signing, so a value cannot
// smuggle in a parameter.
func TestQueryMessageEscapes(t *testing.T) {
	q := url.Values{"b": {"x&a=1"}, "a": {"50%"}, "hmac": {"ignored"}}
	if got, want := shopify.QueryMessage(q), "a=50%25&b=x%26a=1"; got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
}

func TestAuthorizeURL(t *testing.T) {
	app := shopify.App{ClientID: "cid", Scopes: []string{"read_orders", "write_orders"}}
	u, err := url.Parse(app.AuthorizeURL("demo.myshopify.com", "https://app.example.com/shopify/callback", "nonce"))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Scheme != "https" || u.Host != "demo.myshopify.com" || u.Path != "/admin/oauth/authorize" ||
		q.Get("client_id") != "cid" || q.Get("scope") != "read_orders,write_orders" || q.Get("state") != "nonce" ||
		q.Get("redirect_uri") != "https://app.example.com/shopify/callback" || q.Has("grant_options[]") {
		t.Errorf("authorize URL = %s", u)
	}
}

func sessionToken(t *testing.T, secret string, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestVerifySessionToken(t *testing.T) {
	app := shopify.App{ClientID: "cid", ClientSecret: "app-secret"}
	now := time.Unix(1_800_000_000, 0)
	valid := func() jwt.MapClaims {
		return jwt.MapClaims{"iss": "https://demo.myshopify.com/admin", "dest": "https://demo.myshopify.com", "aud": "cid",
			"sub": "42", "exp": now.Unix() + 60, "nbf": now.Unix() - 1, "iat": now.Unix() - 1, "jti": "j", "sid": "s"}
	}
	shop, err := shopify.VerifySessionToken(sessionToken(t, "app-secret", valid()), app, now)
	if err != nil || shop != "demo.myshopify.com" {
		t.Fatalf("valid token: %q, %v", shop, err)
	}
	for name, tc := range map[string]struct {
		change func(jwt.MapClaims)
		secret string
	}{
		"other secret":       {func(jwt.MapClaims) {}, "another-secret"},
		"other app":          {func(c jwt.MapClaims) { c["aud"] = "other" }, "app-secret"},
		"expired":            {func(c jwt.MapClaims) { c["exp"] = now.Unix() - 11 }, "app-secret"},
		"no exp":             {func(c jwt.MapClaims) { delete(c, "exp") }, "app-secret"},
		"not yet valid":      {func(c jwt.MapClaims) { c["nbf"] = now.Unix() + 30 }, "app-secret"},
		"no nbf":             {func(c jwt.MapClaims) { delete(c, "nbf") }, "app-secret"},
		"dest not a shop":    {func(c jwt.MapClaims) { c["dest"] = "https://evil.com" }, "app-secret"},
		"issuer another one": {func(c jwt.MapClaims) { c["iss"] = "https://other.myshopify.com/admin" }, "app-secret"},
	} {
		c := valid()
		tc.change(c)
		if _, err := shopify.VerifySessionToken(sessionToken(t, tc.secret, c), app, now); !errors.Is(err, shopify.ErrBadSessionToken) {
			t.Errorf("%s: err = %v, want ErrBadSessionToken", name, err)
		}
	}
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, valid()).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if _, err := shopify.VerifySessionToken(none, app, now); err == nil {
		t.Error("an unsigned token passed")
	}
}
