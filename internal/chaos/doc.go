// Package chaos checks the platform's promises under faults, the way
// Jepsen-style tests do: it runs Ordermill as separate processes (two api,
// a relay leader and a standby, two workers, projectors) on a PostgreSQL
// cluster and a Redis of its own, drives the simulator's webhooks at both
// api processes, and meanwhile kills (SIGKILL) and restarts the relay
// leader, a worker, the projectors and an api process, restarts Redis
// (which keeps nothing on disk) and crashes and restarts PostgreSQL. Then it
// compares what was acknowledged with what survived and prints a report.
//
// `make chaos` runs it (ORDERMILL_CHAOS_DURATION, default 4m: each kind of
// fault once, then at random; ORDERMILL_CHAOS_SEED replays a run), and
// ORDERMILL_CHAOS_DURATION=25s go test ./internal/chaos is the short version.
// ORDERMILL_CHAOS_REDIS=cluster runs it on a Redis Cluster of three masters
// with a replica each, started by the harness; restarting Redis then empties
// the master that serves the relayed streams, and a further fault kills that
// master so that its replica takes over.
package chaos
