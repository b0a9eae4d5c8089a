package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"

	"github.com/google/uuid"

	"github.com/ordermill/ordermill/eventstore"
)

// Finding kinds reported by Verify.
const (
	FindingAltered = "altered" // stored hash does not match the event's bytes
	FindingBroken  = "broken"  // prev_hash does not match the predecessor's hash
	FindingMissing = "missing" // a stream version is absent
	// FindingOutOfSequence: a later stream version sits at an earlier global
	// position, which appends (one stream version after another) never produce.
	FindingOutOfSequence = "out_of_sequence"
)

// Finding is one piece of evidence that the log was tampered with.
type Finding struct {
	Kind     string `json:"kind"`
	Stream   string `json:"stream_id"`
	Version  int64  `json:"stream_version"`
	Position int64  `json:"global_position"`
	Detail   string `json:"detail"`
}

func (f Finding) String() string {
	return fmt.Sprintf("%s: %s v%d (position %d): %s", f.Kind, f.Stream, f.Version, f.Position, f.Detail)
}

// ChainHead is the last event of a stream as verified.
type ChainHead struct {
	Stream  string
	Version int64
	Hash    []byte
}

// VerifyResult summarises a walk over every stream's hash chain.
type VerifyResult struct {
	Events   int64
	Streams  int64
	Findings []Finding
	Heads    []ChainHead
}

var zeroHash = make([]byte, sha256.Size)

// Verify walks every stream in version order, recomputing each hash from the
// stored columns, and reports anything altered, unlinked or missing. progress,
// when set, is called with the number of events checked so far.
func (s *Log) Verify(ctx context.Context, progress func(int64)) (VerifyResult, error) {
	return s.verify(ctx, "", progress)
}

// verify is Verify over one shop's events when shop is set: its chains are
// walked as if no other shop existed, so nothing about another shop is read
// into the result. An event moved to another tenant leaves a gap in the
// chain, or, if it was the last, a signed head that is not the shop's.
func (s *Log) verify(ctx context.Context, shop string, progress func(int64)) (VerifyResult, error) {
	var res VerifyResult
	query, args := `SELECT global_position, event_id, stream_id, stream_version, event_type,
		schema_version, tenant_id, (extract(epoch FROM recorded_at) * 1000000)::bigint, data::text, metadata::text,
		prev_hash, hash FROM events`, []any{}
	if shop != "" {
		query, args = query+` WHERE tenant_id = $1`, append(args, shop)
	}
	rows, err := s.pool.Query(ctx, query+` ORDER BY stream_id, stream_version`, args...)
	if err != nil {
		return res, fmt.Errorf("verify: %w", err)
	}
	defer rows.Close()
	var (
		stream   string
		wantVer  int64
		prevHash []byte
		prevPos  int64
	)
	closeStream := func() {
		if stream != "" {
			res.Heads = append(res.Heads, ChainHead{Stream: stream, Version: wantVer - 1, Hash: prevHash})
		}
	}
	for rows.Next() {
		var (
			pos, version, micros int64
			id                   uuid.UUID
			sid, typ, tenant     string
			schema               int
			data, meta           string
			prev, hash           []byte
		)
		if err := rows.Scan(&pos, &id, &sid, &version, &typ, &schema, &tenant, &micros, &data, &meta, &prev, &hash); err != nil {
			return res, fmt.Errorf("verify: %w", err)
		}
		if sid != stream {
			closeStream()
			stream, wantVer, prevHash, prevPos = sid, 1, zeroHash, 0
			res.Streams++
		}
		if pos <= prevPos {
			res.Findings = append(res.Findings, Finding{Kind: FindingOutOfSequence, Stream: sid, Version: version, Position: pos,
				Detail: fmt.Sprintf("global position %d is not after the previous version's %d", pos, prevPos)})
		}
		if version != wantVer {
			res.Findings = append(res.Findings, Finding{Kind: FindingMissing, Stream: sid, Version: wantVer, Position: pos,
				Detail: fmt.Sprintf("expected version %d, found %d", wantVer, version)})
		}
		if !bytes.Equal(prev, prevHash) {
			res.Findings = append(res.Findings, Finding{Kind: FindingBroken, Stream: sid, Version: version, Position: pos,
				Detail: "prev_hash does not match the previous event's hash"})
		}
		sum := sha256.Sum256(append(append([]byte{}, prev...), eventstore.CanonicalBytes(id, sid, version, typ, schema, tenant, micros, data, meta)...))
		if !bytes.Equal(sum[:], hash) {
			res.Findings = append(res.Findings, Finding{Kind: FindingAltered, Stream: sid, Version: version, Position: pos,
				Detail: "stored hash does not match the event's contents"})
		}
		wantVer, prevHash, prevPos = version+1, hash, pos
		res.Events++
		if progress != nil && res.Events%progressEvery == 0 {
			progress(res.Events)
		}
	}
	if err := rows.Err(); err != nil {
		return res, fmt.Errorf("verify: %w", err)
	}
	closeStream()
	if progress != nil {
		progress(res.Events)
	}
	return res, nil
}
