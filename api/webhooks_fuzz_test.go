package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"unicode"
)

// FuzzWebhookSignature checks Shopify signature verification and the header
// parsing around it: a correct signature always verifies, a changed body,
// another secret or any header that is not the body's MAC never does, and an
// accepted webhook id is always fit for a stream name.
func FuzzWebhookSignature(f *testing.F) {
	f.Add([]byte(`{"id":820982911946154508}`), []byte("shpss_secret"), "", "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043", "orders/create")
	f.Add([]byte{}, []byte{}, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", "id with space", "")
	f.Add([]byte("\xff\xfe"), []byte("k"), "  AAAA  ", strings.Repeat("x", 201), "a\x00b")
	f.Fuzz(func(t *testing.T, body, secret []byte, header, webhookID, extra string) {
		m := hmac.New(sha256.New, secret)
		m.Write(body)
		mac := m.Sum(nil)
		sig := base64.StdEncoding.EncodeToString(mac)
		if !validWebhookHMAC(body, sig, [][]byte{secret}) {
			t.Fatal("a correct signature was refused")
		}
		if !validWebhookHMAC(body, sig, [][]byte{[]byte("other"), secret}) {
			t.Fatal("a correct signature under a rotated secret was refused")
		}
		// HMAC pads short keys with zeros, so only a non-zero byte makes a different key.
		if validWebhookHMAC(body, sig, [][]byte{append(append([]byte{}, secret...), 'x')}) {
			t.Fatal("another secret verified")
		}
		if len(body) > 0 {
			changed := append([]byte{}, body...)
			changed[0] ^= 1
			if validWebhookHMAC(changed, sig, [][]byte{secret}) {
				t.Fatal("a changed body verified")
			}
		}
		if validWebhookHMAC(body, sig, nil) {
			t.Fatal("verified with no secret at all")
		}
		if validWebhookHMAC(body, header, [][]byte{secret}) {
			got, err := base64.StdEncoding.DecodeString(strings.TrimSpace(header))
			if err != nil || !hmac.Equal(got, mac) {
				t.Fatalf("header %q verified without being the body's MAC", header)
			}
		}

		if validHeaderToken(webhookID) {
			if len(webhookID) > 200 || strings.ContainsFunc(webhookID, func(r rune) bool { return !unicode.IsPrint(r) || r == ' ' }) {
				t.Fatalf("webhook id %q accepted", webhookID)
			}
		}
		h := http.Header{}
		h.Add(headerShopifyWebhook, webhookID)
		h.Add(headerShopifyWebhook, extra)
		h.Add("Authorization", extra)
		kept := webhookHeaders(h)
		if _, ok := kept["Authorization"]; ok {
			t.Fatal("webhookHeaders kept a credential")
		}
		if kept[headerShopifyWebhook] != webhookID+", "+extra {
			t.Fatalf("webhookHeaders lost a value: %q", kept[headerShopifyWebhook])
		}
	})
}
