package config

import (
	"strings"
	"testing"
	"time"
)

// production is a configuration fit for production.
func production() Config {
	on := Rate{N: 10, Per: time.Second}
	return Config{
		Env: EnvProduction, JWTKeyFile: "/etc/ordermill/jwt.pem", MasterKey: "c2VjcmV0",
		ShopifyAPIURL: "", SESEndpoint: "https://email.eu-west-1.amazonaws.com",
		RateLimitUser: on, RateLimitIP: on, RateLimitLogin: on,
		AuditInterval: time.Hour, CheckpointKeyFile: "/etc/ordermill/checkpoint.pem",
		CheckpointExport: "/var/lib/ordermill-audit/checkpoints.jsonl", ShopifyClientSecret: "shpss_the-apps-own",
		AppURL: "https://app.example.com",
	}
}

func TestProductionProblems(t *testing.T) {
	if p := production().ProductionProblems(); len(p) != 0 {
		t.Fatalf("a production configuration has problems: %q", p)
	}
	cases := []struct {
		name   string
		change func(*Config)
		want   string // the problem names this
	}{
		{"generated jwt key", func(c *Config) { c.JWTKeyFile = "" }, "ORDERMILL_JWT_KEY_FILE is empty"},
		{"generated master key", func(c *Config) { c.MasterKey = "" }, "ORDERMILL_MASTER_KEY is empty"},
		{"simulator by name", func(c *Config) { c.ShopifyAPIURL = "https://simulator:8090" }, "ORDERMILL_SHOPIFY_API_URL=https://simulator:8090 points at the simulator"},
		{"simulator on loopback", func(c *Config) { c.SESEndpoint = "http://127.0.0.1:8090" }, "ORDERMILL_SES_ENDPOINT=http://127.0.0.1:8090 points at this machine"},
		{"localhost", func(c *Config) { c.ShopifyAPIURL = "https://localhost" }, "points at this machine"},
		{"ipv6 loopback", func(c *Config) { c.SESEndpoint = "https://[::1]:8443" }, "points at this machine"},
		{"plain http", func(c *Config) { c.SESEndpoint = "http://email.eu-west-1.amazonaws.com" }, "is not https"},
		{"not a url", func(c *Config) { c.ShopifyAPIURL = "simulator" }, "is not an absolute URL"},
		{"user rate limit off", func(c *Config) { c.RateLimitUser = Rate{} }, "ORDERMILL_RATE_LIMIT_USER is off"},
		{"ip rate limit off", func(c *Config) { c.RateLimitIP = Rate{} }, "ORDERMILL_RATE_LIMIT_IP is off"},
		{"login rate limit off", func(c *Config) { c.RateLimitLogin = Rate{} }, "ORDERMILL_RATE_LIMIT_LOGIN is off"},
		{"no scheduled verify", func(c *Config) { c.AuditInterval = 0 }, "ORDERMILL_AUDIT_INTERVAL is off"},
		{"no checkpoint key", func(c *Config) { c.CheckpointKeyFile = "" }, "ORDERMILL_CHECKPOINT_KEY_FILE is empty"},
		{"no export", func(c *Config) { c.CheckpointExport = "" }, "ORDERMILL_CHECKPOINT_EXPORT is empty"},
		{"app on this machine", func(c *Config) { c.AppURL = "https://127.0.0.1:8080" }, "ORDERMILL_APP_URL=https://127.0.0.1:8080 is not a public https address"},
		{"app over http", func(c *Config) { c.AppURL = "http://app.example.com" }, "ORDERMILL_APP_URL=http://app.example.com is not a public https address"},
		{"demo app", func(c *Config) { c.ShopifyClientSecret = DemoShopifyClientSecret }, "ORDERMILL_SHOPIFY_CLIENT_SECRET is the demo app's"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := production()
			tc.change(&c)
			p := c.ProductionProblems()
			if len(p) != 1 || !strings.Contains(p[0], tc.want) {
				t.Fatalf("problems %q, want one naming %q", p, tc.want)
			}
		})
	}

	// A developer's defaults: every problem at once, not the first only.
	dev, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	dev.ShopifyAPIURL, dev.SESEndpoint = "http://127.0.0.1:8090", "http://127.0.0.1:8090"
	dev.RateLimitLogin = Rate{}
	p := dev.ProductionProblems()
	for _, want := range []string{"JWT_KEY_FILE", "MASTER_KEY", "APP_URL", "SHOPIFY_CLIENT_SECRET", "SHOPIFY_API_URL", "SES_ENDPOINT", "RATE_LIMIT_LOGIN",
		"CHECKPOINT_KEY_FILE", "CHECKPOINT_EXPORT"} {
		if !strings.Contains(strings.Join(p, "\n"), want) {
			t.Errorf("developer defaults: no problem names %s in %q", want, p)
		}
	}
}

func TestLoadRefusesBadProfileSettings(t *testing.T) {
	for _, tc := range []struct{ name, value, want string }{
		{"ORDERMILL_ENV", "prod", `ORDERMILL_ENV: "prod" is not development or production`},
		{"ORDERMILL_OPERATOR_TOKEN", "short-token", "ORDERMILL_OPERATOR_TOKEN: 11 characters, want at least 32"},
		{"ORDERMILL_AUDIT_INTERVAL", "0s", `ORDERMILL_AUDIT_INTERVAL: want a positive duration or off, got "0s"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(tc.name, tc.value)
			if _, err := Load(); err == nil || err.Error() != tc.want {
				t.Fatalf("Load: %v, want %q", err, tc.want)
			}
		})
	}
	t.Setenv("ORDERMILL_AUDIT_INTERVAL", "off")
	t.Setenv("ORDERMILL_ENV", EnvProduction)
	c, err := Load()
	if err != nil || c.AuditInterval != 0 || c.Env != EnvProduction {
		t.Fatalf("Load: %+v, %v", c, err)
	}
}
