package api

import (
	"bytes"
	"testing"
)

func TestCachedOrderEntry(t *testing.T) {
	want := cachedOrder{Shop: "demo.myshopify.com", Version: 12, Body: []byte(`{"id":"x","note":"a\nb"}`)}
	got, err := decodeCachedOrder(want.encode())
	if err != nil || got.Shop != want.Shop || got.Version != want.Version || !bytes.Equal(got.Body, want.Body) {
		t.Fatalf("round trip: %+v %v, want %+v", got, err, want)
	}
	for name, entry := range map[string]string{
		"json envelope": `{"shop":"demo.myshopify.com","version":12,"body":{}}`,
		"no version":    "demo.myshopify.com\n{}",
		"bad version":   "demo.myshopify.com\nx\n{}",
		"empty":         "",
	} {
		if _, err := decodeCachedOrder([]byte(entry)); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}
