package telemetry

import (
	"context"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// replicaSecondsSQL, on a replica, is how old the newest transaction it has
// replayed is while WAL it received waits to be replayed, and 0 when it has
// replayed everything it received (an idle primary sends nothing, and the
// age of its last transaction is not lag).
const replicaSecondsSQL = `SELECT CASE
	WHEN NOT pg_is_in_recovery() OR pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
	ELSE greatest(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0) END::float8`

// headSQL is the newest event's position (an index lookup).
const headSQL = `SELECT coalesce(max(global_position), 0) FROM events`

// ReadReplicaLag is how far the read replica trails the primary: events the
// primary has and the replica not yet, and in seconds the replay delay or
// the age of the oldest event it lacks, whichever is more.
func ReadReplicaLag(ctx context.Context, primary, replica *pgxpool.Pool) (Lag, error) {
	l := Lag{Kind: "replica", Name: "read"}
	// The replica first: read the other way round, an event appended in
	// between would count as lag.
	var replicaHead, primaryHead int64
	if err := replica.QueryRow(ctx, headSQL).Scan(&replicaHead); err != nil {
		return l, err
	}
	if err := replica.QueryRow(ctx, replicaSecondsSQL).Scan(&l.Seconds); err != nil {
		return l, err
	}
	if err := primary.QueryRow(ctx, headSQL).Scan(&primaryHead); err != nil {
		return l, err
	}
	l.Events = max(primaryHead-replicaHead, 0)
	if l.Events == 0 {
		return l, nil
	}
	// The WAL of events the replica lacks may not have reached it yet, so
	// its replay delay can read 0 while reads miss them: the lag is at least
	// the age of the oldest of them.
	var missing float64
	if err := primary.QueryRow(ctx, `SELECT extract(epoch FROM now() - recorded_at)::float8 FROM events
		WHERE global_position > $1 ORDER BY global_position LIMIT 1`, replicaHead).Scan(&missing); err != nil {
		return l, err
	}
	l.Seconds = max(l.Seconds, missing)
	return l, nil
}

// ReplicaCollector reports the read replica's lag behind the primary.
type ReplicaCollector struct {
	primary, replica *pgxpool.Pool
	log              *slog.Logger
}

// NewReplicaCollector reports how far replica trails primary.
func NewReplicaCollector(primary, replica *pgxpool.Pool, log *slog.Logger) *ReplicaCollector {
	return &ReplicaCollector{primary: primary, replica: replica, log: log}
}

var (
	replicaLagEvents = prometheus.NewDesc("ordermill_db_replica_lag_events",
		"Events on the primary that the read replica has not replayed yet.", nil, nil)
	replicaLagSeconds = prometheus.NewDesc("ordermill_db_replica_lag_seconds",
		"Age of the newest transaction the read replica replayed while it has more to replay, or of the oldest event it lacks if more; 0 when caught up.", nil, nil)
	replicaUp = prometheus.NewDesc("ordermill_db_replica_lag_up",
		"Whether the last scrape read the replica's lag (1) or failed (0).", nil, nil)
)

// Describe implements prometheus.Collector.
func (c *ReplicaCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{replicaLagEvents, replicaLagSeconds, replicaUp} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *ReplicaCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), collectTimeout)
	defer cancel()
	l, err := ReadReplicaLag(ctx, c.primary, c.replica)
	if err == nil {
		ch <- prometheus.MustNewConstMetric(replicaLagEvents, prometheus.GaugeValue, float64(l.Events))
		ch <- prometheus.MustNewConstMetric(replicaLagSeconds, prometheus.GaugeValue, l.Seconds)
	}
	up(ch, replicaUp, err, c.log)
}
