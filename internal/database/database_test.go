package database_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/ordermill/ordermill/internal/database"
	"github.com/ordermill/ordermill/internal/testenv"
)

// Unreachable tells a database that did not answer from one that refused
// the statement, on errors real connections return.
func TestUnreachable(t *testing.T) {
	ctx := context.Background()
	url := testenv.DatabaseURL(t)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)

	_, refused := pgx.Connect(ctx, fmt.Sprintf("postgres://postgres@%s/postgres?sslmode=disable&connect_timeout=5", testenv.FreeAddr(t)))
	_, syntax := conn.Exec(ctx, `SELEKT 1`)
	_, duplicate := conn.Exec(ctx, `CREATE TEMP TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1), (1)`)
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	_, gaveUp := conn.Exec(canceled, `SELECT 1`)

	victim, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer victim.Close(ctx)
	if _, err := conn.Exec(ctx, `SELECT pg_terminate_backend($1)`, victim.PgConn().PID()); err != nil {
		t.Fatal(err)
	}
	_, terminated := victim.Exec(ctx, `SELECT 1`)
	_, closed := victim.Exec(ctx, `SELECT 1`)

	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"connection refused", refused, true},
		{"backend terminated", terminated, true},
		{"connection closed", closed, true},
		{"wrapped", fmt.Errorf("read stream: %w", refused), true},
		{"syntax error", syntax, false},
		{"unique violation", duplicate, false},
		{"caller gave up", gaveUp, false},
		{"not a database error", errors.New("boom"), false},
		{"no error", nil, false},
	} {
		if (c.err == nil) != (c.name == "no error") {
			t.Fatalf("%s: the setup did not fail as planned: %v", c.name, c.err)
		}
		if got := database.Unreachable(c.err); got != c.want {
			t.Errorf("%s: Unreachable(%v) = %v, want %v", c.name, c.err, got, c.want)
		}
	}
}
