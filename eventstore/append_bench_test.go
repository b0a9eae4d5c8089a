package eventstore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ordermill/ordermill/internal/testenv"
)

// BenchmarkAppendStreams appends what a batch of 50 webhooks commits (an
// order and the webhook's outcome each: 100 streams) as one statement and, as
// the baseline in the same run, in a transaction of one statement per stream:
// `go test -run '^$' -bench AppendStreams ./eventstore`.
func BenchmarkAppendStreams(b *testing.B) {
	store := New(testenv.Pool(b))
	ctx := context.Background()
	batch := func() []StreamAppend {
		run := uuid.NewString()[:8]
		var appends []StreamAppend
		for i := range 50 {
			e := NewEvent{Type: "order.placed", Tenant: "shop.test", Data: []byte(`{"name":"#1001","total":5000,"lines":[{"sku":"TEE","quantity":2}]}`),
				Metadata: Metadata{CorrelationID: "c", CausationID: "d"}}
			appends = append(appends,
				StreamAppend{Stream: fmt.Sprintf("order-%s-%d", run, i), Expected: NoStream, Events: []NewEvent{e}},
				StreamAppend{Stream: fmt.Sprintf("webhook-%s-%d", run, i), Expected: NoStream, Events: []NewEvent{e}})
		}
		return appends
	}
	for _, c := range []struct {
		name   string
		append func([]StreamAppend) ([]AppendResult, error)
	}{
		{"one-statement", func(a []StreamAppend) ([]AppendResult, error) { return appendCombined(ctx, store.pool, a) }},
		{"statement-per-stream", func(a []StreamAppend) ([]AppendResult, error) { return store.appendInTx(ctx, a) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			var elapsed time.Duration
			for b.Loop() {
				appends := batch()
				start := time.Now()
				if _, err := c.append(appends); err != nil {
					b.Fatal(err)
				}
				elapsed += time.Since(start)
			}
			b.ReportMetric(float64(b.N*100)/elapsed.Seconds(), "events/s")
		})
	}
}
