// Package testenv gives tests their own real PostgreSQL database and their own
// Redis key prefix, so runs never disturb each other or the demo data.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/ordermill/ordermill/internal/database"
	"github.com/ordermill/ordermill/migrations"
)

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// ServerURL is the PostgreSQL server tests create their databases on.
func ServerURL() string {
	return env("ORDERMILL_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ordermill?sslmode=disable")
}

// RedisURL is the Redis tests use (each under its own key prefix).
func RedisURL() string { return env("ORDERMILL_REDIS_URL", "redis://127.0.0.1:6379/0") }

func randomName() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// DatabaseURL creates an empty, migrated database for this test and drops it
// when the test ends.
func DatabaseURL(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	u, err := url.Parse(ServerURL())
	if err != nil {
		t.Fatalf("database url: %v", err)
	}
	name := "ordermill_test_" + strings.ToLower(randomName())
	u.Path = "/" + name
	dbURL := u.String()
	if err := database.EnsureExists(ctx, dbURL); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		admin := *u
		admin.Path = "/postgres"
		conn, err := pgx.Connect(context.Background(), admin.String())
		if err != nil {
			t.Logf("drop test database: %v", err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("drop test database: %v", err)
		}
	})
	if err := migrations.Up(dbURL); err != nil {
		t.Fatalf("migrate test database: %v", err)
	}
	return dbURL
}

// Pool opens a pool on a fresh migrated database.
func Pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	return PoolFor(t, DatabaseURL(t))
}

// PoolFor opens a pool on dbURL, closed when the test ends.
func PoolFor(t testing.TB, dbURL string) *pgxpool.Pool {
	t.Helper()
	return poolFor(t, dbURL, 40)
}

// Unanalyzed is a fresh database in which one table never gets statistics
// (no autovacuum for it), like a server that runs without autovacuum.
type Unanalyzed struct {
	Admin *pgxpool.Pool // for setup and checks
	// Conn, of one connection, is for the code under test: the plans it
	// keeps are the ones measured, and RowsRead counts its reads.
	Conn  *pgxpool.Pool
	table string
}

// WithoutStatistics opens an Unanalyzed database for table.
func WithoutStatistics(t testing.TB, table string) Unanalyzed {
	t.Helper()
	dbURL := DatabaseURL(t)
	u := Unanalyzed{Admin: poolFor(t, dbURL, 40), Conn: poolFor(t, dbURL, 1), table: table}
	if _, err := u.Admin.Exec(context.Background(), `ALTER TABLE `+table+` SET (autovacuum_enabled = false)`); err != nil {
		t.Fatal(err)
	}
	return u
}

// RowsRead is how many rows of the table Postgres has read so far (scanned
// or fetched through an index), counting every read of Conn up to now.
func (u Unanalyzed) RowsRead(t testing.TB) int64 {
	t.Helper()
	ctx := context.Background()
	// A backend sends its pending statistics before it answers.
	if _, err := u.Conn.Exec(ctx, `SELECT pg_stat_force_next_flush()`); err != nil {
		t.Fatal(err)
	}
	var n int64
	if err := u.Admin.QueryRow(ctx, `SELECT coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0)
		FROM pg_stat_user_tables WHERE relname = $1`, u.table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func poolFor(t testing.TB, dbURL string, conns int32) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = conns
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// Redis returns a client and a key prefix unique to this test; keys under the
// prefix are deleted when the test ends.
func Redis(t testing.TB) (*redis.Client, string) {
	t.Helper()
	opts, err := redis.ParseURL(RedisURL())
	if err != nil {
		t.Fatalf("redis url: %v", err)
	}
	client := redis.NewClient(opts)
	if err := client.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("redis: %v", err)
	}
	prefix := "test:" + randomName() + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		iter := client.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			client.Del(ctx, iter.Val())
		}
		client.Close()
	})
	return client, prefix
}
