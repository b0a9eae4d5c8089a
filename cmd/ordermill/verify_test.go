package main

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/ordermill/ordermill/audit"
	"github.com/ordermill/ordermill/internal/testenv"
)

// TestVerifyCommand runs `ordermill verify` on the seeded demo: it signs
// and exports a checkpoint; after an event is altered it exits 1 naming the
// event and signs nothing.
func TestVerifyCommand(t *testing.T) {
	cfg := testenv.Config(t)
	bin := testenv.Build(t, "./cmd/ordermill")
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyFile, export := filepath.Join(t.TempDir(), "checkpoint.pem"), filepath.Join(t.TempDir(), "checkpoints.jsonl")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, int) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
			"ORDERMILL_DATABASE_URL=" + cfg.DatabaseURL, "ORDERMILL_REDIS_URL=" + cfg.RedisURL,
			"ORDERMILL_STREAM_PREFIX=" + cfg.StreamPrefix, "ORDERMILL_MASTER_KEY=" + cfg.MasterKey,
			"ORDERMILL_DATA_DIR=" + cfg.DataDir, "ORDERMILL_LOG_LEVEL=warn",
			"ORDERMILL_CHECKPOINT_KEY_FILE=" + keyFile, "ORDERMILL_CHECKPOINT_EXPORT=" + export}
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatalf("%v: %v", args, err)
		}
		return string(out), cmd.ProcessState.ExitCode()
	}
	if out, code := run("seed"); code != 0 {
		t.Fatalf("seed: %d\n%s", code, out)
	}
	out, code := run("verify")
	if code != 0 || !strings.Contains(out, ", 0 findings") || !strings.Contains(out, "signed checkpoint 1:") ||
		!strings.Contains(out, "exported 1 checkpoints") {
		t.Fatalf("verify of a clean log: exit %d\n%s", code, out)
	}
	if cps, err := audit.ReadCheckpointExport(export); err != nil || len(cps) != 1 ||
		!ed25519.Verify(cps[0].PublicKey, cps[0].Digest, cps[0].Signature) {
		t.Fatalf("export: %+v, %v", cps, err)
	}

	ctx := context.Background()
	pool := testenv.PoolFor(t, cfg.DatabaseURL)
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `ALTER TABLE events DISABLE TRIGGER events_immutable_rows;
			UPDATE events SET data = jsonb_set(data, '{name}', '"#D999"') WHERE global_position =
				(SELECT min(global_position) FROM events WHERE stream_id LIKE 'order-%');
			ALTER TABLE events ENABLE TRIGGER events_immutable_rows`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	out, code = run("verify")
	if code != 1 || !strings.Contains(out, "altered: order-") || !strings.Contains(out, "ordermill verify: the event log does not verify") ||
		strings.Contains(out, "signed checkpoint") {
		t.Fatalf("verify of an altered log: exit %d\n%s", code, out)
	}
	if cps, _ := audit.ReadCheckpointExport(export); len(cps) != 1 {
		t.Fatalf("%d checkpoints exported after tampering", len(cps))
	}
}
