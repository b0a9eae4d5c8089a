package audit

// An internal test: forging a checkpoint needs the digest a real signer makes.

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/testenv"
)

// seedStreams appends 3 streams of 4 events each.
func seedStreams(t *testing.T, store *eventstore.Store) {
	t.Helper()
	for i := range 3 {
		for v := range 4 {
			e := eventstore.NewEvent{Type: "t.step", Tenant: "shop.test", Data: json.RawMessage(fmt.Sprintf(`{"n": %d}`, v)),
				Metadata: eventstore.Metadata{CorrelationID: "c"}}
			if _, err := store.Append(context.Background(), fmt.Sprintf("order-%d", i), eventstore.Exact(int64(v)), e); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// tamper runs statements with the immutability triggers off, as the table
// owner could. Only tests do this.
func tamper(t *testing.T, pool *pgxpool.Pool, stmts ...string) {
	t.Helper()
	ctx := context.Background()
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		for _, s := range append(append([]string{
			`ALTER TABLE events DISABLE TRIGGER events_immutable_rows`,
			`ALTER TABLE signed_checkpoints DISABLE TRIGGER signed_checkpoints_immutable`,
			`ALTER TABLE signed_checkpoint_heads DISABLE TRIGGER signed_checkpoint_heads_immutable`,
		}, stmts...),
			`ALTER TABLE events ENABLE TRIGGER events_immutable_rows`,
			`ALTER TABLE signed_checkpoints ENABLE TRIGGER signed_checkpoints_immutable`,
			`ALTER TABLE signed_checkpoint_heads ENABLE TRIGGER signed_checkpoint_heads_immutable`,
		) {
			if _, err := tx.Exec(ctx, s); err != nil {
				return fmt.Errorf("%s: %w", s, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// rechain recomputes the hashes of stream from version from on, as a forger
// who knows the scheme would after editing an event.
func rechain(stream string, from, to int) []string {
	var stmts []string
	for v := from; v <= to; v++ {
		stmts = append(stmts, fmt.Sprintf(`UPDATE events e SET
			prev_hash = coalesce((SELECT hash FROM events p WHERE p.stream_id = e.stream_id AND p.stream_version = e.stream_version - 1),
			                     '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea)
			WHERE stream_id = '%[1]s' AND stream_version = %[2]d;
			UPDATE events e SET hash = sha256(e.prev_hash || event_canonical_bytes(e))
			WHERE stream_id = '%[1]s' AND stream_version = %[2]d`, stream, v))
	}
	return stmts
}

type want struct {
	kind    string
	stream  string
	version int64
}

func assertFindings(t *testing.T, r AuditReport, wants ...want) {
	t.Helper()
	for _, w := range wants {
		if !slices.ContainsFunc(r.Findings, func(f Finding) bool {
			return f.Kind == w.kind && f.Stream == w.stream && (w.version == 0 || f.Version == w.version)
		}) {
			t.Errorf("no %s finding for %s v%d in %v", w.kind, w.stream, w.version, r.Findings)
		}
	}
	if len(wants) > 0 && r.OK() {
		t.Errorf("report is OK despite findings")
	}
}

func TestAuditDetectsEachKindOfTampering(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name  string
		stmts []string
		want  []want
	}{
		{"changed data",
			[]string{`UPDATE events SET data = '{"n": 99}' WHERE stream_id = 'order-1' AND stream_version = 2`},
			[]want{{FindingAltered, "order-1", 2}}},
		{"deleted row",
			[]string{`DELETE FROM events WHERE stream_id = 'order-2' AND stream_version = 2`},
			[]want{{FindingMissing, "order-2", 2}, {FindingBroken, "order-2", 3}}},
		{"reordered chain",
			// Swap versions 2 and 3, passing through 1000 to dodge the unique key.
			[]string{
				`UPDATE events SET stream_version = 1000 WHERE stream_id = 'order-0' AND stream_version = 2`,
				`UPDATE events SET stream_version = 2 WHERE stream_id = 'order-0' AND stream_version = 3`,
				`UPDATE events SET stream_version = 3 WHERE stream_id = 'order-0' AND stream_version = 1000`,
			},
			[]want{{FindingAltered, "order-0", 2}, {FindingBroken, "order-0", 2}, {FindingOutOfSequence, "order-0", 3}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pool := testenv.Pool(t)
			store := eventstore.New(pool)
			seedStreams(t, store)
			r, err := New(store).Audit(ctx, AuditOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !r.OK() || r.Events != 12 || r.Streams != 3 {
				t.Fatalf("clean log: %+v", r)
			}
			tamper(t, pool, c.stmts...)
			r, err = New(store).Audit(ctx, AuditOptions{})
			if err != nil {
				t.Fatal(err)
			}
			assertFindings(t, r, c.want...)
			for _, f := range r.Findings {
				if f.Stream != c.want[0].stream {
					t.Errorf("finding names an untouched stream: %v", f)
				}
			}
		})
	}
}

func TestSignedCheckpointCatchesRewrittenChainAndForgedCheckpoint(t *testing.T) {
	ctx := context.Background()
	pool := testenv.Pool(t)
	store := eventstore.New(pool)
	seedStreams(t, store)

	pub, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	settle(t, pool)
	cp, err := New(store).SignCheckpoint(ctx, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cp.SettledEvents != 12 || cp.Streams != 3 || !cp.PublicKey.Equal(pub) {
		t.Fatalf("checkpoint: %+v", cp)
	}
	trusted := AuditOptions{TrustedKeys: []ed25519.PublicKey{pub}}
	r, err := New(store).Audit(ctx, trusted)
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() || r.Checkpoint == nil || r.Checkpoint.ID != cp.ID {
		t.Fatalf("clean log with checkpoint: %+v", r)
	}

	// The forger edits an event and recomputes the rest of the chain: the
	// chains verify again, only the signed head gives it away.
	tamper(t, pool, append([]string{`UPDATE events SET data = '{"n": 77}' WHERE stream_id = 'order-1' AND stream_version = 2`},
		rechain("order-1", 2, 4)...)...)
	v, err := New(store).Verify(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Findings) != 0 {
		t.Fatalf("rewritten chain should verify on its own, got %v", v.Findings)
	}
	r, err = New(store).Audit(ctx, trusted)
	if err != nil {
		t.Fatal(err)
	}
	assertFindings(t, r, want{FindingCheckpointHead, "order-1", 4})

	// Nor can the forger cover up by signing the new heads with another key:
	// the forged checkpoint is reported and the genuine one still checked.
	_, forgerKey, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	forged := forgeCheckpoint(t, store, forgerKey)
	for _, opts := range []AuditOptions{trusted, {}} { // an auditor's key, or trust on first use
		r, err = New(store).Audit(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		assertFindings(t, r, want{FindingCheckpointSignature, "", 0}, want{FindingCheckpointHead, "order-1", 4})
		if r.Checkpoint == nil || r.Checkpoint.ID != cp.ID {
			t.Fatalf("checked checkpoint %v, want the genuine %d (forged is %d)", r.Checkpoint, cp.ID, forged)
		}
	}
	if _, err := New(store).SignCheckpoint(ctx, key, nil); err == nil {
		t.Fatal("signed a checkpoint over a tampered log")
	}

	// Editing the genuine checkpoint's heads to match breaks its signature.
	tamper(t, pool, fmt.Sprintf(`DELETE FROM signed_checkpoint_heads WHERE checkpoint_id = %d`, forged),
		fmt.Sprintf(`DELETE FROM signed_checkpoints WHERE id = %d`, forged),
		fmt.Sprintf(`UPDATE signed_checkpoint_heads h SET hash = e.hash FROM events e
			WHERE h.checkpoint_id = %d AND e.stream_id = h.stream_id AND e.stream_version = h.stream_version`, cp.ID))
	r, err = New(store).Audit(ctx, trusted)
	if err != nil {
		t.Fatal(err)
	}
	assertFindings(t, r, want{FindingCheckpointSignature, "", 0})
}

func TestSignedCheckpointCatchesDeletedHead(t *testing.T) {
	ctx := context.Background()
	pool := testenv.Pool(t)
	store := eventstore.New(pool)
	seedStreams(t, store)
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := New(store).SignCheckpoint(ctx, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	head, err := store.ReadStream(ctx, "order-2", 4)
	if err != nil {
		t.Fatal(err)
	}
	// Cutting a stream short leaves a chain that verifies on its own.
	tamper(t, pool, `DELETE FROM events WHERE stream_id = 'order-2' AND stream_version = 4`)
	r, err := New(store).Audit(ctx, AuditOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wants := []want{{FindingCheckpointHead, "order-2", 4}}
	// The count covers transactions that had all finished when signing; a
	// transaction elsewhere on the server can hold that boundary back.
	if head[0].Position.TransactionID < cp.SettledXID {
		wants = append(wants, want{FindingCheckpointCount, "", 0})
	}
	assertFindings(t, r, wants...)

	run, err := New(store).RecordAudit(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	last, err := New(store).LastAudit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if last.ID != run.ID || last.OK || last.FindingCount != int64(len(r.Findings)) || len(last.Findings) != len(r.Findings) ||
		last.CheckpointID == nil || *last.CheckpointID != r.Checkpoint.ID {
		t.Fatalf("recorded run %+v, report %+v", last, r)
	}
}

// forgeCheckpoint signs the current heads with key, as a forger with write
// access to the database and this package's code could.
func forgeCheckpoint(t *testing.T, store *eventstore.Store, key ed25519.PrivateKey) int64 {
	t.Helper()
	ctx := context.Background()
	v, err := New(store).Verify(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	sortHeads(v.Heads)
	cp := SignedCheckpoint{SettledXID: 1, SettledEvents: 0, Streams: v.Streams, SignedAt: time.Now().UTC().Truncate(time.Microsecond),
		PublicKey: key.Public().(ed25519.PublicKey)}
	cp.Signature = ed25519.Sign(key, checkpointDigest(cp, v.Heads))
	err = store.Pool().QueryRow(ctx, `INSERT INTO signed_checkpoints
		(transaction_id, global_position, settled_xid, settled_events, streams, signed_at, public_key, signature)
		VALUES ('0'::xid8, 0, $1::text::xid8, $2, $3, $4, $5, $6) RETURNING id`, fmt.Sprint(cp.SettledXID),
		cp.SettledEvents, cp.Streams, cp.SignedAt, []byte(cp.PublicKey), cp.Signature).Scan(&cp.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range v.Heads {
		if _, err := store.Pool().Exec(ctx, `INSERT INTO signed_checkpoint_heads VALUES ($1, $2, $3, $4)`,
			cp.ID, h.Stream, h.Version, h.Hash); err != nil {
			t.Fatal(err)
		}
	}
	return cp.ID
}

// settle waits until every appended event's transaction is older than any
// still running on the server, so a checkpoint counts all of them.
func settle(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		var pending bool
		if err := pool.QueryRow(context.Background(), `SELECT EXISTS (SELECT 1 FROM events
			WHERE transaction_id >= pg_snapshot_xmin(pg_current_snapshot()))`).Scan(&pending); err != nil {
			t.Fatal(err)
		}
		if !pending {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("events never settled")
		}
	}
}

// TestShopAuditSeesOnlyItsShop: a shop's audit counts and reports its own
// streams, catches a rewrite of its own chain through the signed heads, and
// says nothing about another shop's tampering; it cannot be signed or recorded.
func TestShopAuditSeesOnlyItsShop(t *testing.T) {
	ctx := context.Background()
	pool := testenv.Pool(t)
	store := eventstore.New(pool)
	for shop, streams := range map[string]int{"a": 2, "b": 3} {
		for i := range streams {
			for v := range 4 {
				e := eventstore.NewEvent{Type: "t.step", Tenant: "shop-" + shop, Data: json.RawMessage(fmt.Sprintf(`{"n": %d}`, v))}
				if _, err := store.Append(ctx, fmt.Sprintf("order-%s%d", shop, i), eventstore.Exact(int64(v)), e); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	settle(t, pool)
	if _, err := New(store).SignCheckpoint(ctx, key, nil); err != nil {
		t.Fatal(err)
	}
	// b's chain is edited and rehashed, and b's other stream loses its head.
	tamper(t, pool, append([]string{`UPDATE events SET data = '{"n": 9}' WHERE stream_id = 'order-b1' AND stream_version = 2`,
		`DELETE FROM events WHERE stream_id = 'order-b2' AND stream_version = 4`}, rechain("order-b1", 2, 4)...)...)

	a, err := New(store).Audit(ctx, AuditOptions{Shop: "shop-a"})
	if err != nil {
		t.Fatal(err)
	}
	if !a.OK() || a.Events != 8 || a.Streams != 2 || a.Checkpoint == nil {
		t.Fatalf("shop a's audit: %+v", a)
	}
	b, err := New(store).Audit(ctx, AuditOptions{Shop: "shop-b"})
	if err != nil {
		t.Fatal(err)
	}
	if b.Events != 11 || b.Streams != 3 {
		t.Errorf("shop b's audit counts %d events in %d streams, want 11 in 3", b.Events, b.Streams)
	}
	assertFindings(t, b, want{FindingCheckpointHead, "order-b1", 4}, want{FindingCheckpointHead, "order-b2", 4})
	for _, f := range b.Findings {
		if f.Kind == FindingCheckpointCount {
			t.Errorf("a shop's audit reports the platform-wide count: %v", f)
		}
	}
	all, err := New(store).Audit(ctx, AuditOptions{})
	if err != nil {
		t.Fatal(err)
	}
	assertFindings(t, all, want{FindingCheckpointHead, "order-b1", 4}, want{FindingCheckpointCount, "", 0})

	if _, err := New(store).SignAudited(ctx, key, a); err == nil {
		t.Error("a checkpoint was signed after an audit of one shop")
	}
	if _, err := New(store).RecordAudit(ctx, a); err == nil {
		t.Error("an audit of one shop was recorded as a run over the whole log")
	}

	// The last event of one of a's streams is handed to b: a's chain only
	// looks shorter, but the head a checkpoint signed is no longer a's.
	tamper(t, pool, `UPDATE events SET tenant_id = 'shop-b' WHERE stream_id = 'order-a1' AND stream_version = 4`)
	if a, err = New(store).Audit(ctx, AuditOptions{Shop: "shop-a"}); err != nil {
		t.Fatal(err)
	}
	if a.Events != 7 {
		t.Errorf("shop a's audit counts %d events, want 7", a.Events)
	}
	assertFindings(t, a, want{FindingCheckpointHead, "order-a1", 4})
}
