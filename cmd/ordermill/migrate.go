package main

import (
	"context"
	"fmt"

	"github.com/ordermill/ordermill/internal/config"
	"github.com/ordermill/ordermill/internal/database"
	"github.com/ordermill/ordermill/migrations"
)

func migrateCmd(args []string) error {
	fs := newFlagSet("migrate", "migrate up|version")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	if err := database.EnsureExists(context.Background(), cfg.DatabaseURL); err != nil {
		return err
	}
	switch fs.Arg(0) {
	case "up":
		if err := migrations.Up(cfg.DatabaseURL); err != nil {
			return err
		}
		fmt.Printf("schema at version %d\n", migrations.Latest())
		return nil
	case "version":
		v, dirty, err := migrations.Version(cfg.DatabaseURL)
		if err != nil {
			return err
		}
		fmt.Printf("version %d (latest %d, dirty %v)\n", v, migrations.Latest(), dirty)
		return nil
	default:
		fs.Usage()
		return fmt.Errorf("want 'up' or 'version', got %q", fs.Arg(0))
	}
}
