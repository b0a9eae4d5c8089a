package audit

import (
	"context"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/testenv"
)

// TestAuditorRoundSignsExportsAndCatchesTampering: a clean round signs the
// heads and appends the checkpoint to the export file, where its signature
// verifies without the database; a deleted checkpoint, an edited export and
// an altered event each make the next round a failed verify that signs
// nothing more.
func TestAuditorRoundSignsExportsAndCatchesTampering(t *testing.T) {
	ctx := context.Background()
	export := filepath.Join(t.TempDir(), "checkpoints.jsonl")
	f := newAuditorFixture(t, export)
	pool, a, reg := f.pool, f.auditor, f.reg
	metric := func(name string, labels map[string]string) float64 {
		t.Helper()
		v, found := gathered(t, reg).Sum(name, labels)
		if !found {
			t.Fatalf("no %s %v", name, labels)
		}
		return v
	}
	round := func(wantOK bool) AuditRound {
		t.Helper()
		r, err := a.Round(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if r.Run.OK != wantOK {
			t.Fatalf("round ok = %v, want %v: %+v", r.Run.OK, wantOK, r.Run.Findings)
		}
		return r
	}

	for i := 1; i <= 2; i++ {
		r := round(true)
		if r.Checkpoint == nil || r.Exported != 1 {
			t.Fatalf("clean round %d: %+v", i, r)
		}
	}
	exported, err := ReadCheckpointExport(export)
	if err != nil || len(exported) != 2 {
		t.Fatalf("export: %d checkpoints, %v", len(exported), err)
	}
	for _, cp := range exported {
		// The export alone proves what was signed.
		if !cp.PublicKey.Equal(f.pub) || !ed25519.Verify(cp.PublicKey, cp.Digest, cp.Signature) || cp.SettledEvents != 12 {
			t.Fatalf("exported checkpoint does not verify: %+v", cp)
		}
	}
	if metric("ordermill_audit_verify_ok", nil) != 1 || metric("ordermill_audit_findings", nil) != 0 ||
		metric("ordermill_audit_last_success_timestamp_seconds", nil) < float64(time.Now().Add(-time.Minute).Unix()) ||
		metric("ordermill_audit_rounds_total", map[string]string{"result": "ok"}) != 2 {
		t.Fatal("metrics after clean rounds")
	}

	// Whoever controls the database deletes the newest checkpoint: the
	// export still has it.
	tamper(t, pool, `DELETE FROM signed_checkpoint_heads WHERE checkpoint_id = (SELECT max(id) FROM signed_checkpoints)`,
		`DELETE FROM signed_checkpoints WHERE id = (SELECT max(id) FROM signed_checkpoints)`)
	r := round(false)
	if r.Checkpoint != nil || r.Exported != 0 || r.Run.Findings[0].Kind != FindingCheckpointExport {
		t.Fatalf("round after a deleted checkpoint: %+v", r)
	}
	if metric("ordermill_audit_verify_ok", nil) != 0 || metric("ordermill_audit_findings", nil) != 1 ||
		metric("ordermill_audit_rounds_total", map[string]string{"result": "findings"}) != 1 {
		t.Fatal("the verify metric did not drop")
	}
	last, err := New(f.store).LastAudit(ctx)
	if err != nil || last.OK || last.ID != r.Run.ID {
		t.Fatalf("recorded run: %+v, %v", last, err)
	}

	// An export edited by hand does not read.
	if err := os.WriteFile(export, []byte("{\"id\": 1}\nnot json\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	r = round(false)
	if !strings.Contains(r.Run.Findings[0].Detail, "line 2 is not a checkpoint") {
		t.Fatalf("round with an edited export: %+v", r.Run.Findings)
	}
}

// TestAuditorRoundRefusesToSignAlteredEvent: an event altered behind the
// trigger's back fails the round, which records it and signs nothing.
func TestAuditorRoundRefusesToSignAlteredEvent(t *testing.T) {
	ctx := context.Background()
	f := newAuditorFixture(t, "")
	pool := f.pool
	tamper(t, pool, `UPDATE events SET data = '{"n": 99}' WHERE stream_id = 'order-1' AND stream_version = 2`)
	r, err := f.auditor.Round(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r.Run.OK || r.Checkpoint != nil || len(r.Run.Findings) == 0 || r.Run.Findings[0].Kind != FindingAltered {
		t.Fatalf("round over an altered event: %+v", r)
	}
	var signed int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM signed_checkpoints`).Scan(&signed); err != nil || signed != 0 {
		t.Fatalf("%d checkpoints signed over a tampered log (%v)", signed, err)
	}
	if v, _ := gathered(t, f.reg).Sum("ordermill_audit_verify_ok", nil); v != 0 {
		t.Fatalf("ordermill_audit_verify_ok = %v", v)
	}
}

// auditorFixture is an auditor over seedStreams' events, settled, signing
// with a key of its own and reporting to a registry of its own.
type auditorFixture struct {
	pool    *pgxpool.Pool
	store   *eventstore.Store
	auditor *Auditor
	pub     ed25519.PublicKey
	reg     *prometheus.Registry
}

// newAuditorFixture exports checkpoints to export, or nowhere when it is "".
func newAuditorFixture(t *testing.T, export string) auditorFixture {
	t.Helper()
	f := auditorFixture{pool: testenv.Pool(t), reg: prometheus.NewRegistry()}
	f.store = eventstore.New(f.pool)
	seedStreams(t, f.store)
	settle(t, f.pool)
	pub, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	f.pub = pub
	if f.auditor, err = NewAuditor(f.store, AuditorConfig{Interval: time.Hour, Key: key, Export: export, Registerer: f.reg}); err != nil {
		t.Fatal(err)
	}
	return f
}

func gathered(t *testing.T, reg *prometheus.Registry) testenv.Metrics {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	m := testenv.Metrics{}
	for _, f := range families {
		m[f.GetName()] = f
	}
	return m
}
