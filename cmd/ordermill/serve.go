package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/redis/go-redis/v9"

	"github.com/ordermill/ordermill/internal/config"
	"github.com/ordermill/ordermill/internal/platform"
)

func serve(args []string) error {
	fs := newFlagSet("serve", "serve [--roles "+strings.Join(platform.Roles, ",")+"]")
	roleList := fs.String("roles", strings.Join(platform.Roles, ","), "comma-separated roles this process runs")
	if err := fs.Parse(args); err != nil {
		return err
	}
	roles, err := platform.ParseRoles(*roleList)
	if err != nil {
		return err
	}
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cfg.Env == config.EnvProduction {
		if err := checkProduction(ctx, cfg); err != nil {
			return err
		}
	}

	// Every line names the process's roles, so merged logs tell the relay from the workers.
	log := platform.NewLogger(cfg.LogLevel).With("roles", strings.Join(roles, ","))
	slog.SetDefault(log)
	redis.SetLogger(platform.RedisLogger{Log: log})
	p, err := platform.Open(ctx, cfg, log, cfg.AutoMigrate)
	if err != nil {
		return err
	}
	defer p.Close()
	log.Info("starting", "http_addr", cfg.HTTPAddr)
	err = p.Run(ctx, roles)
	log.Info("stopped", "err", err)
	return err
}
