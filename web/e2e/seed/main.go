//go:build e2e

// Command seed prepares the browser tests' database: one shop and a user of
// each role, created through the same code paths as the server. It reads the
// server's environment (ORDERMILL_*). `seed drop <database>` removes a test
// database afterwards. Built only with -tags e2e.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/ordermill/ordermill/app"
	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/config"
	"github.com/ordermill/ordermill/internal/platform"
	"github.com/ordermill/ordermill/internal/shops"
)

type input struct {
	Shop        string `json:"shop"`
	Currency    string `json:"currency"`
	Secret      string `json:"secret"`
	AccessToken string `json:"access_token"`
	Users       []struct {
		Email    string `json:"email"`
		Name     string `json:"name"`
		Role     string `json:"role"`
		Password string `json:"password"`
	} `json:"users"`
}

func main() {
	if err := run(context.Background(), os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "seed:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	if len(args) == 2 && args[0] == "drop" {
		return drop(ctx, cfg.DatabaseURL, args[1])
	}
	var in input
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		return fmt.Errorf("read seed JSON from stdin: %w", err)
	}
	p, err := platform.Open(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), true)
	if err != nil {
		return err
	}
	defer p.Close()
	meta := eventstore.Metadata{Actor: "seed", Source: "e2e"}
	if _, err := p.App().RegisterShop(ctx, shops.Registration{
		Domain: in.Shop, Name: in.Shop, Currency: in.Currency, WebhookSecrets: []string{in.Secret}, AccessToken: in.AccessToken,
	}, meta); err != nil {
		return fmt.Errorf("add shop: %w", err)
	}
	for _, u := range in.Users {
		if _, err := app.New(p.Store).RegisterUser(ctx, app.Caller{Shop: in.Shop, Meta: meta}, app.NewUser{
			Email: u.Email, Name: u.Name, Role: domain.Role(u.Role), Password: u.Password, BcryptCost: 4,
		}); err != nil {
			return fmt.Errorf("add user %s: %w", u.Email, err)
		}
	}
	return nil
}

// drop removes a test database; only names starting with ordermill_e2e_ are accepted.
func drop(ctx context.Context, url, name string) error {
	if !strings.HasPrefix(name, "ordermill_e2e_") {
		return fmt.Errorf("refusing to drop %q", name)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	return err
}
