package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ordermill/ordermill/internal/config"
)

// checkProduction refuses a production start on development settings or
// demo data, naming every problem found.
func checkProduction(ctx context.Context, cfg config.Config) error {
	problems := cfg.ProductionProblems()
	demo, err := demoData(ctx, cfg.DatabaseURL)
	if err != nil {
		demo = []string{"could not look for demo data: " + err.Error()}
	}
	problems = append(problems, demo...)
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("ORDERMILL_ENV=production refuses to start (%d problems):\n  - %s",
		len(problems), strings.Join(problems, "\n  - "))
}

// demoData lists what seed left in the database: the demo shop, whose
// webhook secret is public, and its users, whose password
// the README prints. A database not yet migrated holds none.
func demoData(ctx context.Context, databaseURL string) ([]string, error) {
	conn, err := pgx.Connect(ctx, databaseURL)
	if pgErr := (*pgconn.PgError)(nil); errors.As(err, &pgErr) && pgErr.Code == "3D000" { // invalid_catalog_name
		return nil, nil // serve creates the database
	}
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var migrated bool
	if err := conn.QueryRow(ctx, `SELECT to_regclass('shops') IS NOT NULL AND to_regclass('users') IS NOT NULL`).Scan(&migrated); err != nil || !migrated {
		return nil, err
	}
	rows, err := conn.Query(ctx, `SELECT 'the demo shop ' || domain || ' is registered (its webhook secret is public)'
		FROM shops WHERE domain = $1 AND installed
		UNION ALL
		SELECT 'the demo user ' || email || ' is active (its password is in the README)'
		FROM users WHERE email = ANY($2) AND active`, demoShop, demoEmails())
	if err != nil {
		return nil, err
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, errors.Join(errors.New("read demo data"), err)
	}
	return found, nil
}

func demoEmails() []string {
	emails := make([]string, len(demoUsers))
	for i, u := range demoUsers {
		emails[i] = u.email
	}
	return emails
}
