// Package database opens PostgreSQL pools and creates the database on first use,
// so a fresh machine needs no manual step.
package database

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// defaultMaxConns applies unless the URL sets pool_max_conns.
const defaultMaxConns = 16

// Open connects a pool to databaseURL, creating the database if it does not exist.
func Open(ctx context.Context, databaseURL string) (*pgxpool.Pool, error) {
	if err := EnsureExists(ctx, databaseURL); err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("database url: %w", err)
	}
	// pgxpool's default (the number of CPUs, at least 4) starves a process
	// that runs API requests, the relay and several consumers at once.
	if !strings.Contains(databaseURL, "pool_max_conns") {
		cfg.MaxConns = defaultMaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	return pool, nil
}

// EnsureExists creates the database named in databaseURL when it is missing,
// connecting to the server's "postgres" database to do so.
func EnsureExists(ctx context.Context, databaseURL string) error {
	u, err := url.Parse(databaseURL)
	if err != nil {
		return fmt.Errorf("database url: %w", err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	if name == "" {
		return errors.New("database url names no database")
	}
	conn, err := pgx.Connect(ctx, databaseURL)
	if err == nil {
		return conn.Close(ctx)
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "3D000" { // invalid_catalog_name
		return fmt.Errorf("connect to postgres: %w", err)
	}
	admin := *u
	admin.Path = "/postgres"
	conn, err = pgx.Connect(ctx, admin.String())
	if err != nil {
		return fmt.Errorf("connect to postgres to create %q: %w", name, err)
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // created concurrently
		return nil
	}
	return err
}

// Unreachable reports whether err means PostgreSQL could not be reached or
// dropped the connection (a restart, a failover, a network fault) rather than
// refusing what was asked: the same work succeeds once it answers again, so
// such a failure says nothing about the work itself.
func Unreachable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false // the caller gave up; whether Postgres answers is unknown
	}
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// connection_exception, admin_shutdown, crash_shutdown, cannot_connect_now
		return strings.HasPrefix(pgErr.Code, "08") || pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03"
	}
	// A connection that broke mid-statement surfaces as a bare network error,
	// which a Shopify or SES call can return too: it is not counted here, and
	// the next try, with Postgres still down, fails to connect.
	return pgconn.SafeToRetry(err)
}
