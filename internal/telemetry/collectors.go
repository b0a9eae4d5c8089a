package telemetry

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// collectTimeout bounds the queries a scrape runs, so a slow dependency makes
// a scrape report it down instead of hanging.
const collectTimeout = 2 * time.Second

// up reports whether a collector read its source on this scrape (1) or failed (0).
func up(ch chan<- prometheus.Metric, desc *prometheus.Desc, err error, log *slog.Logger) {
	v := 1.0
	if err != nil {
		v = 0
		log.Warn("metrics collector failed", "metric", desc.String(), "err", err)
	}
	ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v)
}

// PoolCollector reports a pgx pool's connections and waits.
type PoolCollector struct {
	pools map[string]*pgxpool.Pool
}

// NewPoolCollector reports each pool under its name ("primary", "read").
func NewPoolCollector(pools map[string]*pgxpool.Pool) *PoolCollector {
	return &PoolCollector{pools: pools}
}

var (
	poolConns = prometheus.NewDesc("ordermill_db_pool_connections",
		"Postgres pool connections by state (acquired, idle, constructing).", []string{"pool", "state"}, nil)
	poolMax = prometheus.NewDesc("ordermill_db_pool_max_connections",
		"The most connections the pool may open.", []string{"pool"}, nil)
	poolAcquires = prometheus.NewDesc("ordermill_db_pool_acquires_total",
		"Connections handed out by the pool.", []string{"pool"}, nil)
	poolEmptyAcquires = prometheus.NewDesc("ordermill_db_pool_empty_acquires_total",
		"Acquires that had to wait because every connection was in use.", []string{"pool"}, nil)
	poolAcquireWait = prometheus.NewDesc("ordermill_db_pool_acquire_wait_seconds_total",
		"Time spent waiting for a connection.", []string{"pool"}, nil)
)

// Describe implements prometheus.Collector.
func (c *PoolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolConns, poolMax, poolAcquires, poolEmptyAcquires, poolAcquireWait} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *PoolCollector) Collect(ch chan<- prometheus.Metric) {
	for name, pool := range c.pools {
		s := pool.Stat()
		ch <- prometheus.MustNewConstMetric(poolConns, prometheus.GaugeValue, float64(s.AcquiredConns()), name, "acquired")
		ch <- prometheus.MustNewConstMetric(poolConns, prometheus.GaugeValue, float64(s.IdleConns()), name, "idle")
		ch <- prometheus.MustNewConstMetric(poolConns, prometheus.GaugeValue, float64(s.ConstructingConns()), name, "constructing")
		ch <- prometheus.MustNewConstMetric(poolMax, prometheus.GaugeValue, float64(s.MaxConns()), name)
		ch <- prometheus.MustNewConstMetric(poolAcquires, prometheus.CounterValue, float64(s.AcquireCount()), name)
		ch <- prometheus.MustNewConstMetric(poolEmptyAcquires, prometheus.CounterValue, float64(s.EmptyAcquireCount()), name)
		ch <- prometheus.MustNewConstMetric(poolAcquireWait, prometheus.CounterValue, s.AcquireDuration().Seconds(), name)
	}
}

// StreamCollector reports the length of Redis streams and, per consumer
// group, how many entries are pending (delivered, not acknowledged) and how
// many are not yet delivered: the queue depth of each projector and worker.
type StreamCollector struct {
	client  redis.UniversalClient
	prefix  string
	streams []string
	log     *slog.Logger
}

// NewStreamCollector reports streams (full key names); prefix is trimmed
// from the labels.
func NewStreamCollector(client redis.UniversalClient, prefix string, streams []string, log *slog.Logger) *StreamCollector {
	return &StreamCollector{client: client, prefix: prefix, streams: streams, log: log}
}

var (
	streamLength = prometheus.NewDesc("ordermill_redis_stream_length",
		"Entries in a Redis stream.", []string{"stream"}, nil)
	streamPending = prometheus.NewDesc("ordermill_redis_stream_pending",
		"Entries delivered to a consumer group and not yet acknowledged.", []string{"stream", "group"}, nil)
	streamLag = prometheus.NewDesc("ordermill_redis_stream_lag",
		"Entries a consumer group has not been delivered yet.", []string{"stream", "group"}, nil)
	streamsUp = prometheus.NewDesc("ordermill_redis_streams_up",
		"Whether the last scrape read the Redis streams (1) or failed (0).", nil, nil)
)

// Describe implements prometheus.Collector.
func (c *StreamCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{streamLength, streamPending, streamLag, streamsUp} {
		ch <- d
	}
}

// Collect implements prometheus.Collector: one pipelined round trip of XLEN
// and XINFO GROUPS per stream.
func (c *StreamCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), collectTimeout)
	defer cancel()
	streams := c.streams
	pipe := c.client.Pipeline()
	lens := make([]*redis.IntCmd, len(streams))
	groups := make([]*redis.XInfoGroupsCmd, len(streams))
	for i, s := range streams {
		lens[i] = pipe.XLen(ctx, s)
		groups[i] = pipe.XInfoGroups(ctx, s)
	}
	_, err := pipe.Exec(ctx)
	// A stream nobody has published to yet answers "no such key": not a failure.
	if err != nil && isNoSuchKey(err) {
		err = nil
	}
	for i, s := range streams {
		// The hash tag is the key's business, not the dashboard's: events.order.
		name := strings.NewReplacer("{", "", "}", "").Replace(strings.TrimPrefix(s, c.prefix))
		if n, err := lens[i].Result(); err == nil {
			ch <- prometheus.MustNewConstMetric(streamLength, prometheus.GaugeValue, float64(n), name)
		}
		gs, gerr := groups[i].Result()
		if gerr != nil {
			continue
		}
		for _, g := range gs {
			group := strings.TrimPrefix(g.Name, c.prefix)
			ch <- prometheus.MustNewConstMetric(streamPending, prometheus.GaugeValue, float64(g.Pending), name, group)
			// Redis reports lag -1 when it cannot tell (entries were trimmed); report pending only then.
			if g.Lag >= 0 {
				ch <- prometheus.MustNewConstMetric(streamLag, prometheus.GaugeValue, float64(g.Lag), name, group)
			}
		}
	}
	up(ch, streamsUp, err, c.log)
}

func isNoSuchKey(err error) bool {
	return err != nil && strings.Contains(err.Error(), "no such key")
}

// LagCollector reports how far the relay and each projector trail the newest
// event readers can see, and the open dead letters per worker handler, from
// Postgres. Every query is an index lookup, so a scrape stays cheap however
// long the event log grows.
type LagCollector struct {
	pool     *pgxpool.Pool
	log      *slog.Logger
	handlers []string
}

// NewLagCollector reads lag from pool (the primary: the lag of a replica is
// not the platform's lag). Every handler named has an open dead-letter count,
// 0 until one fails, so dashboards show 0 rather than no data.
func NewLagCollector(pool *pgxpool.Pool, log *slog.Logger, handlers ...string) *LagCollector {
	return &LagCollector{pool: pool, log: log, handlers: handlers}
}

var (
	relayLagEvents = prometheus.NewDesc("ordermill_relay_lag_events",
		"Events committed after the relay's checkpoint (by global position).", []string{"checkpoint"}, nil)
	relayLagSeconds = prometheus.NewDesc("ordermill_relay_lag_seconds",
		"Time between the newest event and the last one the relay published.", []string{"checkpoint"}, nil)
	projectorLagEvents = prometheus.NewDesc("ordermill_projector_lag_events",
		"Events committed after the projector's last applied event (by global position; includes categories it does not read).",
		[]string{"projector"}, nil)
	projectorLagSeconds = prometheus.NewDesc("ordermill_projector_lag_seconds",
		"Time between the newest event and the last one the projector applied.", []string{"projector"}, nil)
	deadLettersOpen = prometheus.NewDesc("ordermill_dead_letters_open",
		"Dead letters not yet re-queued, by worker handler.", []string{"handler"}, nil)
	lagUp = prometheus.NewDesc("ordermill_lag_up",
		"Whether the last scrape read the lag from Postgres (1) or failed (0).", nil, nil)
)

// lagSQL compares each checkpoint and projection progress with the head: the
// newest event below events_horizon(), the same horizon readers use.
const lagSQL = `
WITH head AS (
	SELECT global_position, recorded_at FROM events
	 WHERE transaction_id < events_horizon()
	 ORDER BY transaction_id DESC, global_position DESC LIMIT 1)
SELECT 'relay', c.name, greatest(h.global_position - c.global_position, 0),
       coalesce(extract(epoch FROM h.recorded_at - (SELECT recorded_at FROM events WHERE global_position = c.global_position)),
                extract(epoch FROM h.recorded_at - (SELECT min(recorded_at) FROM events)), 0)::float8
  FROM checkpoints c CROSS JOIN head h
UNION ALL
SELECT 'projector', p.projection, greatest(h.global_position - p.global_position, 0),
       greatest(extract(epoch FROM h.recorded_at - p.event_recorded_at), 0)::float8
  FROM projection_progress p CROSS JOIN head h
UNION ALL
SELECT 'dead_letters', handler, count(*), 0 FROM dead_letters WHERE requeued_at IS NULL GROUP BY handler`

// Describe implements prometheus.Collector.
func (c *LagCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{relayLagEvents, relayLagSeconds, projectorLagEvents, projectorLagSeconds, deadLettersOpen, lagUp} {
		ch <- d
	}
}

// Lag is how far one reader of the event log is behind its head.
type Lag struct {
	Kind    string  `json:"kind"` // relay, projector or dead_letters (open count in Events)
	Name    string  `json:"name"`
	Events  int64   `json:"events"`
	Seconds float64 `json:"seconds"`
}

// ReadLag reports every checkpoint's and projector's lag and the open dead
// letters per handler; the metrics and the app's dashboard both show it.
func ReadLag(ctx context.Context, pool *pgxpool.Pool) ([]Lag, error) {
	rows, err := pool.Query(ctx, lagSQL)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Lag, error) {
		var l Lag
		err := row.Scan(&l.Kind, &l.Name, &l.Events, &l.Seconds)
		return l, err
	})
}

// Collect implements prometheus.Collector.
func (c *LagCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), collectTimeout)
	defer cancel()
	lags, err := ReadLag(ctx, c.pool)
	quiet := slices.Clone(c.handlers) // handlers without open dead letters
	for _, l := range lags {
		switch l.Kind {
		case "relay":
			ch <- prometheus.MustNewConstMetric(relayLagEvents, prometheus.GaugeValue, float64(l.Events), l.Name)
			ch <- prometheus.MustNewConstMetric(relayLagSeconds, prometheus.GaugeValue, l.Seconds, l.Name)
		case "projector":
			ch <- prometheus.MustNewConstMetric(projectorLagEvents, prometheus.GaugeValue, float64(l.Events), l.Name)
			ch <- prometheus.MustNewConstMetric(projectorLagSeconds, prometheus.GaugeValue, l.Seconds, l.Name)
		case "dead_letters":
			ch <- prometheus.MustNewConstMetric(deadLettersOpen, prometheus.GaugeValue, float64(l.Events), l.Name)
			quiet = slices.DeleteFunc(quiet, func(h string) bool { return h == l.Name })
		}
	}
	if err == nil {
		for _, h := range quiet {
			ch <- prometheus.MustNewConstMetric(deadLettersOpen, prometheus.GaugeValue, 0, h)
		}
	}
	up(ch, lagUp, err, c.log)
}
