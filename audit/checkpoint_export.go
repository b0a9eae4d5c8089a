package audit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/jackc/pgx/v5"
)

// FindingCheckpointExport: a checkpoint kept outside the database is gone
// from it or differs (checkpoints were deleted or replaced), or the export
// itself does not read.
const FindingCheckpointExport = "checkpoint_export"

// The export of signed checkpoints is a file outside the database, one JSON
// line per checkpoint (SignedCheckpoint, with the digest its signature
// covers), only ever appended to. Whoever controls the database cannot take
// back what it holds; keep it where they cannot write (another host, an
// append-only mount, chattr +a).

// ErrExportCorrupt is returned for an export with a line that is not a
// checkpoint: it was edited, or cut short.
var ErrExportCorrupt = errors.New("the checkpoint export does not read")

// ReadCheckpointExport reads every checkpoint in the export at path; a file
// not created yet holds none.
func ReadCheckpointExport(path string) ([]SignedCheckpoint, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("checkpoint export: %w", err)
	}
	defer f.Close()
	var cps []SignedCheckpoint
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for line := 1; sc.Scan(); line++ {
		var cp SignedCheckpoint
		if err := json.Unmarshal(sc.Bytes(), &cp); err != nil || cp.ID == 0 {
			return nil, fmt.Errorf("%w: %s, line %d is not a checkpoint", ErrExportCorrupt, path, line)
		}
		cps = append(cps, cp)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("checkpoint export %s: %w", path, err)
	}
	return cps, nil
}

// CheckExport reports each exported checkpoint that the database no longer
// holds, or holds with another signature or digest.
func (s *Log) CheckExport(ctx context.Context, exported []SignedCheckpoint) ([]Finding, error) {
	ids := make([]int64, len(exported))
	for i, cp := range exported {
		ids[i] = cp.ID
	}
	stored, err := s.signedCheckpoints(ctx, `WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, err
	}
	byID := make(map[int64]SignedCheckpoint, len(stored))
	for _, cp := range stored {
		byID[cp.ID] = cp
	}
	var findings []Finding
	for _, cp := range exported {
		now, ok := byID[cp.ID]
		switch {
		case !ok:
			findings = append(findings, Finding{Kind: FindingCheckpointExport,
				Detail: fmt.Sprintf("checkpoint %d, signed %s and exported, is gone from the database", cp.ID, cp.SignedAt.Format("2006-01-02T15:04:05Z07:00"))})
		case !bytes.Equal(now.Signature, cp.Signature) || !bytes.Equal(now.Digest, cp.Digest) || !now.PublicKey.Equal(cp.PublicKey):
			findings = append(findings, Finding{Kind: FindingCheckpointExport,
				Detail: fmt.Sprintf("checkpoint %d in the database is not the one exported (signature, key or signed heads differ)", cp.ID)})
		}
	}
	return findings, nil
}

// ExportCheckpoints appends every checkpoint after id after to the export at
// path, in order, and syncs it to disk; it returns how many it appended.
func (s *Log) ExportCheckpoints(ctx context.Context, path string, after int64) (int, error) {
	cps, err := s.signedCheckpoints(ctx, `WHERE id > $1`, after)
	if err != nil || len(cps) == 0 {
		return 0, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, cp := range cps {
		if err := enc.Encode(cp); err != nil {
			return 0, err
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return 0, fmt.Errorf("checkpoint export: %w", err)
	}
	_, err = f.Write(buf.Bytes())
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("checkpoint export %s: %w", path, err)
	}
	return len(cps), nil
}

// signedCheckpoints reads the checkpoints a WHERE clause selects, in order,
// each with the digest of its stored heads.
func (s *Log) signedCheckpoints(ctx context.Context, where string, args ...any) ([]SignedCheckpoint, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, transaction_id::text::bigint, global_position, settled_xid::text::bigint,
		settled_events, streams, signed_at, public_key, signature FROM signed_checkpoints `+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("read signed checkpoints: %w", err)
	}
	cps, err := pgx.CollectRows(rows, scanCheckpoint)
	if err != nil {
		return nil, fmt.Errorf("read signed checkpoints: %w", err)
	}
	for i := range cps {
		heads, err := s.checkpointHeads(ctx, cps[i].ID)
		if err != nil {
			return nil, err
		}
		signed := make([]ChainHead, len(heads))
		for j, h := range heads {
			signed[j] = h.ChainHead
		}
		sortHeads(signed)
		cps[i].Digest = checkpointDigest(cps[i], signed)
	}
	return cps, nil
}
