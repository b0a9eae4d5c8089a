package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ordermill/ordermill/internal/config"
	"github.com/ordermill/ordermill/internal/platform"
	"github.com/ordermill/ordermill/internal/telemetry"
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
	platform.TuneGC(cfg)
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
	stopTracing, err := telemetry.StartTracing(ctx, "ordermill")
	if err != nil {
		return fmt.Errorf("tracing: %w", err)
	}
	defer func() {
		// Spans still buffered go out before the process does.
		flushCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := stopTracing(flushCtx); err != nil {
			log.Warn("trace export at shutdown", "err", err)
		}
	}()
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
