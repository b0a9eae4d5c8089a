package config

import (
	"slices"
	"strings"
	"testing"
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
