package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ordermill/ordermill/eventstore"
)

// Finding kinds reported by checking signed checkpoints.
const (
	// FindingCheckpointSignature: a checkpoint's signature does not verify, or
	// its key is not a trusted one (a forged checkpoint).
	FindingCheckpointSignature = "checkpoint_signature"
	// FindingCheckpointHead: an event a checkpoint signed as a chain head is
	// gone or has another hash now (a chain was rewritten or cut short).
	FindingCheckpointHead = "checkpoint_head"
	// FindingCheckpointCount: the number of events written by transactions
	// that had finished at signing changed (events removed or backdated).
	FindingCheckpointCount = "checkpoint_count"
)

// SignedCheckpoint is an Ed25519 signature over every stream's chain head at a
// commit-order position. Whoever rewrites a whole chain can recompute its
// hashes, but cannot sign the new heads with the key holder's key.
type SignedCheckpoint struct {
	ID       int64               `json:"id"`
	Position eventstore.Position `json:"position"` // the newest event signed, in commit order
	// SettledXID: every transaction below it had finished at signing, so the
	// SettledEvents they wrote are final and can be counted again later.
	SettledXID    uint64            `json:"settled_xid"`
	SettledEvents int64             `json:"settled_events"`
	Streams       int64             `json:"streams"`
	SignedAt      time.Time         `json:"signed_at"`
	PublicKey     ed25519.PublicKey `json:"public_key"`
	Signature     []byte            `json:"signature"`
	// Digest is what Signature signs: the fields above and every head.
	Digest []byte `json:"digest"`
}

// KeyID is a short fingerprint of a public key for messages and tables.
func KeyID(k ed25519.PublicKey) string {
	sum := sha256.Sum256(k)
	return hex.EncodeToString(sum[:8])
}

// checkpointDigest is what a checkpoint's signature covers: its position,
// counts and time, and every head in stream order. Fields are length-prefixed
// so no two different checkpoints encode alike.
func checkpointDigest(cp SignedCheckpoint, heads []ChainHead) []byte {
	h := sha256.New()
	h.Write([]byte("ordermill signed checkpoint v1\n"))
	var b []byte
	b = binary.BigEndian.AppendUint64(b, cp.Position.TransactionID)
	b = binary.BigEndian.AppendUint64(b, uint64(cp.Position.GlobalPos))
	b = binary.BigEndian.AppendUint64(b, cp.SettledXID)
	b = binary.BigEndian.AppendUint64(b, uint64(cp.SettledEvents))
	b = binary.BigEndian.AppendUint64(b, uint64(cp.Streams))
	b = binary.BigEndian.AppendUint64(b, uint64(cp.SignedAt.UnixMicro()))
	h.Write(b)
	for _, hd := range heads {
		b = b[:0]
		b = binary.BigEndian.AppendUint32(b, uint32(len(hd.Stream)))
		b = append(b, hd.Stream...)
		b = binary.BigEndian.AppendUint64(b, uint64(hd.Version))
		b = binary.BigEndian.AppendUint32(b, uint32(len(hd.Hash)))
		b = append(b, hd.Hash...)
		h.Write(b)
	}
	return h.Sum(nil)
}

// sortHeads orders heads by stream id bytewise, independent of the database's collation.
func sortHeads(heads []ChainHead) {
	slices.SortFunc(heads, func(a, b ChainHead) int { return strings.Compare(a.Stream, b.Stream) })
}

// ErrNothingToSign is returned when there are no events to sign yet.
var ErrNothingToSign = errors.New("no events to sign")

// ErrTampered is returned when an operation refuses to build on a log that
// does not verify.
var ErrTampered = errors.New("the event log does not verify")

// SignCheckpoint verifies the whole log first (a signature must never bless a
// tampered log), then signs every stream's head as committed now, and stores
// the signature with the heads it covers.
func (s *Log) SignCheckpoint(ctx context.Context, key ed25519.PrivateKey, progress func(int64)) (SignedCheckpoint, error) {
	opts := SignerAuditOptions(key)
	opts.Progress = progress
	report, err := s.Audit(ctx, opts)
	if err != nil {
		return SignedCheckpoint{}, err
	}
	return s.SignAudited(ctx, key, report)
}

// SignerAuditOptions are the options of the audit a signature with key must
// follow: checkpoints are checked against key and the first signer's.
func SignerAuditOptions(key ed25519.PrivateKey) AuditOptions {
	return AuditOptions{TrustedKeys: []ed25519.PublicKey{key.Public().(ed25519.PublicKey)}, TrustFirstKey: true}
}

// SignAudited signs every stream's head as committed now, after report, an
// audit of the whole log with SignerAuditOptions(key), found nothing.
func (s *Log) SignAudited(ctx context.Context, key ed25519.PrivateKey, report AuditReport) (SignedCheckpoint, error) {
	if report.Shop != "" {
		return SignedCheckpoint{}, errors.New("sign checkpoint: the audit covered one shop, not the whole log")
	}
	if n := len(report.Findings); n > 0 {
		return SignedCheckpoint{}, fmt.Errorf("%w: %d findings, first: %s", ErrTampered, n, report.Findings[0])
	}
	pub := key.Public().(ed25519.PublicKey)
	var cp SignedCheckpoint
	// Repeatable read: heads, position and count come from one snapshot.
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead}, func(tx pgx.Tx) error {
		var txid, xmin int64
		err := tx.QueryRow(ctx, `SELECT transaction_id::text::bigint, global_position,
			pg_snapshot_xmin(pg_current_snapshot())::text::bigint
			FROM events ORDER BY events.transaction_id DESC, events.global_position DESC LIMIT 1`).Scan(&txid, &cp.Position.GlobalPos, &xmin)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNothingToSign
		}
		if err != nil {
			return err
		}
		cp.Position.TransactionID, cp.SettledXID = uint64(txid), uint64(xmin)
		// A transaction still in flight may yet add events to a stream, but
		// only after the versions signed here, so the heads stay valid.
		rows, err := tx.Query(ctx, `SELECT DISTINCT ON (stream_id) stream_id, stream_version, hash FROM events
			ORDER BY stream_id, stream_version DESC`)
		if err != nil {
			return err
		}
		heads, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ChainHead, error) {
			var h ChainHead
			return h, r.Scan(&h.Stream, &h.Version, &h.Hash)
		})
		if err != nil {
			return err
		}
		sortHeads(heads)
		if cp.SettledEvents, err = settledEvents(ctx, tx, cp.SettledXID); err != nil {
			return err
		}
		cp.Streams = int64(len(heads))
		cp.SignedAt = time.Now().UTC().Truncate(time.Microsecond)
		cp.PublicKey = pub
		cp.Digest = checkpointDigest(cp, heads)
		cp.Signature = ed25519.Sign(key, cp.Digest)
		if err := tx.QueryRow(ctx, `INSERT INTO signed_checkpoints
			(transaction_id, global_position, settled_xid, settled_events, streams, signed_at, public_key, signature)
			VALUES ($1::text::xid8, $2, $3::text::xid8, $4, $5, $6, $7, $8) RETURNING id`,
			strconv.FormatUint(cp.Position.TransactionID, 10), cp.Position.GlobalPos, strconv.FormatUint(cp.SettledXID, 10),
			cp.SettledEvents, cp.Streams, cp.SignedAt, []byte(pub), cp.Signature).Scan(&cp.ID); err != nil {
			return err
		}
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"signed_checkpoint_heads"},
			[]string{"checkpoint_id", "stream_id", "stream_version", "hash"},
			pgx.CopyFromSlice(len(heads), func(i int) ([]any, error) {
				return []any{cp.ID, heads[i].Stream, heads[i].Version, heads[i].Hash}, nil
			}))
		return err
	})
	if err != nil {
		return SignedCheckpoint{}, fmt.Errorf("sign checkpoint: %w", err)
	}
	return cp, nil
}

// checkpointHead is a signed head beside what the events table holds now.
type checkpointHead struct {
	ChainHead
	found     bool
	nowPos    int64
	nowHash   []byte
	nowTenant string
}

// checkCheckpoints checks the newest signed checkpoint; a checkpoint whose
// signature fails is a finding, and the next older one is checked in its
// place, so forging the newest checkpoint cannot hide a rewrite. walked are
// the streams the audit walked: for one shop, only the heads of those count.
func (s *Log) checkCheckpoints(ctx context.Context, opts AuditOptions, walked []ChainHead, r *AuditReport) error {
	rows, err := s.pool.Query(ctx, `SELECT id, transaction_id::text::bigint, global_position, settled_xid::text::bigint,
		settled_events, streams, signed_at, public_key, signature FROM signed_checkpoints ORDER BY id`)
	if err != nil {
		return fmt.Errorf("read signed checkpoints: %w", err)
	}
	cps, err := pgx.CollectRows(rows, scanCheckpoint)
	if err != nil {
		return fmt.Errorf("read signed checkpoints: %w", err)
	}
	r.Checkpoints = len(cps)
	trusted := opts.TrustedKeys
	if len(cps) > 0 && (len(trusted) == 0 || opts.TrustFirstKey) {
		// Trust on first use: without a key from the auditor, whoever signed
		// first is the signer every later checkpoint must match.
		trusted = append(slices.Clone(trusted), cps[0].PublicKey)
		r.TrustedFirstKey = len(opts.TrustedKeys) == 0
	}
	for i := len(cps) - 1; i >= 0; i-- {
		cp := cps[i]
		heads, err := s.checkpointHeads(ctx, cp.ID)
		if err != nil {
			return err
		}
		signed := make([]ChainHead, len(heads))
		for j, h := range heads {
			signed[j] = h.ChainHead
		}
		sortHeads(signed)
		cp.Digest = checkpointDigest(cp, signed)
		trustedKey := slices.ContainsFunc(trusted, func(k ed25519.PublicKey) bool { return k.Equal(cp.PublicKey) })
		switch {
		case len(cp.PublicKey) != ed25519.PublicKeySize:
			r.Findings = append(r.Findings, Finding{Kind: FindingCheckpointSignature,
				Detail: fmt.Sprintf("checkpoint %d: malformed public key", cp.ID)})
			continue
		case !trustedKey:
			r.Findings = append(r.Findings, Finding{Kind: FindingCheckpointSignature,
				Detail: fmt.Sprintf("checkpoint %d: signed by untrusted key %s", cp.ID, KeyID(cp.PublicKey))})
			continue
		case !ed25519.Verify(cp.PublicKey, cp.Digest, cp.Signature):
			r.Findings = append(r.Findings, Finding{Kind: FindingCheckpointSignature,
				Detail: fmt.Sprintf("checkpoint %d: signature does not match its heads", cp.ID)})
			continue
		}
		r.Checkpoint = &cp
		var mine map[string]bool
		if opts.Shop != "" {
			// A stream removed whole has no tenant left to tell whose it
			// was: only the audit of the whole log reports it.
			mine = make(map[string]bool, len(walked))
			for _, h := range walked {
				mine[h.Stream] = true
			}
		}
		for _, h := range heads {
			if mine != nil && !mine[h.Stream] {
				continue
			}
			switch {
			case !h.found:
				r.Findings = append(r.Findings, Finding{Kind: FindingCheckpointHead, Stream: h.Stream, Version: h.Version,
					Detail: fmt.Sprintf("checkpoint %d signed this event as the stream's head; it is gone", cp.ID)})
			case !bytes.Equal(h.Hash, h.nowHash):
				r.Findings = append(r.Findings, Finding{Kind: FindingCheckpointHead, Stream: h.Stream, Version: h.Version,
					Position: h.nowPos, Detail: fmt.Sprintf("checkpoint %d signed hash %x, the event now hashes to %x",
						cp.ID, h.Hash, h.nowHash)})
			case opts.Shop != "" && h.nowTenant != opts.Shop:
				r.Findings = append(r.Findings, Finding{Kind: FindingCheckpointHead, Stream: h.Stream, Version: h.Version,
					Detail: fmt.Sprintf("checkpoint %d signed this event as the stream's head; it no longer belongs to this shop", cp.ID)})
			}
		}
		if opts.Shop != "" {
			return nil
		}
		n, err := settledEvents(ctx, s.pool, cp.SettledXID)
		if err != nil {
			return fmt.Errorf("count events of checkpoint %d: %w", cp.ID, err)
		}
		if n != cp.SettledEvents {
			r.Findings = append(r.Findings, Finding{Kind: FindingCheckpointCount,
				Detail: fmt.Sprintf("checkpoint %d signed %d events by transactions before %d, there are %d now",
					cp.ID, cp.SettledEvents, cp.SettledXID, n)})
		}
		return nil
	}
	return nil
}

// scanCheckpoint reads a row of id, transaction_id, global_position,
// settled_xid, settled_events, streams, signed_at, public_key, signature.
func scanCheckpoint(row pgx.CollectableRow) (SignedCheckpoint, error) {
	var (
		cp         SignedCheckpoint
		txid, xmin int64
		key        []byte
	)
	err := row.Scan(&cp.ID, &txid, &cp.Position.GlobalPos, &xmin, &cp.SettledEvents, &cp.Streams, &cp.SignedAt, &key, &cp.Signature)
	cp.Position.TransactionID, cp.SettledXID = uint64(txid), uint64(xmin)
	cp.SignedAt = cp.SignedAt.UTC()
	cp.PublicKey = key
	return cp, err
}

func settledEvents(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, xid uint64) (int64, error) {
	var n int64
	err := q.QueryRow(ctx, `SELECT count(*) FROM events WHERE transaction_id < $1::text::xid8`, strconv.FormatUint(xid, 10)).Scan(&n)
	return n, err
}

func (s *Log) checkpointHeads(ctx context.Context, id int64) ([]checkpointHead, error) {
	rows, err := s.pool.Query(ctx, `SELECT h.stream_id, h.stream_version, h.hash, e.global_position IS NOT NULL,
		coalesce(e.global_position, 0), coalesce(e.hash, ''::bytea), coalesce(e.tenant_id, '')
		FROM signed_checkpoint_heads h
		LEFT JOIN events e ON e.stream_id = h.stream_id AND e.stream_version = h.stream_version
		WHERE h.checkpoint_id = $1`, id)
	if err != nil {
		return nil, fmt.Errorf("read heads of checkpoint %d: %w", id, err)
	}
	heads, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (checkpointHead, error) {
		var h checkpointHead
		return h, r.Scan(&h.Stream, &h.Version, &h.Hash, &h.found, &h.nowPos, &h.nowHash, &h.nowTenant)
	})
	if err != nil {
		return nil, fmt.Errorf("read heads of checkpoint %d: %w", id, err)
	}
	return heads, nil
}
