package api_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/internal/testenv/apitest"
)

// TestSecretsNeverLeak walks through everything that handles a secret —
// sign-in, refresh, logout, API tokens, shop credentials and their rotation,
// signed webhooks, failed attempts — and then looks for every secret in the
// platform's logs (all levels) and in every response except the one that
// issued it.
func TestSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	const shop = "secrets.myshopify.com"
	env := apitest.New(t)

	const (
		ownerPassword = "quiet-harbour-5f2c91"
		wrongPassword = "guessed-password-77ad03"
		webhookSecret = "whsec-first-2b7e151628aed2a6"
		rotatedSecret = "whsec-rotated-abf7158809cf4f3c"
		accessToken   = "shpat_b7e15162-8aed-2a6a-bf71-58809cf4f3c7"
		rotatedAccess = "shpat_3c762e71-6f2b-4b9a-9a1c-6f1d0e4c2a55"
	)
	env.CreateUser(t, shop, "owner@secrets.test", domain.RoleOwner, ownerPassword)
	var responses []string
	do := func(method, path, token string, body any, headers ...string) *http.Response {
		resp := env.Do(t, method, path, token, body, headers...)
		var h strings.Builder
		_ = resp.Header.Write(&h)
		responses = append(responses, method+" "+path+"\n"+h.String()+apitest.ReadBody(t, resp))
		return resp
	}
	// Issuing responses are read apart: they must carry their secret, once.
	var issued tokens
	apitest.Decode(t, env.Do(t, "POST", "/auth/login", "", map[string]string{"shop": shop, "email": "owner@secrets.test", "password": ownerPassword}), &issued)
	var refreshed tokens
	resp := refresh(t, env, issued.RefreshToken)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("refresh: %d %s", resp.StatusCode, apitest.ReadBody(t, resp))
	}
	apitest.Decode(t, resp, &refreshed)
	var apiToken created
	apitest.Decode(t, env.Do(t, "POST", "/api/v1/tokens", refreshed.AccessToken, map[string]any{"name": "erp", "role": "staff"}), &apiToken)
	if issued.RefreshToken == "" || refreshed.AccessToken == "" || apiToken.Token == "" {
		t.Fatalf("setup: %+v %+v %+v", issued, refreshed, apiToken)
	}
	owner := refreshed.AccessToken

	status(t, do("POST", "/api/v1/shops", owner, map[string]any{"domain": shop, "name": "Secrets", "currency": "JPY",
		"webhook_secrets": []string{webhookSecret}, "access_token": accessToken}), http.StatusCreated)
	status(t, do("PATCH", "/api/v1/shops/"+shop, owner, map[string]any{"webhook_secrets": []string{rotatedSecret, webhookSecret},
		"access_token": rotatedAccess}), http.StatusOK)
	status(t, do("GET", "/api/v1/shops", owner, nil), http.StatusOK)
	status(t, do("GET", "/api/v1/tokens", owner, nil), http.StatusOK)
	status(t, do("GET", "/api/v1/profile", apiToken.Token, nil), http.StatusOK)
	status(t, do("POST", "/auth/login", "", map[string]string{"shop": shop, "email": "owner@secrets.test", "password": wrongPassword}), http.StatusUnauthorized)
	status(t, do("POST", "/auth/login", "", map[string]string{"shop": shop, "email": "nobody@secrets.test", "password": ownerPassword}), http.StatusUnauthorized)
	body := []byte(orderBody)
	h := []string{"X-Shopify-Shop-Domain", shop, "X-Shopify-Topic", "orders/create", "X-Shopify-Webhook-Id", "w-secret"}
	status(t, do("POST", "/webhooks/shopify", "", body, append(h, "X-Shopify-Hmac-Sha256", sign(body, rotatedSecret))...), http.StatusOK)
	status(t, do("POST", "/webhooks/shopify", "", body, append(h, "X-Shopify-Hmac-Sha256", sign(body, "not-the-secret"))...), http.StatusUnauthorized)
	row := waitWebhookRow(t, env, owner, "w-secret")
	status(t, do("GET", "/api/v1/webhooks/"+row, owner, nil), http.StatusOK)
	status(t, do("GET", "/api/v1/audit/webhooks/"+shop+"/w-secret", owner, nil), http.StatusOK)
	status(t, do("GET", "/api/v1/audit/export", owner, nil), http.StatusOK)
	var login tokens
	apitest.Decode(t, env.Do(t, "POST", "/auth/login", "", map[string]string{"shop": shop, "email": "owner@secrets.test", "password": ownerPassword}), &login)
	status(t, do("POST", "/auth/logout", "", map[string]string{"refresh_token": login.RefreshToken}), http.StatusNoContent)
	status(t, do("GET", "/api/v1/profile", login.AccessToken, nil), http.StatusUnauthorized)
	// Reusing a spent refresh token ends its whole family.
	status(t, do("POST", "/auth/refresh", "", map[string]string{"refresh_token": issued.RefreshToken}), http.StatusUnauthorized)
	status(t, do("GET", "/api/v1/profile", owner, nil), http.StatusUnauthorized)

	masterKey := env.Config.MasterKey
	if masterKey == "" {
		b, err := os.ReadFile(filepath.Join(env.Config.DataDir, "master.key"))
		if err != nil {
			t.Fatal(err)
		}
		masterKey = strings.TrimSpace(string(b))
	}
	secrets := map[string]string{
		"password": ownerPassword, "guessed password": wrongPassword, "webhook secret": webhookSecret,
		"rotated webhook secret": rotatedSecret, "Shopify access token": accessToken, "rotated access token": rotatedAccess,
		"access token": issued.AccessToken, "refreshed access token": refreshed.AccessToken, "refresh token": issued.RefreshToken, "rotated refresh token": refreshed.RefreshToken,
		"logged-out refresh token": login.RefreshToken, "API token": apiToken.Token, "master key": masterKey,
	}
	// Responses may echo what the caller sent only where it issued it; the
	// access tokens travel back in no body or header either.
	for _, r := range responses {
		for name, s := range secrets {
			if strings.Contains(r, s) {
				t.Errorf("a response carries the %s: %.300s", name, r)
			}
		}
	}
	// The log must have seen this work (so the check below is not vacuous)...
	logs := env.Logs()
	for _, want := range []string{"authentication failed", "http request"} {
		if !strings.Contains(logs, want) {
			t.Fatalf("captured logs lack %q: the capture is not working\n%.2000s", want, logs)
		}
	}
	// ...and never a secret, in any part of a line.
	for name, s := range secrets {
		if strings.Contains(logs, s) {
			i := strings.Index(logs, s)
			t.Errorf("the logs contain the %s: …%s…", name, logs[max(0, i-200):min(len(logs), i+len(s)+50)])
		}
	}
}
