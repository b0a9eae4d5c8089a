package relay

// Why the relay is a hand-written loop and not watermill-sql's Subscriber over
// a schema adapter for `events`: that subscriber reads the same commit-safe way
// (transaction_id, offset below pg_snapshot_xmin), but it only polls (no
// LISTEN/NOTIFY wake-up), keeps a transaction and a row lock open on its offsets
// table while it waits for each message's ack, and acks one message at a time.
// The relay instead reads batches, publishes each to Redis Streams in a few
// pipelined round trips and checkpoints at most once per batch, these stages
// overlapping, with leadership held by an advisory lock on a dedicated
// connection. The message format stays Watermill's, so every consumer is a
// plain Watermill subscriber.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	gojson "github.com/goccy/go-json"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ordermill/ordermill/eventstore"
)

// RelayLockKey is the advisory lock that makes one relay the leader.
const RelayLockKey int64 = 0x6f72646d696c6c // "ordmill"

// Message metadata keys set by the relay on every published event.
const (
	MetaEventType     = "event_type"
	MetaStreamID      = "stream_id"
	MetaStreamVersion = "stream_version"
	MetaPosition      = "position"
	MetaTenant        = "tenant_id"
	MetaCorrelationID = "correlation_id" // the key Watermill's correlation middleware uses
	MetaCausationID   = "causation_id"
)

// StreamsTag is the Redis Cluster hash tag of every relayed stream, of the
// streams read alongside them and of the relay's marker: a consumer reads all
// its streams in one XREADGROUP, which a cluster serves only within one hash
// slot, and the marker must go wherever the streams go (relay_recovery.go).
const StreamsTag = "{events}"

// StreamKey is the Redis key of name among the relayed streams.
func StreamKey(prefix, name string) string { return prefix + StreamsTag + "." + name }

// Topic is the Redis stream that carries a category's events.
func Topic(prefix, category string) string { return StreamKey(prefix, category) }

// Relay publishes every event, in commit order, to its category's Redis stream.
type Relay struct {
	store        *eventstore.Store
	publisher    message.Publisher
	pipe         *PipelinePublisher // publisher, when it is one: the relay then encodes for it
	prefix       string
	checkpoint   string
	follow       FollowOptions
	retryEvery   time.Duration
	leader       atomic.Bool
	published    atomic.Int64
	log          *slog.Logger
	recovery     *RedisRecovery
	recoveries   atomic.Int64
	watermarks   atomic.Int64
	checkpointed atomic.Int64 // Published as of the newest saved checkpoint
}

// RelayConfig configures a Relay.
type RelayConfig struct {
	// TopicPrefix namespaces the Redis streams (tests use their own).
	TopicPrefix string
	// Checkpoint names the row in checkpoints (default "relay").
	Checkpoint string
	Follow     FollowOptions
	// StandbyRetry is how often a standby tries to become the leader.
	StandbyRetry time.Duration
	Logger       *slog.Logger
	// Recovery, when set, republishes what a restarted Redis lost.
	Recovery *RedisRecovery
}

// NewRelay builds a relay that publishes through publisher.
func NewRelay(store *eventstore.Store, publisher message.Publisher, cfg RelayConfig) *Relay {
	if cfg.Checkpoint == "" {
		cfg.Checkpoint = "relay"
	}
	if cfg.StandbyRetry <= 0 {
		cfg.StandbyRetry = 500 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	pipe, _ := publisher.(*PipelinePublisher)
	return &Relay{store: store, publisher: publisher, pipe: pipe, prefix: cfg.TopicPrefix, checkpoint: cfg.Checkpoint,
		follow: cfg.Follow, retryEvery: cfg.StandbyRetry, log: cfg.Logger, recovery: cfg.Recovery}
}

// IsLeader reports whether this relay holds the leader lock now.
func (r *Relay) IsLeader() bool { return r.leader.Load() }

// Published counts events this process has published.
func (r *Relay) Published() int64 { return r.published.Load() }

// Run waits as a standby until it wins the leader lock, then relays until ctx
// ends. If it loses the lock's connection it steps down and waits again.
func (r *Relay) Run(ctx context.Context) error {
	for {
		err := r.runOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		r.log.WarnContext(ctx, "relay stepped down", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(r.retryEvery):
		}
	}
}

func (r *Relay) runOnce(ctx context.Context) error {
	lock, err := r.acquire(ctx)
	if err != nil {
		return err
	}
	defer func() {
		r.leader.Store(false)
		relayLeader.Dec()
		// Unlock explicitly so a standby can take over as soon as this returns
		// (a closed session's locks go only when its backend has exited);
		// closing the session releases the lock even when unlock can't run.
		unlockCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, _ = lock.Exec(unlockCtx, `SELECT pg_advisory_unlock($1)`, RelayLockKey)
		cancel()
		lock.Hijack().Close(context.Background())
	}()
	r.leader.Store(true)
	relayLeader.Inc()
	r.log.InfoContext(ctx, "relay is the leader")

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	watching := make(chan struct{})
	go func() {
		defer close(watching)
		r.watchLock(ctx, lock, cancel)
	}()
	// The watcher must be done with the lock's connection before the
	// deferred unlock above hijacks it: a ping on it then panics.
	defer func() {
		cancel(nil)
		<-watching
	}()
	if r.recovery != nil {
		if err := r.recover(ctx); err != nil {
			return err
		}
		go r.guard(ctx, cancel)
	}

	from, err := LoadCheckpoint(ctx, r.store.Pool(), r.checkpoint)
	if err != nil {
		return err
	}
	err = r.relay(ctx, from)
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	return err
}

// acquire blocks until this process holds the leader lock on a dedicated connection.
func (r *Relay) acquire(ctx context.Context) (*pgxpool.Conn, error) {
	for {
		conn, err := r.store.Pool().Acquire(ctx)
		if err != nil {
			return nil, err
		}
		var got bool
		if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, RelayLockKey).Scan(&got); err != nil {
			conn.Release()
			return nil, err
		}
		if got {
			return conn, nil
		}
		conn.Release()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(r.retryEvery):
		}
	}
}

// watchLock cancels the relay when the lock's session dies, so a stale leader
// stops before a standby takes over.
func (r *Relay) watchLock(ctx context.Context, lock *pgxpool.Conn, cancel context.CancelCauseFunc) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			pingCtx, done := context.WithTimeout(ctx, 2*time.Second)
			err := lock.Ping(pingCtx)
			done()
			if err != nil && ctx.Err() == nil {
				cancel(fmt.Errorf("leader lock connection lost: %w", err))
				return
			}
		}
	}
}

// relay runs its stages at once: reading the next batch, encoding the one
// before it, publishing the one before that, and saving the checkpoint of the
// newest batch fully published. Batches are published one at a time in
// commit order, and a checkpoint is saved only once everything up to it is
// in Redis.
func (r *Relay) relay(ctx context.Context, from eventstore.Position) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	read := make(chan []eventstore.Event, 1)
	ready := make(chan *outgoing, 1)
	// Unbuffered: published batches wait in saveCheckpoints, which saves
	// at least every maxUnsaved of them, and nowhere else, so a new leader
	// publishes again at most maxUnsaved+1 batches (the one the publisher
	// holds while a save commits). A buffer here would add its size to that.
	published := make(chan publishedUpTo)
	var wg sync.WaitGroup
	for _, stage := range []func() error{
		func() error {
			return Follow(ctx, r.store, from, r.follow, func(ctx context.Context, events []eventstore.Event) error {
				return send(ctx, read, events)
			})
		},
		func() error { return r.encodeAll(ctx, read, ready) },
		func() error { return r.publish(ctx, ready, published) },
		func() error { return r.saveCheckpoints(ctx, published) },
	} {
		// The first stage to stop, with an error or because ctx ended, stops the others.
		wg.Go(func() { cancel(stage()) })
	}
	wg.Wait()
	return context.Cause(ctx)
}

func send[T any](ctx context.Context, ch chan<- T, v T) error {
	select {
	case ch <- v:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

func receive[T any](ctx context.Context, ch <-chan T) (T, error) {
	select {
	case v := <-ch:
		return v, nil
	case <-ctx.Done():
		var zero T
		return zero, context.Cause(ctx)
	}
}

func (r *Relay) encodeAll(ctx context.Context, read <-chan []eventstore.Event, ready chan<- *outgoing) error {
	for {
		events, err := receive(ctx, read)
		if err != nil {
			return err
		}
		out, err := r.encode(events)
		if err != nil {
			return err
		}
		if err := send(ctx, ready, out); err != nil {
			return err
		}
	}
}

// outgoing is one read batch, encoded and grouped by topic.
type outgoing struct {
	topics []topicBatch
	last   eventstore.Position
}

type topicBatch struct {
	topic, category string
	msgs            []*message.Message // for a generic publisher
	entries         []any              // XADD field-value lists, for a PipelinePublisher
}

func (t *topicBatch) len() int { return len(t.msgs) + len(t.entries) }

// encode groups events by topic, keeping commit order inside each: a
// stream's events all share a topic, so per-stream order survives.
func (r *Relay) encode(events []eventstore.Event) (*outgoing, error) {
	out := &outgoing{last: events[len(events)-1].Position}
	index := map[string]int{} // by category: a topic per event would be an allocation per event
	var (
		buf    []byte
		values []any
	)
	if r.pipe != nil {
		size := 0
		for i := range events {
			size += len(events[i].Data)
		}
		buf = make([]byte, 0, size+wireOverhead*len(events))
		values = make([]any, 0, 6*len(events))
	}
	for i := range events {
		e := &events[i]
		category := eventstore.Category(e.StreamID)
		k, ok := index[category]
		if !ok {
			k = len(out.topics)
			index[category] = k
			out.topics = append(out.topics, topicBatch{topic: Topic(r.prefix, category), category: category})
		}
		t := &out.topics[k]
		if r.pipe != nil {
			n := len(values)
			buf, values = appendWire(buf, values, e)
			t.entries = append(t.entries, values[n:len(values):len(values)])
			continue
		}
		msg, err := ToMessage(*e)
		if err != nil {
			return nil, err
		}
		t.msgs = append(t.msgs, msg)
	}
	return out, nil
}

// publishedUpTo is a position and Published once everything up to it is.
type publishedUpTo struct {
	pos   eventstore.Position
	count int64
}

// publish sends each ready batch, in order, and hands its position on.
func (r *Relay) publish(ctx context.Context, ready <-chan *outgoing, published chan<- publishedUpTo) error {
	for {
		out, err := receive(ctx, ready)
		if err != nil {
			return err
		}
		if r.pipe != nil {
			if err := r.pipe.xadd(ctx, out.topics); err != nil {
				return fmt.Errorf("publish: %w", err)
			}
		}
		for _, t := range out.topics {
			if r.pipe == nil {
				if err := r.publisher.Publish(t.topic, t.msgs...); err != nil {
					return fmt.Errorf("publish to %s: %w", t.topic, err)
				}
			}
			r.published.Add(int64(t.len()))
			relayPublished.WithLabelValues(t.category).Add(float64(t.len()))
		}
		if err := send(ctx, published, publishedUpTo{out.last, r.published.Load()}); err != nil {
			return err
		}
	}
}

// maxUnsaved bounds how many published batches may wait for a checkpoint,
// and so what a new leader publishes again after a crash.
const maxUnsaved = 8

// checkpointSpacing is the least time between two checkpoint saves unless
// maxUnsaved batches wait. At a low rate every batch holds an event or two,
// and a commit per batch was two of the transactions a webhook cost (make
// bench, scenario 2).
const checkpointSpacing = 100 * time.Millisecond

// saveCheckpoints saves the newest published position once checkpointSpacing
// has passed since the last save or maxUnsaved batches were published since,
// skipping those published meanwhile: one commit can cover many batches. So
// a new leader publishes again at most maxUnsaved batches, as before, and the
// newest position is saved checkpointSpacing late at worst.
func (r *Relay) saveCheckpoints(ctx context.Context, published <-chan publishedUpTo) error {
	next := time.Now()
	for {
		p, err := receive(ctx, published)
		if err != nil {
			return err
		}
		wait := time.NewTimer(time.Until(next))
		for unsaved := 1; unsaved < maxUnsaved; unsaved++ {
			select {
			case p = <-published:
				continue
			case <-ctx.Done():
				wait.Stop()
				return context.Cause(ctx)
			case <-wait.C:
			}
			break
		}
		wait.Stop()
		if err := SaveCheckpoint(ctx, r.store.Pool(), r.checkpoint, p.pos); err != nil {
			return err
		}
		r.checkpointed.Store(p.count)
		next = time.Now().Add(checkpointSpacing)
	}
}

// ToMessage wraps a stored event as a Watermill message: UUID = event id, the
// whole event as payload, and its routing facts as metadata.
func ToMessage(e eventstore.Event) (*message.Message, error) {
	payload, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	msg := message.NewMessage(e.ID.String(), payload)
	msg.Metadata.Set(MetaEventType, e.Type)
	msg.Metadata.Set(MetaStreamID, e.StreamID)
	msg.Metadata.Set(MetaStreamVersion, strconv.FormatInt(e.StreamVersion, 10))
	msg.Metadata.Set(MetaPosition, e.Position.String())
	msg.Metadata.Set(MetaTenant, e.Tenant)
	msg.Metadata.Set(MetaCorrelationID, e.Metadata.CorrelationID)
	msg.Metadata.Set(MetaCausationID, e.Metadata.CausationID)
	return msg, nil
}

// FromMessage decodes an event published by the relay, with go-json (see
// DecodeEvent): every consumer decodes every message it reads.
func FromMessage(msg *message.Message) (eventstore.Event, error) {
	var e eventstore.Event
	if err := gojson.Unmarshal(msg.Payload, &e); err != nil {
		return e, fmt.Errorf("message %s is not an event: %w", msg.UUID, err)
	}
	return e, nil
}

// LeaderElected reports whether some process holds the relay's leader lock
// in this database (advisory locks are per database; pg_locks shows all).
func LeaderElected(ctx context.Context, pool *pgxpool.Pool) (bool, error) {
	var ok bool
	err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted
		AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
		AND classid::text::bigint = $1 AND objid::text::bigint = $2 AND objsubid = 1)`,
		RelayLockKey>>32, RelayLockKey&0xffffffff).Scan(&ok)
	return ok, err
}
