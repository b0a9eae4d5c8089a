package config

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestCORSOrigins(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		err  string
	}{
		{"", nil, ""},
		{"*", []string{"*"}, ""},
		{" https://App.Example.com , http://localhost:5173/", []string{"https://app.example.com", "http://localhost:5173"}, ""},
		{"app.example.com", nil, "not an origin"},
		{"https://app.example.com/path", nil, "not an origin"},
		{"ftp://files.example.com", nil, "not an origin"},
	} {
		t.Setenv("ORDERMILL_CORS_ORIGINS", tc.in)
		c, err := Load()
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), "ORDERMILL_CORS_ORIGINS") || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want one naming the variable and %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || !slices.Equal(c.CORSOrigins, tc.want) {
			t.Errorf("%q: %q, %v; want %q", tc.in, c.CORSOrigins, err, tc.want)
		}
	}
}

func TestShopifyAPIVersion(t *testing.T) {
	for in, ok := range map[string]bool{"2026-10": true, "2027-01": true, "2026-05": false, "2026-10 ": false, "latest": false, "": false} {
		t.Setenv("ORDERMILL_SHOPIFY_API_VERSION", in)
		c, err := Load()
		if ok && (err != nil || c.ShopifyAPIVersion != in) {
			t.Errorf("%q: %q, %v", in, c.ShopifyAPIVersion, err)
		}
		if !ok && (err == nil || !strings.Contains(err.Error(), "ORDERMILL_SHOPIFY_API_VERSION")) {
			t.Errorf("%q: error %v, want one naming the variable", in, err)
		}
	}
	t.Setenv("ORDERMILL_SHOPIFY_API_VERSION", "")
	os.Unsetenv("ORDERMILL_SHOPIFY_API_VERSION")
	if c, err := Load(); err != nil || c.ShopifyAPIVersion != "2026-10" {
		t.Errorf("default: %q, %v", c.ShopifyAPIVersion, err)
	}
}

func TestPipelineLinger(t *testing.T) {
	for in, want := range map[string]time.Duration{"100ms": 100 * time.Millisecond, "0": 0, "-1ms": -1, "soon": -1} {
		t.Setenv("ORDERMILL_PIPELINE_LINGER", in)
		c, err := Load()
		if want >= 0 && (err != nil || c.PipelineLinger != want) {
			t.Errorf("%q: %v, %v; want %v", in, c.PipelineLinger, err, want)
		}
		if want < 0 && (err == nil || !strings.Contains(err.Error(), "ORDERMILL_PIPELINE_LINGER")) {
			t.Errorf("%q: error %v, want one naming the variable", in, err)
		}
	}
}

func TestMemoryLimit(t *testing.T) {
	for in, want := range map[string]int64{"512MiB": 512 << 20, "2GiB": 2 << 30, "off": 0, "512": -1, "1.5GiB": -1, "0MiB": -1, "MiB": -1, "1TiB": -1} {
		t.Setenv("ORDERMILL_MEMORY_LIMIT", in)
		c, err := Load()
		if want >= 0 && (err != nil || c.MemoryLimit != want) {
			t.Errorf("%q: %d, %v; want %d", in, c.MemoryLimit, err, want)
		}
		if want < 0 && (err == nil || !strings.Contains(err.Error(), "ORDERMILL_MEMORY_LIMIT")) {
			t.Errorf("%q: error %v, want one naming the variable", in, err)
		}
	}
}
