package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/ordermill/ordermill/domain"
)

// FuzzBindJSON feeds arbitrary bodies and content types to the strict decoder
// behind every JSON endpoint, through each of a few real request types. It
// either fills the value and writes nothing, or answers a 4xx problem; a
// decoded value survives a round trip unchanged, and came from a body that
// is stored as sent (no lone surrogate, no key twice: domain.CheckJSON).
func FuzzBindJSON(f *testing.F) {
	for _, seed := range []string{
		`{"email":"owner@alpha.test","password":"x"}`,
		`{"name":"ci","role":"staff","expires_at":"2030-01-01T00:00:00Z"}`,
		`{"customer_email":"a@b.test","currency":"JPY","lines":[{"sku":"S","quantity":1,"unit_price":100}]}`,
		`{"domain":"alpha.myshopify.com","webhook_secrets":["s"],"access_token":"shpat_x"}`,
		`{"email":1e400}`, `[[[[[[[[]]]]]]]]`, `{"a":1} {"b":2}`, "\xff", `{"email":"\ud800"}`, ``,
		`{"email":"a@b.test","email":"c@d.test","password":"x"}`, `{"email":"\ud83d\ude00","password":"x"}`,
	} {
		f.Add([]byte(seed), "application/json", uint8(0))
	}
	f.Add([]byte(`{}`), "application/json; charset=utf-8", uint8(1))
	f.Add([]byte(`{}`), "text/plain", uint8(2))
	f.Add([]byte(`{}`), "application/json; charset", uint8(3))

	gin.SetMode(gin.ReleaseMode)
	targets := []func() any{
		func() any { return &loginRequest{} },
		func() any { return &createTokenRequest{} },
		func() any { return &createOrderRequest{} },
		func() any { return &addShopRequest{} },
		func() any { return &refundRequest{} },
	}
	f.Fuzz(func(t *testing.T, body []byte, contentType string, which uint8) {
		dst := targets[int(which)%len(targets)]()
		w := httptest.NewRecorder()
		c, _ := gin.CreateTestContext(w)
		c.Request = httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		c.Request.Header.Set("Content-Type", contentType)
		if bindJSON(c, dst) {
			if w.Body.Len() > 0 || c.IsAborted() {
				t.Fatalf("decoded, yet answered %d %s", w.Code, w.Body)
			}
			if err := domain.CheckJSON(body); err != nil {
				t.Fatalf("decoded a body that is not stored as sent: %v", err)
			}
			again := reflect.New(reflect.TypeOf(dst).Elem()).Interface()
			enc, err := json.Marshal(dst)
			if err != nil {
				t.Fatalf("decoded value does not encode: %v", err)
			}
			if err := json.Unmarshal(enc, again); err != nil || !reflect.DeepEqual(dst, again) {
				t.Fatalf("round trip changed %s: %v", enc, err)
			}
			return
		}
		switch w.Code {
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
		default:
			t.Fatalf("refused with status %d: %s", w.Code, w.Body)
		}
		var p Problem
		if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || p.Status != w.Code || p.Detail == "" {
			t.Fatalf("refusal is not a problem document: %s (%v)", w.Body, err)
		}
	})
}
