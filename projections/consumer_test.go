package projections

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill-redisstream/pkg/redisstream"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ordermill/ordermill/bus"
	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/testenv"
	"github.com/ordermill/ordermill/relay"
)

// A backlog is applied many messages per transaction, by every projector
// of its events in the same one, and the result is the read model a
// rebuild from the event store makes.
func TestRunnerAppliesABacklogInBatches(t *testing.T) {
	f := newFixture(t)
	client, prefix := testenv.Redis(t)
	const orders = 200
	for range orders {
		id := uuid.New()
		f.appendEvents(t, domain.OrderStream(id), placed(id), paid)
	}
	f.run(t, f.relay(client, prefix))
	stream := relay.Topic(prefix, "order")
	waitFor(t, "the relay to publish the backlog", func() bool {
		n, err := client.XLen(f.ctx, stream).Result()
		return err == nil && n == 2*orders
	})

	p := NewOrders(client, prefix)
	f.run(t, NewRunner(f.pool, RunnerConfig{Redis: client, TopicPrefix: prefix, ConsumerName: "test",
		Logger: slog.New(slog.DiscardHandler)}, p, NewFulfillments()).Run)
	waitFor(t, "every order paid in orders_view", func() bool {
		var n int
		if err := f.pool.QueryRow(f.ctx, `SELECT count(*) FROM orders_view WHERE status = 'paid'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == orders
	})
	// Rows written in one transaction share its xmin: one event per
	// transaction would leave one per order.
	var txs int
	if err := f.pool.QueryRow(f.ctx, `SELECT count(DISTINCT xmin::text) FROM projection_streams WHERE projection = 'orders'`).Scan(&txs); err != nil {
		t.Fatal(err)
	}
	if limit := orders / 10; txs > limit {
		t.Errorf("the backlog took %d transactions, want at most %d", txs, limit)
	}
	waitFor(t, "the fulfillments projector to apply the backlog", func() bool {
		var n int
		err := f.pool.QueryRow(f.ctx, `SELECT count(*) FROM projection_streams WHERE projection = 'fulfillments' AND version = 2`).Scan(&n)
		return err == nil && n == orders
	})
	var apart int
	if err := f.pool.QueryRow(f.ctx, `SELECT count(*) FROM projection_streams o JOIN projection_streams fl USING (stream_id)
		WHERE o.projection = 'orders' AND fl.projection = 'fulfillments' AND o.xmin::text <> fl.xmin::text`).Scan(&apart); err != nil {
		t.Fatal(err)
	}
	if apart > 0 {
		t.Errorf("%d orders were applied by the two projectors in different transactions", apart)
	}
	live := f.dump(t, p)
	if _, err := Rebuild(f.ctx, f.store, p, nil); err != nil {
		t.Fatal(err)
	}
	f.requireDump(t, p, live, "a rebuild")
}

// The runner announces each applied batch on ProgressChannel, after its
// commit: whoever waits for a position (the API) re-reads progress then.
func TestRunnerAnnouncesProgress(t *testing.T) {
	f := newFixture(t)
	client, prefix := testenv.Redis(t)
	pooled, err := f.pool.Acquire(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	listener := pooled.Hijack()
	defer listener.Close(f.ctx)
	if _, err := listener.Exec(f.ctx, "LISTEN "+ProgressChannel); err != nil {
		t.Fatal(err)
	}
	id := uuid.New()
	appended := f.appendEvents(t, domain.OrderStream(id), placed(id))
	f.run(t, f.relay(client, prefix), NewRunner(f.pool, RunnerConfig{Redis: client, TopicPrefix: prefix,
		ConsumerName: "test", Logger: slog.New(slog.DiscardHandler)}, NewOrders(client, prefix)).Run)

	ctx, cancel := context.WithTimeout(f.ctx, time.Minute)
	defer cancel()
	if _, err := listener.WaitForNotification(ctx); err != nil {
		t.Fatalf("no progress notification: %v", err)
	}
	var reached bool
	if err := f.pool.QueryRow(f.ctx, `SELECT (transaction_id::text::bigint, global_position) >= ($1::bigint, $2::bigint)
		FROM projection_progress WHERE projection = 'orders'`,
		int64(appended[0].Position.TransactionID), appended[0].Position.GlobalPos).Scan(&reached); err != nil {
		t.Fatalf("progress after the notification: %v", err)
	}
	if !reached {
		t.Fatal("notified before the progress it announces was committed")
	}
}

// poisoned fails on one stream while sick is set, as a bug or a bad event
// would, and counts the batches with that stream it was given.
type poisoned struct {
	*Orders
	stream string
	sick   atomic.Bool
	calls  atomic.Int64
}

func (p *poisoned) ApplyBatch(ctx context.Context, tx pgx.Tx, events []eventstore.Event) error {
	if slices.ContainsFunc(events, func(e eventstore.Event) bool { return e.StreamID == p.stream }) {
		p.calls.Add(1)
		if p.sick.Load() {
			return errors.New("poisoned")
		}
	}
	return p.Orders.ApplyBatch(ctx, tx, events)
}

// An event that fails holds back only itself, and only in its projector's
// read model: the rest of its batch is applied, another projector of the
// same events applies it too, it is retried 3 times with backoff and then
// dead-lettered, as a worker's would be, and once re-queued it is applied.
func TestRunnerRetriesThenDeadLettersOnlyAFailingEvent(t *testing.T) {
	f := newFixture(t)
	client, prefix := testenv.Redis(t)
	ids := make([]uuid.UUID, 30)
	for i := range ids {
		ids[i] = uuid.New()
		f.appendEvents(t, domain.OrderStream(ids[i]), placed(ids[i]))
	}
	p := &poisoned{Orders: NewOrders(client, prefix), stream: domain.OrderStream(ids[7])}
	p.sick.Store(true)
	// The default retry policy, with a short first backoff.
	f.run(t, f.relay(client, prefix), NewRunner(f.pool, RunnerConfig{Redis: client, TopicPrefix: prefix,
		ConsumerName: "test", Logger: slog.New(slog.DiscardHandler), RetryInterval: 5 * time.Millisecond},
		p, NewFulfillments()).Run)

	count := func() (n int) {
		if err := f.pool.QueryRow(f.ctx, `SELECT count(*) FROM orders_view`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	pub, err := redisstream.NewPublisher(redisstream.PublisherConfig{Client: client}, watermill.NopLogger{})
	if err != nil {
		t.Fatal(err)
	}
	dls := bus.NewDeadLetters(f.store, pub, prefix)
	var open []bus.DeadLetter
	waitFor(t, "every healthy order and a dead letter", func() bool {
		open, err = dls.List(f.ctx, shop, false, 0, 10)
		return err == nil && len(open) == 1 && count() == len(ids)-1
	})
	dl := open[0]
	if dl.Handler != HandlerName || dl.StreamID != p.stream || dl.Attempts != bus.DefaultMaxRetries+1 || dl.Error == "" {
		t.Errorf("dead letter = %+v", dl)
	}
	// Each attempt applies the batch, then the failing projector's events each alone.
	if calls := p.calls.Load(); calls != 2*(bus.DefaultMaxRetries+1) {
		t.Errorf("the failing event was handed over %d times, want %d (4 attempts)", calls, 2*(bus.DefaultMaxRetries+1))
	}
	var applied bool
	if err := f.pool.QueryRow(f.ctx, `SELECT EXISTS (SELECT 1 FROM orders_view WHERE id = $1)`, ids[7]).Scan(&applied); err != nil || applied {
		t.Fatalf("the failing order applied: %v, %v", applied, err)
	}
	var version int64
	if err := f.pool.QueryRow(f.ctx, `SELECT version FROM projection_streams WHERE projection = 'fulfillments' AND stream_id = $1`,
		p.stream).Scan(&version); err != nil || version != 1 {
		t.Fatalf("the fulfillments projector held back by the orders projector's failure: version %d, %v", version, err)
	}
	waitFor(t, "nothing pending", func() bool {
		pending, err := client.XPending(f.ctx, relay.Topic(prefix, "order"), consumerGroup(prefix)).Result()
		return err == nil && pending.Count == 0
	})

	p.sick.Store(false)
	if _, err := dls.Requeue(f.ctx, shop, dl.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the failing order once re-queued", func() bool { return count() == len(ids) })
}
