package api_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/ordermill/ordermill/api"
	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/internal/config"
	"github.com/ordermill/ordermill/internal/testenv/apitest"
)

const (
	shopA    = "alpha.myshopify.com"
	shopB    = "beta.myshopify.com"
	password = "correct horse battery"
)

type tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
}

func refresh(t *testing.T, env *apitest.Env, token string) *http.Response {
	t.Helper()
	return env.Do(t, http.MethodPost, "/auth/refresh", "", map[string]string{"refresh_token": token})
}

func status(t *testing.T, resp *http.Response, want int) {
	t.Helper()
	if resp.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d: %s", resp.Request.Method, resp.Request.URL.Path,
			resp.StatusCode, want, apitest.ReadBody(t, resp))
	}
	resp.Body.Close()
}

func TestLogin(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	env.CreateUser(t, shopA, "Owner@Alpha.test", domain.RoleOwner, password)

	t.Run("ok", func(t *testing.T) {
		// The shop and the email are matched case-insensitively.
		resp := env.Do(t, http.MethodPost, "/auth/login", "", map[string]string{"shop": "Alpha.myshopify.com", "email": "owner@ALPHA.test", "password": password})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", resp.StatusCode, apitest.ReadBody(t, resp))
		}
		var tok tokens
		apitest.Decode(t, resp, &tok)
		if tok.TokenType != "Bearer" || tok.ExpiresIn != 1800 || tok.AccessToken == "" || tok.RefreshToken == "" {
			t.Fatalf("token response %+v", tok)
		}
		profile := env.Do(t, http.MethodGet, "/api/v1/profile", tok.AccessToken, nil)
		var p struct {
			Kind, Shop, Email, Role string
			Permissions             []string
		}
		apitest.Decode(t, profile, &p)
		if p.Kind != "user" || p.Shop != shopA || p.Email != "owner@alpha.test" || p.Role != "owner" || len(p.Permissions) == 0 {
			t.Fatalf("profile %+v", p)
		}
	})
	for name, body := range map[string]map[string]string{
		"wrong password": {"shop": shopA, "email": "owner@alpha.test", "password": "wrong password!"},
		"unknown user":   {"shop": shopA, "email": "nobody@alpha.test", "password": password},
		"other shop":     {"shop": shopB, "email": "owner@alpha.test", "password": password},
	} {
		t.Run(name, func(t *testing.T) {
			resp := env.Do(t, http.MethodPost, "/auth/login", "", body)
			if resp.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			p := apitest.Problem(t, resp, http.StatusUnauthorized)
			if strings.Contains(p.Detail, "password") || strings.Contains(p.Detail, "unknown") {
				t.Errorf("detail %q tells which part was wrong", p.Detail)
			}
		})
	}
	t.Run("missing fields", func(t *testing.T) {
		p := apitest.Problem(t, env.Do(t, http.MethodPost, "/auth/login", "", map[string]string{}), http.StatusUnprocessableEntity)
		if len(p.Errors) != 3 || p.Errors[0].Field != "shop" || p.Errors[1].Field != "email" || p.Errors[2].Field != "password" {
			t.Fatalf("errors %+v", p.Errors)
		}
		p = apitest.Problem(t, env.Do(t, http.MethodPost, "/auth/login", "", map[string]string{"shop": "alpha", "email": "owner@alpha.test",
			"password": password}), http.StatusUnprocessableEntity)
		if len(p.Errors) != 1 || p.Errors[0].Field != "shop" {
			t.Fatalf("errors %+v", p.Errors)
		}
	})
}

func TestRefreshRotationAndReuse(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	env.CreateUser(t, shopA, "owner@alpha.test", domain.RoleOwner, password)
	access, r1 := env.Login(t, "owner@alpha.test", password)

	var second, third tokens
	resp := refresh(t, env, r1)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("refresh: %d %s", resp.StatusCode, apitest.ReadBody(t, resp))
	}
	apitest.Decode(t, resp, &second)
	if second.RefreshToken == r1 || second.AccessToken == "" {
		t.Fatalf("refresh did not rotate: %+v", second)
	}
	status(t, env.Do(t, http.MethodGet, "/api/v1/profile", second.AccessToken, nil), http.StatusOK)
	apitest.Decode(t, refresh(t, env, second.RefreshToken), &third)

	// r1 was spent: presenting it again revokes the family, including the
	// newest refresh token and the access tokens issued in it.
	apitest.Problem(t, refresh(t, env, r1), http.StatusUnauthorized)
	apitest.Problem(t, refresh(t, env, third.RefreshToken), http.StatusUnauthorized)
	for _, a := range []string{access, second.AccessToken, third.AccessToken} {
		apitest.Problem(t, env.Do(t, http.MethodGet, "/api/v1/profile", a, nil), http.StatusUnauthorized)
	}
	// Another sign-in of the same user is a separate family and unaffected.
	other, otherRefresh := env.Login(t, "owner@alpha.test", password)
	status(t, env.Do(t, http.MethodGet, "/api/v1/profile", other, nil), http.StatusOK)
	status(t, refresh(t, env, otherRefresh), http.StatusOK)

	apitest.Problem(t, refresh(t, env, "not-a-token"), http.StatusUnauthorized)
	apitest.Problem(t, refresh(t, env, uuid.NewString()+".forged"), http.StatusUnauthorized)
}

func TestLogout(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	env.CreateUser(t, shopA, "owner@alpha.test", domain.RoleOwner, password)
	access, r := env.Login(t, "owner@alpha.test", password)
	status(t, env.Do(t, http.MethodPost, "/auth/logout", "", map[string]string{"refresh_token": r}), http.StatusNoContent)
	apitest.Problem(t, refresh(t, env, r), http.StatusUnauthorized)
	apitest.Problem(t, env.Do(t, http.MethodGet, "/api/v1/profile", access, nil), http.StatusUnauthorized)
	// Logging out twice, or with garbage, reveals nothing.
	status(t, env.Do(t, http.MethodPost, "/auth/logout", "", map[string]string{"refresh_token": r}), http.StatusNoContent)
}

func TestRejectedAccessTokens(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	env.CreateUser(t, shopA, "owner@alpha.test", domain.RoleOwner, password)
	access, _ := env.Login(t, "owner@alpha.test", password)
	keys := env.Keys(t)

	// Start from the claims of a real token, so each case changes one thing.
	var base jwt.MapClaims
	if _, _, err := jwt.NewParser().ParseUnverified(access, &base); err != nil {
		t.Fatal(err)
	}
	claims := func(change func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{}
		for k, v := range base {
			c[k] = v
		}
		change(c)
		return c
	}
	rs256 := func(c jwt.MapClaims, kid string) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
		tok.Header["kid"] = kid
		s, err := tok.SignedString(keys.PrivateKey())
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	now := time.Now()
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: must(x509.MarshalPKIXPublicKey(&keys.PrivateKey().PublicKey))})
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, claims(func(jwt.MapClaims) {}))
	hs.Header["kid"] = keys.KeyID()
	hs256, err := hs.SignedString(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	none := jwt.NewWithClaims(jwt.SigningMethodNone, claims(func(jwt.MapClaims) {}))
	none.Header["kid"] = keys.KeyID()
	algNone, err := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(access, ".")
	forgedPayload := rs256(claims(func(c jwt.MapClaims) { c["role"] = "owner"; c["shop"] = shopB }), keys.KeyID())
	tampered := parts[0] + "." + strings.Split(forgedPayload, ".")[1] + "." + parts[2]

	// The control proves the forging itself is sound: only the change is refused.
	status(t, env.Do(t, http.MethodGet, "/api/v1/profile", rs256(claims(func(jwt.MapClaims) {}), keys.KeyID()), nil), http.StatusOK)

	cases := map[string]string{
		"expired":               rs256(claims(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Minute).Unix() }), keys.KeyID()),
		"no expiry":             rs256(claims(func(c jwt.MapClaims) { delete(c, "exp") }), keys.KeyID()),
		"not yet valid":         rs256(claims(func(c jwt.MapClaims) { c["nbf"] = now.Add(10 * time.Minute).Unix() }), keys.KeyID()),
		"issued in future":      rs256(claims(func(c jwt.MapClaims) { c["iat"] = now.Add(10 * time.Minute).Unix() }), keys.KeyID()),
		"wrong issuer":          rs256(claims(func(c jwt.MapClaims) { c["iss"] = "someone-else" }), keys.KeyID()),
		"wrong audience":        rs256(claims(func(c jwt.MapClaims) { c["aud"] = []string{"other-api"} }), keys.KeyID()),
		"unknown kid":           rs256(claims(func(jwt.MapClaims) {}), "other-key"),
		"ended session":         rs256(claims(func(c jwt.MapClaims) { c["sid"] = uuid.NewString() }), keys.KeyID()),
		"tampered payload":      tampered,
		"hs256 with public key": hs256,
		"alg none":              algNone,
		"garbage":               "a.b.c",
		"unknown api token":     "omt_" + strings.Repeat("x", 43),
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			apitest.Problem(t, env.Do(t, http.MethodGet, "/api/v1/profile", tok, nil), http.StatusUnauthorized)
		})
	}
	t.Run("no credentials", func(t *testing.T) {
		apitest.Problem(t, env.Do(t, http.MethodGet, "/api/v1/profile", "", nil), http.StatusUnauthorized)
		apitest.Problem(t, env.Do(t, http.MethodGet, "/api/v1/profile", "", nil, "Authorization", "Basic b3duZXI6eA=="), http.StatusUnauthorized)
	})
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestJWKS(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	var set struct {
		Keys []struct{ Kty, Alg, Kid, N, E string }
	}
	resp := env.Do(t, http.MethodGet, "/.well-known/jwks.json", "", nil)
	apitest.Decode(t, resp, &set)
	if len(set.Keys) != 1 || set.Keys[0].Kid != env.Keys(t).KeyID() || set.Keys[0].Alg != "RS256" || set.Keys[0].N == "" {
		t.Fatalf("jwks %+v", set)
	}
}

// TestRoles runs each role against the identity endpoints it may and may not use.
func TestRoles(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	target := env.CreateUser(t, shopA, "target@alpha.test", domain.RoleStaff, password)
	newUser := func() map[string]string {
		return map[string]string{"email": uuid.NewString()[:8] + "@alpha.test", "name": "New", "role": "staff", "password": password}
	}
	calls := []struct {
		name, method, path string
		body               func() map[string]string
		owner              int // staff and auditor get 403 unless allowed
		everyone           bool
	}{
		{"profile", http.MethodGet, "/api/v1/profile", nil, http.StatusOK, true},
		{"list users", http.MethodGet, "/api/v1/users", nil, http.StatusOK, false},
		{"create user", http.MethodPost, "/api/v1/users", newUser, http.StatusCreated, false},
		{"change role", http.MethodPatch, "/api/v1/users/" + target.String(), func() map[string]string { return map[string]string{"role": "auditor"} }, http.StatusOK, false},
		{"list tokens", http.MethodGet, "/api/v1/tokens", nil, http.StatusOK, false},
		{"create token", http.MethodPost, "/api/v1/tokens", func() map[string]string { return map[string]string{"name": "ci", "role": "staff"} }, http.StatusCreated, false},
		{"deactivate user", http.MethodDelete, "/api/v1/users/" + target.String(), nil, http.StatusNoContent, false},
	}
	for _, role := range []domain.Role{domain.RoleStaff, domain.RoleAuditor, domain.RoleOwner} {
		token := env.UserToken(t, shopA, role)
		for _, call := range calls {
			t.Run(string(role)+"/"+call.name, func(t *testing.T) {
				var body any
				if call.body != nil {
					body = call.body()
				}
				want := http.StatusForbidden
				if role == domain.RoleOwner || call.everyone {
					want = call.owner
				}
				resp := env.Do(t, call.method, call.path, token, body)
				if want == http.StatusForbidden {
					apitest.Problem(t, resp, want)
					return
				}
				status(t, resp, want)
			})
		}
	}
}

func TestCrossShopAndSelf(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	ownerA := env.CreateUser(t, shopA, "owner@alpha.test", domain.RoleOwner, password)
	staffA := env.CreateUser(t, shopA, "staff@alpha.test", domain.RoleStaff, password)
	tokenA, _ := env.Login(t, "owner@alpha.test", password)
	tokenB := env.UserToken(t, shopB, domain.RoleOwner)

	var created struct{ ID uuid.UUID }
	apitest.Decode(t, env.Do(t, http.MethodPost, "/api/v1/tokens", tokenA, map[string]string{"name": "a", "role": "staff"}), &created)

	for _, call := range []struct{ method, path string }{
		{http.MethodPatch, "/api/v1/users/" + staffA.String()},
		{http.MethodDelete, "/api/v1/users/" + staffA.String()},
		{http.MethodDelete, "/api/v1/tokens/" + created.ID.String()},
		{http.MethodDelete, "/api/v1/users/" + uuid.NewString()},
		{http.MethodDelete, "/api/v1/users/not-a-uuid"},
	} {
		var body any
		if call.method == http.MethodPatch {
			body = map[string]string{"role": "owner"}
		}
		apitest.Problem(t, env.Do(t, call.method, call.path, tokenB, body), http.StatusNotFound)
	}
	var list struct{ Items []struct{ Email string } }
	apitest.Decode(t, env.Do(t, http.MethodGet, "/api/v1/users", tokenB, nil), &list)
	for _, u := range list.Items {
		if strings.HasSuffix(u.Email, "@alpha.test") {
			t.Fatalf("shop B lists shop A's user %s", u.Email)
		}
	}
	// An owner cannot lock themselves out.
	apitest.Problem(t, env.Do(t, http.MethodDelete, "/api/v1/users/"+ownerA.String(), tokenA, nil), http.StatusConflict)
}

func TestRoleChangeAndDeactivationEndSessions(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	env.CreateUser(t, shopA, "owner@alpha.test", domain.RoleOwner, password)
	staff := env.CreateUser(t, shopA, "staff@alpha.test", domain.RoleStaff, password)
	owner, _ := env.Login(t, "owner@alpha.test", password)
	staffAccess, _ := env.Login(t, "staff@alpha.test", password)

	var changed struct{ Role string }
	apitest.Decode(t, env.Do(t, http.MethodPatch, "/api/v1/users/"+staff.String(), owner, map[string]string{"role": "auditor"}), &changed)
	if changed.Role != "auditor" {
		t.Fatalf("role %q after change", changed.Role)
	}
	apitest.Problem(t, env.Do(t, http.MethodGet, "/api/v1/profile", staffAccess, nil), http.StatusUnauthorized)
	auditorAccess, _ := env.Login(t, "staff@alpha.test", password)
	var p struct{ Role string }
	apitest.Decode(t, env.Do(t, http.MethodGet, "/api/v1/profile", auditorAccess, nil), &p)
	if p.Role != "auditor" {
		t.Fatalf("profile role %q, want auditor", p.Role)
	}

	status(t, env.Do(t, http.MethodDelete, "/api/v1/users/"+staff.String(), owner, nil), http.StatusNoContent)
	apitest.Problem(t, env.Do(t, http.MethodGet, "/api/v1/profile", auditorAccess, nil), http.StatusUnauthorized)
	apitest.Problem(t, env.Do(t, http.MethodPost, "/auth/login", "", map[string]string{"shop": shopA, "email": "staff@alpha.test", "password": password}), http.StatusUnauthorized)
	apitest.Problem(t, env.Do(t, http.MethodDelete, "/api/v1/users/"+staff.String(), owner, nil), http.StatusConflict)
}

func TestAPITokens(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	owner := env.UserToken(t, shopA, domain.RoleOwner)

	var created struct {
		ID     uuid.UUID
		Token  string
		Prefix string
		Role   string
	}
	resp := env.Do(t, http.MethodPost, "/api/v1/tokens", owner, map[string]any{"name": "warehouse", "role": "staff"})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create token: %d %s", resp.StatusCode, apitest.ReadBody(t, resp))
	}
	apitest.Decode(t, resp, &created)
	if !strings.HasPrefix(created.Token, "omt_") || !strings.HasPrefix(created.Token, created.Prefix) || created.Role != "staff" {
		t.Fatalf("created %+v", created)
	}

	// Listing never shows the secret.
	list := apitest.ReadBody(t, env.Do(t, http.MethodGet, "/api/v1/tokens", owner, nil))
	if strings.Contains(list, created.Token) || !strings.Contains(list, created.ID.String()) || strings.Contains(list, `"token"`) {
		t.Fatalf("token list %s", list)
	}
	var p struct{ Kind, Role, Shop string }
	apitest.Decode(t, env.Do(t, http.MethodGet, "/api/v1/profile", created.Token, nil), &p)
	if p.Kind != "token" || p.Role != "staff" || p.Shop != shopA {
		t.Fatalf("token profile %+v", p)
	}
	apitest.Problem(t, env.Do(t, http.MethodGet, "/api/v1/users", created.Token, nil), http.StatusForbidden)

	status(t, env.Do(t, http.MethodDelete, "/api/v1/tokens/"+created.ID.String(), owner, nil), http.StatusNoContent)
	apitest.Problem(t, env.Do(t, http.MethodGet, "/api/v1/profile", created.Token, nil), http.StatusUnauthorized)
	apitest.Problem(t, env.Do(t, http.MethodDelete, "/api/v1/tokens/"+created.ID.String(), owner, nil), http.StatusConflict)

	t.Run("expired", func(t *testing.T) {
		var tok struct {
			ID    uuid.UUID
			Token string
		}
		apitest.Decode(t, env.Do(t, http.MethodPost, "/api/v1/tokens", owner,
			map[string]any{"name": "short", "role": "auditor", "expires_at": time.Now().Add(time.Hour)}), &tok)
		status(t, env.Do(t, http.MethodGet, "/api/v1/profile", tok.Token, nil), http.StatusOK)
		// Let the hour pass: move the expiry into the past in the inline table.
		if _, err := env.Platform.Pool.Exec(context.Background(),
			`UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = $1`, tok.ID); err != nil {
			t.Fatal(err)
		}
		apitest.Problem(t, env.Do(t, http.MethodGet, "/api/v1/profile", tok.Token, nil), http.StatusUnauthorized)
	})
	t.Run("expiry in the past is invalid", func(t *testing.T) {
		p := apitest.Problem(t, env.Do(t, http.MethodPost, "/api/v1/tokens", owner,
			map[string]any{"name": "x", "role": "staff", "expires_at": time.Now().Add(-time.Hour)}), http.StatusUnprocessableEntity)
		if len(p.Errors) != 1 || p.Errors[0].Field != "expires_at" {
			t.Fatalf("errors %+v", p.Errors)
		}
	})
}

func TestRateLimits(t *testing.T) {
	t.Parallel()
	env := apitest.New(t, func(c *config.Config) {
		c.RateLimitUser = config.Rate{N: 3, Per: time.Minute}
		c.RateLimitLogin = config.Rate{N: 2, Per: time.Minute}
	})
	env.CreateUser(t, shopA, "owner@alpha.test", domain.RoleOwner, password)
	access, _ := env.Login(t, "owner@alpha.test", password) // login budget: 1 of 2 spent
	for range 3 {
		status(t, env.Do(t, http.MethodGet, "/api/v1/profile", access, nil), http.StatusOK)
	}
	resp := env.Do(t, http.MethodGet, "/api/v1/profile", access, nil)
	retry, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	apitest.Problem(t, resp, http.StatusTooManyRequests)
	if err != nil || retry < 1 || retry > 60 {
		t.Fatalf("Retry-After %q", resp.Header.Get("Retry-After"))
	}

	// Login: the second attempt is within budget (even with a wrong password),
	// the third is throttled before the password is checked.
	bad := map[string]string{"shop": shopA, "email": "owner@alpha.test", "password": "guess-guess"}
	apitest.Problem(t, env.Do(t, http.MethodPost, "/auth/login", "", bad), http.StatusUnauthorized)
	resp = env.Do(t, http.MethodPost, "/auth/login", "", map[string]string{"shop": shopA, "email": "owner@alpha.test", "password": password})
	if resp.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	apitest.Problem(t, resp, http.StatusTooManyRequests)
}

func TestStrictJSONAndValidation(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	owner := env.UserToken(t, shopA, domain.RoleOwner)
	post := func(body any, headers ...string) *http.Response {
		return env.Do(t, http.MethodPost, "/api/v1/users", owner, body, headers...)
	}
	field := func(t *testing.T, p []api.FieldError, want string) {
		t.Helper()
		for _, f := range p {
			if f.Field == want {
				return
			}
		}
		t.Fatalf("errors %+v do not name %q", p, want)
	}

	t.Run("unknown field", func(t *testing.T) {
		p := apitest.Problem(t, post(`{"email":"a@alpha.test","admin":true}`), http.StatusBadRequest)
		field(t, p.Errors, "admin")
	})
	t.Run("wrong type", func(t *testing.T) {
		p := apitest.Problem(t, post(`{"email":42}`), http.StatusBadRequest)
		field(t, p.Errors, "email")
	})
	t.Run("trailing data", func(t *testing.T) {
		apitest.Problem(t, post(`{"email":"a@alpha.test"} {"x":1}`), http.StatusBadRequest)
	})
	t.Run("malformed", func(t *testing.T) {
		apitest.Problem(t, post(`{"email":`), http.StatusBadRequest)
	})
	t.Run("not json", func(t *testing.T) {
		apitest.Problem(t, post(`email=a`, "Content-Type", "application/x-www-form-urlencoded"), http.StatusUnsupportedMediaType)
	})
	t.Run("oversized", func(t *testing.T) {
		big := `{"name":"` + strings.Repeat("x", 1<<20) + `"}`
		apitest.Problem(t, post(big), http.StatusRequestEntityTooLarge)
	})
	t.Run("validation", func(t *testing.T) {
		p := apitest.Problem(t, post(map[string]string{"email": "not-an-email", "name": "", "role": "boss", "password": "longenough"}),
			http.StatusUnprocessableEntity)
		fe := p.Errors
		for _, f := range []string{"email", "name", "role"} {
			field(t, fe, f)
		}
		// The password policy: every rule broken is named.
		for pw, want := range map[string][]string{
			"short":                 {"at least 12 characters"},
			"LeaveMeAlone":          {"10,000 most common"},
			"sunny-Alice.Smith-day": {"email address's name"},
			"alice":                 {"at least 12 characters", "email address's name"},
		} {
			p = apitest.Problem(t, post(map[string]string{"email": "alice.smith@alpha.test", "name": "A", "role": "staff", "password": pw}),
				http.StatusUnprocessableEntity)
			if len(p.Errors) != len(want) {
				t.Fatalf("password %q: errors %+v, want %q", pw, p.Errors, want)
			}
			for i, w := range want {
				if p.Errors[i].Field != "password" || !strings.Contains(p.Errors[i].Message, w) {
					t.Errorf("password %q: error %+v, want password: …%s…", pw, p.Errors[i], w)
				}
			}
		}
	})
	t.Run("duplicate email", func(t *testing.T) {
		body := map[string]string{"email": "dup@alpha.test", "name": "A", "role": "staff", "password": password}
		status(t, post(body), http.StatusCreated)
		body["email"] = "DUP@alpha.test"
		field(t, apitest.Problem(t, post(body), http.StatusUnprocessableEntity).Errors, "email")
	})
}

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	for _, path := range []string{"/healthz", "/api/v1/profile", "/no/such/path"} {
		resp := env.Do(t, http.MethodGet, path, "", nil, "Origin", "https://evil.example")
		for name, want := range map[string]string{
			"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
		} {
			if got := resp.Header.Get(name); got != want {
				t.Errorf("%s: %s = %q, want %q", path, name, got, want)
			}
		}
		if !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
			t.Errorf("%s: CSP %q", path, resp.Header.Get("Content-Security-Policy"))
		}
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("%s: CORS open to %q", path, got)
		}
		resp.Body.Close()
	}
}
