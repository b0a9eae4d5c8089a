package audit_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ordermill/ordermill/audit"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/testenv"
)

// exportLine is an export line as an auditor's own program would read it.
type exportLine struct {
	Position       string          `json:"position"`
	TransactionID  uint64          `json:"transaction_id"`
	GlobalPosition int64           `json:"global_position"`
	EventID        uuid.UUID       `json:"event_id"`
	StreamID       string          `json:"stream_id"`
	StreamVersion  int64           `json:"stream_version"`
	EventType      string          `json:"event_type"`
	SchemaVersion  int             `json:"schema_version"`
	TenantID       string          `json:"tenant_id"`
	RecordedAt     time.Time       `json:"recorded_at"`
	Data           json.RawMessage `json:"data"`
	Metadata       json.RawMessage `json:"metadata"`
	PrevHash       string          `json:"prev_hash"`
	Hash           string          `json:"hash"`
	Withheld       string          `json:"withheld"`
}

func TestExportRoundTripsEveryField(t *testing.T) {
	ctx := context.Background()
	pool := testenv.Pool(t)
	store := eventstore.New(pool)
	payloads := []string{
		`{"n": 1, "nested": {"z": [1, 2.5, "x"], "a": null}, "big": 9007199254740993}`,
		`{"text": "line\nbreak \"quoted\" <tag> & ünïcödé \u2028 tab\t"}`,
		`{}`,
		`[1, {"b": true}]`,
	}
	var last eventstore.Position
	for i, p := range payloads {
		shop := "a.myshopify.com"
		if i%2 == 1 {
			shop = "b.myshopify.com"
		}
		e := eventstore.NewEvent{Type: "t.sample", SchemaVersion: i + 1, Tenant: shop, Data: json.RawMessage(p),
			Metadata: eventstore.Metadata{CorrelationID: "corr", CausationID: uuid.NewString(), Actor: "user:1", Source: "api"}}
		res, err := store.Append(ctx, "sample-"+strconv.Itoa(i%2), eventstore.AnyVersion, e, e)
		if err != nil {
			t.Fatal(err)
		}
		last = res.Position
	}
	waitReadable(t, store, last)

	var out bytes.Buffer
	w, err := audit.NewExportWriter(&out, audit.FormatJSONL)
	if err != nil {
		t.Fatal(err)
	}
	if err := audit.New(store).Export(ctx, audit.ExportFilter{}, w.Write); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	var lines []exportLine
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var l exportLine
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&l); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		lines = append(lines, l)
	}
	if len(lines) != 2*len(payloads) {
		t.Fatalf("exported %d events, want %d", len(lines), 2*len(payloads))
	}

	// Compare with the table itself, not with what the store's readers return.
	rows, err := pool.Query(ctx, `SELECT global_position, transaction_id::text, event_id, stream_id, stream_version,
		event_type, schema_version, tenant_id, recorded_at, data::text, metadata::text, encode(prev_hash, 'hex'), encode(hash, 'hex')
		FROM events ORDER BY transaction_id, global_position`)
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	for rows.Next() {
		var (
			want       exportLine
			txid       string
			data, meta string
		)
		if err := rows.Scan(&want.GlobalPosition, &txid, &want.EventID, &want.StreamID, &want.StreamVersion, &want.EventType,
			&want.SchemaVersion, &want.TenantID, &want.RecordedAt, &data, &meta, &want.PrevHash, &want.Hash); err != nil {
			t.Fatal(err)
		}
		want.TransactionID, _ = strconv.ParseUint(txid, 10, 64)
		want.Position = txid + "." + strconv.FormatInt(want.GlobalPosition, 10)
		want.Data, want.Metadata = json.RawMessage(data), json.RawMessage(meta)
		got := lines[i]
		if !got.RecordedAt.Equal(want.RecordedAt) {
			t.Fatalf("event %d recorded_at %v, want %v", i, got.RecordedAt, want.RecordedAt)
		}
		got.RecordedAt = want.RecordedAt
		if string(got.Data) != data || string(got.Metadata) != meta {
			t.Fatalf("event %d: data/metadata not byte-exact:\n got %s %s\nwant %s %s", i, got.Data, got.Metadata, data, meta)
		}
		got.Data, got.Metadata = want.Data, want.Metadata
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("event %d:\n got %+v\nwant %+v", i, got, want)
		}
		// The export alone is enough to recompute the chain.
		prev, _ := hex.DecodeString(got.PrevHash)
		sum := sha256.Sum256(append(prev, eventstore.CanonicalBytes(got.EventID, got.StreamID, got.StreamVersion, got.EventType,
			got.SchemaVersion, got.TenantID, got.RecordedAt.UnixMicro(), string(got.Data), string(got.Metadata))...))
		if hex.EncodeToString(sum[:]) != got.Hash {
			t.Fatalf("event %d: hash does not recompute from the export", i)
		}
		i++
	}
	if err := rows.Err(); err != nil || i != len(lines) {
		t.Fatalf("compared %d of %d: %v", i, len(lines), err)
	}

	// CSV carries the same fields; filters narrow by shop and position.
	out.Reset()
	w, err = audit.NewExportWriter(&out, audit.FormatCSV)
	if err != nil {
		t.Fatal(err)
	}
	since, err := audit.ParseMoment(lines[1].Position)
	if err != nil {
		t.Fatal(err)
	}
	if err := audit.New(store).Export(ctx, audit.ExportFilter{Since: &since, Shop: "b.myshopify.com"}, w.Write); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	records, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(records[0], audit.ExportColumns) {
		t.Fatalf("csv header %v", records[0])
	}
	var wantRows [][]string
	for _, l := range lines[2:] {
		if l.TenantID == "b.myshopify.com" {
			wantRows = append(wantRows, []string{l.Position, strconv.FormatUint(l.TransactionID, 10),
				strconv.FormatInt(l.GlobalPosition, 10), l.EventID.String(), l.StreamID, strconv.FormatInt(l.StreamVersion, 10),
				l.EventType, strconv.Itoa(l.SchemaVersion), l.TenantID, l.RecordedAt.Format(time.RFC3339Nano),
				string(l.Data), string(l.Metadata), l.PrevHash, l.Hash, l.Withheld})
		}
	}
	if !slices.EqualFunc(records[1:], wantRows, slices.Equal) {
		t.Fatalf("csv rows:\n got %v\nwant %v", records[1:], wantRows)
	}

	// Time bounds are half-open on recorded_at.
	n := 0
	from, until := audit.Moment{Time: lines[2].RecordedAt}, audit.Moment{Time: lines[6].RecordedAt}
	if err := audit.New(store).Export(ctx, audit.ExportFilter{Since: &from, Until: &until}, func(e audit.ExportedEvent) error {
		if e.RecordedAt.Before(from.Time) || !e.RecordedAt.Before(until.Time) {
			t.Errorf("event recorded %v outside [%v, %v)", e.RecordedAt, from.Time, until.Time)
		}
		n++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n != 4 {
		t.Fatalf("time range exported %d events, want 4", n)
	}
	// The progress count goes through the same selection.
	if c, err := audit.New(store).CountExport(ctx, audit.ExportFilter{Since: &from, Until: &until}); err != nil || c != 4 {
		t.Errorf("count of the time range = %d, %v; want 4", c, err)
	}
	if c, err := audit.New(store).CountExport(ctx, audit.ExportFilter{Since: &since, Shop: "b.myshopify.com"}); err != nil || c != int64(len(wantRows)) {
		t.Errorf("count of b's events after %s = %d, %v; want %d", lines[1].Position, c, err, len(wantRows))
	}
	if c, err := audit.New(store).CountEvents(ctx); err != nil || c != int64(len(lines)) {
		t.Errorf("count of all events = %d, %v; want %d", c, err, len(lines))
	}
	category := eventstore.Category(lines[0].StreamID)
	var inCategory int64
	for _, l := range lines {
		if eventstore.Category(l.StreamID) == category {
			inCategory++
		}
	}
	if c, err := audit.New(store).CountEvents(ctx, category); err != nil || c != inCategory {
		t.Errorf("count of category %s = %d, %v; want %d", category, c, err, inCategory)
	}
	if c, err := audit.New(store).CountEvents(ctx, "none"); err != nil || c != 0 {
		t.Errorf("count of a category without events = %d, %v", c, err)
	}
}

// waitReadable waits until readers of "all" may see p: a transaction open
// elsewhere on the server holds back what commit-order readers see.
func waitReadable(t *testing.T, store *eventstore.Store, p eventstore.Position) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		head, _, err := store.Head(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !p.After(head) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("position %s not readable after a minute (head %s)", p, head)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
