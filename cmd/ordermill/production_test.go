package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ordermill/ordermill/internal/testenv"
)

// TestServeRefusesDevelopmentSettingsInProduction runs the real binary: seed
// the demo, then serve it as production with development settings. serve
// must exit non-zero naming every problem, before it generates a key or
// listens.
func TestServeRefusesDevelopmentSettingsInProduction(t *testing.T) {
	cfg := testenv.Config(t)
	bin := testenv.Build(t, "./cmd/ordermill")
	base := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"ORDERMILL_DATABASE_URL=" + cfg.DatabaseURL, "ORDERMILL_REDIS_URL=" + cfg.RedisURL,
		"ORDERMILL_STREAM_PREFIX=" + cfg.StreamPrefix, "ORDERMILL_MASTER_KEY=" + cfg.MasterKey,
	}
	seed := exec.Command(bin, "seed")
	seed.Env = append(base, "ORDERMILL_DATA_DIR="+t.TempDir())
	if out, err := seed.CombinedOutput(); err != nil {
		t.Fatalf("seed: %v\n%s", err, out)
	}

	dataDir := t.TempDir()
	// Were it to start, it would serve until killed.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	serve := exec.CommandContext(ctx, bin, "serve")
	serve.Env = append(base[:len(base)-1], // no master key: one would be generated
		"ORDERMILL_ENV=production", "ORDERMILL_DATA_DIR="+dataDir, "ORDERMILL_HTTP_ADDR=127.0.0.1:0",
		"ORDERMILL_SHOPIFY_API_URL=http://127.0.0.1:8090", "ORDERMILL_SES_ENDPOINT=http://simulator:8090",
		"ORDERMILL_RATE_LIMIT_LOGIN=off")
	out, err := serve.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("serve in production with development settings: %v, want exit status 1\n%s", err, out)
	}
	msg := string(out)
	t.Logf("serve said:\n%s", msg)
	for _, want := range []string{
		"ordermill serve: ORDERMILL_ENV=production refuses to start (13 problems)",
		"ORDERMILL_APP_URL=http://localhost:8080 is not a public https address",
		"ORDERMILL_SHOPIFY_CLIENT_SECRET is the demo app's",
		"ORDERMILL_JWT_KEY_FILE is empty",
		"ORDERMILL_MASTER_KEY is empty",
		"ORDERMILL_SHOPIFY_API_URL=http://127.0.0.1:8090 points at this machine",
		"ORDERMILL_SES_ENDPOINT=http://simulator:8090 points at the simulator",
		"ORDERMILL_RATE_LIMIT_LOGIN is off",
		"ORDERMILL_CHECKPOINT_KEY_FILE is empty",
		"ORDERMILL_CHECKPOINT_EXPORT is empty",
		"the demo shop demo.myshopify.com is registered",
		"the demo user owner@demo.test is active",
		"the demo user auditor@demo.test is active",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("the refusal does not say %q:\n%s", want, msg)
		}
	}
	if entries, _ := os.ReadDir(dataDir); len(entries) != 0 {
		t.Errorf("serve generated %v into the data dir before refusing", entries)
	}
}
