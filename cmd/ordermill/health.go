package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/ordermill/ordermill/internal/config"
)

// healthCmd asks the running server of this container, on its operators'
// address (ORDERMILL_METRICS_ADDR), whether it serves: the health check of a
// container image that has no shell or curl.
func healthCmd(args []string) error {
	fs := newFlagSet("health", "health [--timeout 3s]")
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for the answer")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	if cfg.MetricsAddr == "" {
		return fmt.Errorf("ORDERMILL_METRICS_ADDR is empty: the server serves no /healthz")
	}
	host, port, err := net.SplitHostPort(cfg.MetricsAddr)
	if err != nil {
		return fmt.Errorf("ORDERMILL_METRICS_ADDR: %w", err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/healthz answered %s", resp.Status)
	}
	return nil
}
