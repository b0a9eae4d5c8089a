package audit

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ordermill/ordermill/eventstore"
)

// ExportFilter selects events to export. Zero bounds are open. Time bounds
// are half-open, [Since, Until) on recorded_at; position bounds select the
// events after Since up to and including Until, so an export can resume from
// the last position it wrote.
type ExportFilter struct {
	Since, Until *Moment
	Shop         string
}

// ExportedEvent is an event as exported: every stored column, with data and
// metadata as the exact text the hash covers, so anyone can recompute the
// chain from an export without the database. The one exception is an event
// whose stored data holds withheld fields (withheld.go): Data lacks them and
// Withheld names them, so its own hash cannot be recomputed from the export,
// while its successor's prev_hash still links to it; Verify, in the
// database, checks it in full.
type ExportedEvent struct {
	Position      eventstore.Position
	ID            uuid.UUID
	StreamID      string
	StreamVersion int64
	Type          string
	SchemaVersion int
	Tenant        string
	RecordedAt    time.Time
	Data          json.RawMessage
	Metadata      json.RawMessage
	PrevHash      []byte
	Hash          []byte
	Withheld      []string
}

// CanonicalBytes is what the event's hash covers after its predecessor's
// hash, for an event with nothing withheld.
func (e ExportedEvent) CanonicalBytes() []byte {
	return eventstore.CanonicalBytes(e.ID, e.StreamID, e.StreamVersion, e.Type, e.SchemaVersion, e.Tenant,
		e.RecordedAt.UnixMicro(), string(e.Data), string(e.Metadata))
}

const exportBatch = 5000

// exportRange is an ExportFilter resolved against the store's head.
type exportRange struct {
	after, last  eventstore.Position
	since, until *time.Time
	shop         string
}

// exportRange bounds f by the newest position readers can see now, so that
// a long export of a busy store ends.
func (s *Log) exportRange(ctx context.Context, f ExportFilter) (exportRange, error) {
	head, _, err := s.store.Head(ctx)
	if err != nil {
		return exportRange{}, fmt.Errorf("export: %w", err)
	}
	r := exportRange{after: eventstore.Start, last: head, shop: f.Shop}
	if f.Since != nil {
		if f.Since.ByPosition {
			r.after = f.Since.Position
		} else {
			r.since = &f.Since.Time
		}
	}
	if f.Until != nil {
		if f.Until.ByPosition {
			if head.After(f.Until.Position) {
				r.last = f.Until.Position
			}
		} else {
			r.until = &f.Until.Time
		}
	}
	return r, nil
}

// where is the range in SQL over events, with its arguments ($1 to $7).
func (r exportRange) where() (string, []any) {
	return `(transaction_id, global_position) > ($1::text::xid8, $2)
			  AND (transaction_id, global_position) <= ($3::text::xid8, $4)
			  AND ($5::timestamptz IS NULL OR recorded_at >= $5)
			  AND ($6::timestamptz IS NULL OR recorded_at < $6)
			  AND ($7 = '' OR tenant_id = $7)`,
		[]any{strconv.FormatUint(r.after.TransactionID, 10), r.after.GlobalPos,
			strconv.FormatUint(r.last.TransactionID, 10), r.last.GlobalPos, r.since, r.until, r.shop}
}

// CountExport counts the events Export of f would go through now (more
// may be written meanwhile), for a progress report.
func (s *Log) CountExport(ctx context.Context, f ExportFilter) (int64, error) {
	r, err := s.exportRange(ctx, f)
	if err != nil {
		return 0, err
	}
	where, args := r.where()
	var n int64
	err = s.pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE `+where, args...).Scan(&n)
	return n, err
}

// Export streams the selected events in commit order to fn, in batches, up to
// the newest position readers could see when it started (so a long export of
// a busy store ends).
func (s *Log) Export(ctx context.Context, f ExportFilter, fn func(ExportedEvent) error) error {
	r, err := s.exportRange(ctx, f)
	if err != nil {
		return err
	}
	for {
		where, args := r.where()
		rows, err := s.pool.Query(ctx, `SELECT global_position, transaction_id::text::bigint, event_id, stream_id,
			stream_version, event_type, schema_version, tenant_id, recorded_at, (`+eventstore.ReadableData+`)::text, metadata::text,
			prev_hash, hash, coalesce(`+eventstore.WithheldNames+`, '')
			FROM events
			WHERE `+where+`
			ORDER BY events.transaction_id, events.global_position
			LIMIT $8`, append(args, exportBatch)...)
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		batch, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ExportedEvent, error) {
			var (
				e          ExportedEvent
				txid       int64
				data, meta string
				withheld   string
			)
			err := r.Scan(&e.Position.GlobalPos, &txid, &e.ID, &e.StreamID, &e.StreamVersion, &e.Type, &e.SchemaVersion,
				&e.Tenant, &e.RecordedAt, &data, &meta, &e.PrevHash, &e.Hash, &withheld)
			if withheld != "" {
				e.Withheld = strings.Split(withheld, ",")
			}
			e.Position.TransactionID = uint64(txid)
			e.RecordedAt = e.RecordedAt.UTC()
			e.Data, e.Metadata = json.RawMessage(data), json.RawMessage(meta)
			return e, err
		})
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		for _, e := range batch {
			if err := fn(e); err != nil {
				return err
			}
		}
		if len(batch) < exportBatch {
			return nil
		}
		r.after = batch[len(batch)-1].Position
	}
}

// Export formats.
const (
	FormatJSONL = "jsonl"
	FormatCSV   = "csv"
)

// ExportColumns names the exported fields, in order: the JSONL keys and the CSV header.
// "withheld" is the comma-separated names of fields left out of data, empty
// for nearly every event.
var ExportColumns = []string{"position", "transaction_id", "global_position", "event_id", "stream_id", "stream_version",
	"event_type", "schema_version", "tenant_id", "recorded_at", "data", "metadata", "prev_hash", "hash", "withheld"}

// ExportWriter writes exported events in one format.
type ExportWriter interface {
	Write(ExportedEvent) error
	// Flush writes out anything buffered.
	Flush() error
}

// NewExportWriter returns a writer of format (jsonl or csv) to w.
func NewExportWriter(w io.Writer, format string) (ExportWriter, error) {
	switch format {
	case FormatJSONL:
		return &jsonlWriter{w: bufio.NewWriterSize(w, 64<<10)}, nil
	case FormatCSV:
		cw := csv.NewWriter(w)
		return &csvWriter{w: cw}, cw.Write(ExportColumns)
	}
	return nil, fmt.Errorf("unknown export format %q (want %s or %s)", format, FormatJSONL, FormatCSV)
}

func exportFields(e ExportedEvent) []string {
	return []string{e.Position.String(), strconv.FormatUint(e.Position.TransactionID, 10),
		strconv.FormatInt(e.Position.GlobalPos, 10), e.ID.String(), e.StreamID, strconv.FormatInt(e.StreamVersion, 10),
		e.Type, strconv.Itoa(e.SchemaVersion), e.Tenant, e.RecordedAt.Format(time.RFC3339Nano),
		string(e.Data), string(e.Metadata), hex.EncodeToString(e.PrevHash), hex.EncodeToString(e.Hash),
		strings.Join(e.Withheld, ",")}
}

// jsonlWriter writes one JSON object per line. It is written by hand because
// encoding/json would compact data and metadata, and the hash covers their
// stored text byte for byte.
type jsonlWriter struct {
	w   *bufio.Writer
	buf []byte
}

func (j *jsonlWriter) Write(e ExportedEvent) error {
	b := j.buf[:0]
	for i, v := range exportFields(e) {
		b = append(b, ',')
		b = appendJSONString(b, ExportColumns[i])
		b = append(b, ':')
		switch ExportColumns[i] {
		case "transaction_id", "global_position", "stream_version", "schema_version":
			b = append(b, v...)
		case "data", "metadata":
			// jsonb's text form has no raw newlines: the line stays one line.
			b = append(b, v...)
		default:
			b = appendJSONString(b, v)
		}
	}
	b[0] = '{'
	b = append(b, '}', '\n')
	j.buf = b
	_, err := j.w.Write(b)
	return err
}

func (j *jsonlWriter) Flush() error { return j.w.Flush() }

type csvWriter struct{ w *csv.Writer }

func (c *csvWriter) Write(e ExportedEvent) error { return c.w.Write(exportFields(e)) }

func (c *csvWriter) Flush() error {
	c.w.Flush()
	return c.w.Error()
}

// appendJSONString appends s as a JSON string, escaped as encoding/json
// escapes it.
func appendJSONString(b []byte, s string) []byte {
	quoted, _ := json.Marshal(s) // a string always marshals
	return append(b, quoted...)
}
