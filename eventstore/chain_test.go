package eventstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/ordermill/ordermill/audit"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/testenv"
)

// Every way of appending (one stream, several in one statement, the group
// commit) stores hash = sha256(prev_hash || event_canonical_bytes(e)),
// chained to the stream's previous event, for payloads with escapes,
// non-ASCII text and the size of a real webhook, and the chain verifies
// outside the database.
func TestChainHashIsSHA256OfCanonicalBytes(t *testing.T) {
	ctx := context.Background()
	pool := testenv.Pool(t)
	store := eventstore.New(pool)
	odd := `"quoted" \ <b>&amp;</b> é 東京 🙂 \u2028 ` + strings.Repeat("line item, ", 600)
	data := func(n int) json.RawMessage {
		b, _ := json.Marshal(map[string]any{"n": n, "text": odd, "nested": map[string]any{"a": []int{1, 2}, "z": nil}})
		return b
	}
	event := func(n int) eventstore.NewEvent {
		return eventstore.NewEvent{Type: "t.chained", SchemaVersion: 1 + n%2, Tenant: "shop-é.test", Data: data(n),
			Metadata: eventstore.Metadata{CorrelationID: fmt.Sprint("corr-", n), Actor: "ünïcode"}}
	}
	for s := range 3 {
		stream := fmt.Sprintf("order-chain-%d", s)
		for v := range 3 {
			if _, err := store.Append(ctx, stream, eventstore.Exact(int64(2*v)), event(v), event(v+10)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := store.AppendStreams(ctx, eventstore.StreamAppend{Stream: "order-chain-a", Expected: eventstore.NoStream, Events: []eventstore.NewEvent{event(1)}},
		eventstore.StreamAppend{Stream: "order-chain-b", Expected: eventstore.NoStream, Events: []eventstore.NewEvent{event(2), event(3)}}); err != nil {
		t.Fatal(err)
	}
	var appends []*groupedAppend
	for i := range 20 {
		appends = append(appends, &groupedAppend{stream: fmt.Sprintf("webhook-chain-%d", i), event: event(i)})
	}
	appendAllAtOnce(store, appends)
	for _, a := range appends {
		if a.err != nil {
			t.Fatal(a.err)
		}
	}
	var events, canonical, chained int
	if err := pool.QueryRow(ctx, `SELECT count(*),
		count(*) FILTER (WHERE hash = sha256(prev_hash || event_canonical_bytes(e))),
		count(*) FILTER (WHERE prev_hash = coalesce(
			(SELECT p.hash FROM events p WHERE p.stream_id = e.stream_id AND p.stream_version = e.stream_version - 1),
			'\x0000000000000000000000000000000000000000000000000000000000000000'::bytea))
		FROM events e WHERE stream_id LIKE '%-chain-%'`).Scan(&events, &canonical, &chained); err != nil {
		t.Fatal(err)
	}
	if want := 3*6 + 3 + len(appends); events != want || canonical != want || chained != want {
		t.Errorf("%d events (want %d): %d hashed over event_canonical_bytes, %d chained to their predecessor", events, want, canonical, chained)
	}
	res, err := audit.New(store).Verify(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 0 || res.Events != int64(events) {
		t.Errorf("verify: %d events, findings %v", res.Events, res.Findings)
	}
}
