package platform_test

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ordermill/ordermill/audit"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/platform"
	"github.com/ordermill/ordermill/internal/testenv"
)

// TestScheduledAudit runs two relay processes' worth of platform on one
// database with a short audit interval: one of them at a time verifies,
// signs and exports checkpoints, which verify from the export file alone.
// An event altered behind the immutability trigger makes the next scheduled
// verify fail, sets ordermill_audit_verify_ok to 0 and stops the signing;
// the standby, taking over, finds the same.
func TestScheduledAudit(t *testing.T) {
	ctx := context.Background()
	cfg := testenv.Config(t)
	cfg.AuditInterval = 200 * time.Millisecond
	cfg.CheckpointExport = filepath.Join(t.TempDir(), "checkpoints.jsonl")
	pub, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cfg.CheckpointKeyFile = filepath.Join(t.TempDir(), "checkpoint.pem")
	if err := os.WriteFile(cfg.CheckpointKeyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}

	type process struct {
		p    *platform.Platform
		stop context.CancelFunc
		done chan struct{} // closed when Run returns
	}
	start := func() *process {
		p, err := platform.Open(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), false)
		if err != nil {
			t.Fatal(err)
		}
		runCtx, stop := context.WithCancel(ctx)
		pr := &process{p: p, stop: stop, done: make(chan struct{})}
		go func() {
			defer close(pr.done)
			if err := p.Run(runCtx, []string{"relay"}); err != nil {
				t.Errorf("run: %v", err)
			}
		}()
		t.Cleanup(func() {
			stop()
			<-pr.done
			p.Close()
		})
		return pr
	}
	procs := []*process{start(), start()}
	store := procs[0].p.Store
	for i := range 5 {
		e := eventstore.NewEvent{Type: "t.step", Tenant: "audit.test", Data: json.RawMessage(fmt.Sprintf(`{"n": %d}`, i))}
		if _, err := store.Append(ctx, "order-audit", eventstore.Exact(int64(i)), e); err != nil {
			t.Fatal(err)
		}
	}
	metric := func(pr *process, name, result string) (float64, bool) {
		families, err := pr.p.Metrics.Gather()
		if err != nil {
			t.Fatal(err)
		}
		m := testenv.Metrics{}
		for _, f := range families {
			m[f.GetName()] = f
		}
		labels := map[string]string{}
		if result != "" {
			labels["result"] = result
		}
		return m.Sum(name, labels)
	}
	rounds := func(pr *process, result string) float64 {
		v, _ := metric(pr, "ordermill_audit_rounds_total", result)
		return v
	}

	// Checkpoints of every event pile up in the export, signed by the key.
	var exported []audit.SignedCheckpoint
	waitFor(t, "three exported checkpoints of all five events", func() bool {
		exported, err = audit.ReadCheckpointExport(cfg.CheckpointExport)
		if err != nil {
			t.Fatal(err)
		}
		return len(exported) >= 3 && exported[len(exported)-1].SettledEvents == 5
	})
	for i, cp := range exported {
		if !cp.PublicKey.Equal(pub) || !ed25519.Verify(pub, cp.Digest, cp.Signature) || (i > 0 && cp.ID <= exported[i-1].ID) {
			t.Fatalf("exported checkpoint %d: %+v", i, cp)
		}
	}
	// One process runs the schedule; the other waits with no rounds of its own.
	leader, standby := procs[0], procs[1]
	if rounds(leader, "") == 0 {
		leader, standby = standby, leader
	}
	if ok, found := metric(leader, "ordermill_audit_verify_ok", ""); !found || ok != 1 || rounds(standby, "") != 0 {
		t.Fatalf("leader: verify_ok %v (%v), %v rounds; standby: %v rounds", ok, found, rounds(leader, ""), rounds(standby, ""))
	}

	// Tampering: the next scheduled verify fails and signing stops.
	err = pgx.BeginFunc(ctx, procs[0].p.Pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `ALTER TABLE events DISABLE TRIGGER events_immutable_rows;
			UPDATE events SET data = '{"n": 42}' WHERE stream_id = 'order-audit' AND stream_version = 3;
			ALTER TABLE events ENABLE TRIGGER events_immutable_rows`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the scheduled verify to fail", func() bool {
		ok, _ := metric(leader, "ordermill_audit_verify_ok", "")
		return ok == 0
	})
	var signed int
	if err := store.Pool().QueryRow(ctx, `SELECT count(*) FROM signed_checkpoints`).Scan(&signed); err != nil {
		t.Fatal(err)
	}
	failed := rounds(leader, "findings")
	waitFor(t, "two more failed rounds", func() bool { return rounds(leader, "findings") >= failed+2 })
	var after int
	if err := store.Pool().QueryRow(ctx, `SELECT count(*) FROM signed_checkpoints`).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if now, _ := audit.ReadCheckpointExport(cfg.CheckpointExport); after != signed || len(now) != signed {
		t.Fatalf("signing went on over a tampered log: %d checkpoints, then %d; %d exported", signed, after, len(now))
	}
	last, err := audit.New(store).LastAudit(ctx)
	if err != nil || last.OK || len(last.Findings) == 0 || last.Findings[0].Kind != audit.FindingAltered {
		t.Fatalf("last recorded run: %+v, %v", last, err)
	}

	// The leader stops; the standby takes the lock and reaches the same verdict.
	leader.stop()
	<-leader.done
	waitFor(t, "the standby to run the schedule", func() bool { return rounds(standby, "findings") > 0 })
	if ok, found := metric(standby, "ordermill_audit_verify_ok", ""); !found || ok != 0 {
		t.Fatalf("standby's verify_ok %v (%v)", ok, found)
	}
}
