package config

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// ProductionProblems lists every setting that is fine on a developer machine
// but must not serve real shops, all at once so one restart fixes them all.
// It reads only c; demo data in the database is checked at serve start.
func (c Config) ProductionProblems() []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if c.JWTKeyFile == "" {
		add("ORDERMILL_JWT_KEY_FILE is empty: access tokens would be signed with a key generated into ORDERMILL_DATA_DIR")
	}
	if c.MasterKey == "" {
		add("ORDERMILL_MASTER_KEY is empty: secrets and personal data would be sealed with a key generated into ORDERMILL_DATA_DIR")
	}
	if u, err := url.Parse(c.AppURL); err != nil || u.Scheme != "https" || u.Hostname() == "localhost" ||
		net.ParseIP(u.Hostname()).IsLoopback() {
		add("ORDERMILL_APP_URL=%s is not a public https address: Shopify sends merchants and webhooks there", c.AppURL)
	}
	if c.ShopifyClientSecret == DemoShopifyClientSecret {
		add("ORDERMILL_SHOPIFY_CLIENT_SECRET is the demo app's, which is public: give your app's client secret")
	}
	for _, u := range []struct{ name, value, want string }{
		{"ORDERMILL_SHOPIFY_API_URL", c.ShopifyAPIURL, "leave it empty to call https://<shop>"},
		{"ORDERMILL_SES_ENDPOINT", c.SESEndpoint, "leave it empty for AWS, or give an https endpoint"},
	} {
		if why := notProductionURL(u.value); why != "" {
			add("%s=%s %s (%s)", u.name, u.value, why, u.want)
		}
	}
	for _, r := range []struct {
		name string
		rate Rate
	}{
		{"ORDERMILL_RATE_LIMIT_USER", c.RateLimitUser},
		{"ORDERMILL_RATE_LIMIT_IP", c.RateLimitIP},
		{"ORDERMILL_RATE_LIMIT_LOGIN", c.RateLimitLogin},
	} {
		if r.rate.N == 0 {
			add("%s is off: nothing bounds the requests it limits", r.name)
		}
	}
	if c.AuditInterval == 0 {
		add("ORDERMILL_AUDIT_INTERVAL is off: the event log is never verified on schedule")
	}
	if c.CheckpointKeyFile == "" {
		add("ORDERMILL_CHECKPOINT_KEY_FILE is empty: checkpoints are never signed, so a rewritten hash chain goes unnoticed")
	}
	if c.CheckpointExport == "" {
		add("ORDERMILL_CHECKPOINT_EXPORT is empty: signed checkpoints are kept only in the database they vouch for")
	}
	return problems
}

// notProductionURL says why a base URL of an external service is the
// simulator's or a local one; "" for a real service's, or none (the default).
func notProductionURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "is not an absolute URL"
	}
	host := strings.ToLower(u.Hostname())
	ip := net.ParseIP(host)
	switch {
	case strings.Contains(host, "simulator"):
		return "points at the simulator"
	case host == "localhost" || strings.HasSuffix(host, ".localhost") || (ip != nil && ip.IsLoopback()):
		return "points at this machine, where the simulator runs"
	case u.Scheme != "https":
		return "is not https"
	}
	return ""
}
