package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"runtime/pprof"
	"sync"
	"syscall"
	"time"

	"github.com/ordermill/ordermill/internal/config"
	"github.com/ordermill/ordermill/internal/platform"
	"github.com/ordermill/ordermill/workers"
)

// Scenario 2 runs the platform in a child process, this binary started
// again with childEnv set, so that what the pipeline spends is counted apart
// from the load generator and the watcher that measure it.
const (
	childEnv        = "BENCH_CHILD" // childCapture or childPipeline
	childProfileEnv = "BENCH_CHILD_CPUPROFILE"
	childCapture    = "capture"  // the api role alone
	childPipeline   = "platform" // the api, relay, projectors, the webhook processor and the workers that call no outside service
)

// startChild runs what (childCapture or childPipeline) on e's database and
// Redis prefix.
func (b *bench) startChild(ctx context.Context, e *env, what string) (*server, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	profile := ""
	if b.childProfile != "" {
		profile = b.childProfile + "." + what
	}
	cmd := exec.Command(exe)
	cmd.Env = []string{childEnv + "=" + what, childProfileEnv + "=" + profile}
	return startProcess(ctx, cmd, e)
}

// runIfChild runs the child and exits when this process was started as one.
func runIfChild() {
	what := os.Getenv(childEnv)
	if what == "" {
		return
	}
	if err := runChild(what); err != nil {
		fmt.Fprintln(os.Stderr, "bench child:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// runChild is the child's whole life: it serves the api role's handler and
// runs the other roles until it is told to stop.
func runChild(what string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if path := os.Getenv(childProfileEnv); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	platform.TuneGC(cfg) // as the server does
	p, err := platform.Open(ctx, cfg, platform.NewLogger(cfg.LogLevel), false)
	if err != nil {
		return err
	}
	defer p.Close()
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: p.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	var roles sync.WaitGroup
	if what == childPipeline {
		roles.Go(func() { _ = p.Run(ctx, []string{"relay", "projectors"}) })
		// Every worker that reacts to an order webhook without calling out:
		// the Shopify and SES workers would call the real services.
		roles.Go(func() {
			_ = workers.NewRouter(p.WorkersConfig(), workers.Webhooks(p.WebhookProcessor()),
				workers.NewInventoryManager(p.Store).Handler(), workers.Eraser(p.Eraser())).Run(ctx)
		})
	} else if what != childCapture {
		return errors.New(childEnv + ": unknown " + what)
	}
	<-ctx.Done()
	roles.Wait()
	return nil
}
