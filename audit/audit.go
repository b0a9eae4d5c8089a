package audit

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// AuditOptions configures Audit.
type AuditOptions struct {
	// TrustedKeys are the checkpoint signers the auditor trusts. Empty means
	// trust on first use: the key that signed the first checkpoint.
	TrustedKeys []ed25519.PublicKey
	// TrustFirstKey adds the first checkpoint's key to TrustedKeys.
	TrustFirstKey bool
	// Progress, when set, is called with the number of events checked so far.
	Progress func(int64)
	// Shop, when set, limits the audit to that shop's events: its chains, and
	// the heads of its streams in the newest trusted checkpoint. The count of
	// settled events a checkpoint signs covers every shop, so it is left out.
	Shop string
}

// AuditReport is the outcome of Audit: every chain walked and the newest
// trusted signed checkpoint checked against the events as they are now.
type AuditReport struct {
	Shop        string            `json:"shop,omitempty"` // AuditOptions.Shop
	StartedAt   time.Time         `json:"started_at"`
	FinishedAt  time.Time         `json:"finished_at"`
	Events      int64             `json:"events"`
	Streams     int64             `json:"streams"`
	Checkpoints int               `json:"checkpoints"`
	Checkpoint  *SignedCheckpoint `json:"checkpoint,omitempty"` // the one whose heads were checked
	// TrustedFirstKey says the checkpoint signer was trusted because it signed
	// the first checkpoint, not because the auditor supplied its key.
	TrustedFirstKey bool      `json:"trusted_first_key"`
	Findings        []Finding `json:"findings"`
}

// OK reports whether nothing was found.
func (r AuditReport) OK() bool { return len(r.Findings) == 0 }

// Audit verifies the log: every stream's hash chain and stream order (Verify),
// then the newest signed checkpoint with a trusted signature, whose heads
// must still be the same events with the same hashes.
func (s *Log) Audit(ctx context.Context, opts AuditOptions) (AuditReport, error) {
	r := AuditReport{Shop: opts.Shop, StartedAt: time.Now().UTC()}
	v, err := s.verify(ctx, opts.Shop, opts.Progress)
	if err != nil {
		return r, err
	}
	r.Events, r.Streams, r.Findings = v.Events, v.Streams, v.Findings
	if err := s.checkCheckpoints(ctx, opts, v.Heads, &r); err != nil {
		return r, err
	}
	if r.Findings == nil {
		r.Findings = []Finding{}
	}
	r.FinishedAt = time.Now().UTC()
	return r, nil
}

// maxStoredFindings bounds what one run stores: a wholesale rewrite could
// produce a finding per event, and the first ones are enough to start looking.
const maxStoredFindings = 1000

// AuditRun is a stored Audit outcome.
type AuditRun struct {
	ID           int64     `json:"id"`
	StartedAt    time.Time `json:"started_at"`
	FinishedAt   time.Time `json:"finished_at"`
	Events       int64     `json:"events"`
	Streams      int64     `json:"streams"`
	CheckpointID *int64    `json:"checkpoint_id"`
	OK           bool      `json:"ok"`
	FindingCount int64     `json:"finding_count"`
	Findings     []Finding `json:"findings"`
}

// RecordAudit stores r so the audit pages can show the last run.
func (s *Log) RecordAudit(ctx context.Context, r AuditReport) (AuditRun, error) {
	if r.Shop != "" {
		return AuditRun{}, errors.New("record verify run: the audit covered one shop; only runs over the whole log are recorded")
	}
	run := AuditRun{StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, Events: r.Events, Streams: r.Streams,
		OK: r.OK(), FindingCount: int64(len(r.Findings)), Findings: r.Findings[:min(len(r.Findings), maxStoredFindings)]}
	if r.Checkpoint != nil {
		run.CheckpointID = &r.Checkpoint.ID
	}
	findings, err := json.Marshal(run.Findings)
	if err != nil {
		return run, err
	}
	err = s.pool.QueryRow(ctx, `INSERT INTO verify_runs
		(started_at, finished_at, events, streams, checkpoint_id, ok, finding_count, findings)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
		run.StartedAt, run.FinishedAt, run.Events, run.Streams, run.CheckpointID, run.OK, run.FindingCount, findings).Scan(&run.ID)
	if err != nil {
		return run, fmt.Errorf("record verify run: %w", err)
	}
	return run, nil
}

// ErrNoAuditRun is returned by LastAudit before the first recorded run.
var ErrNoAuditRun = errors.New("no verify run recorded yet")

// LastAudit returns the most recent recorded run.
func (s *Log) LastAudit(ctx context.Context) (AuditRun, error) {
	var (
		run      AuditRun
		findings []byte
	)
	err := s.pool.QueryRow(ctx, `SELECT id, started_at, finished_at, events, streams, checkpoint_id, ok, finding_count, findings
		FROM verify_runs ORDER BY id DESC LIMIT 1`).Scan(&run.ID, &run.StartedAt, &run.FinishedAt, &run.Events,
		&run.Streams, &run.CheckpointID, &run.OK, &run.FindingCount, &findings)
	if errors.Is(err, pgx.ErrNoRows) {
		return run, ErrNoAuditRun
	}
	if err != nil {
		return run, fmt.Errorf("last verify run: %w", err)
	}
	run.StartedAt, run.FinishedAt = run.StartedAt.UTC(), run.FinishedAt.UTC()
	return run, json.Unmarshal(findings, &run.Findings)
}

// ErrNoCheckpoint is returned by NewestCheckpoint before the first signing.
var ErrNoCheckpoint = errors.New("no checkpoint signed yet")

// NewestCheckpoint returns the checkpoint signed last. Its signature and
// heads are not checked here; Audit does that.
func (s *Log) NewestCheckpoint(ctx context.Context) (SignedCheckpoint, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, transaction_id::text::bigint, global_position, settled_xid::text::bigint,
		settled_events, streams, signed_at, public_key, signature FROM signed_checkpoints ORDER BY id DESC LIMIT 1`)
	if err != nil {
		return SignedCheckpoint{}, fmt.Errorf("newest signed checkpoint: %w", err)
	}
	cp, err := pgx.CollectExactlyOneRow(rows, scanCheckpoint)
	if errors.Is(err, pgx.ErrNoRows) {
		return cp, ErrNoCheckpoint
	}
	if err != nil {
		return cp, fmt.Errorf("newest signed checkpoint: %w", err)
	}
	return cp, nil
}
