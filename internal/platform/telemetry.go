package platform

import (
	"context"
	"errors"
	"net/http"
	"net/http/pprof"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"

	"github.com/ordermill/ordermill/bus"
	"github.com/ordermill/ordermill/internal/telemetry"
	"github.com/ordermill/ordermill/projections"
	"github.com/ordermill/ordermill/relay"
)

// MetricsHandler serves the process-wide metrics together with this
// platform's collectors in the Prometheus text format.
func (p *Platform) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(prometheus.Gatherers{prometheus.DefaultGatherer, p.Metrics},
		promhttp.HandlerOpts{ErrorLog: slogPrinter{p}})
}

type slogPrinter struct{ p *Platform }

func (s slogPrinter) Println(v ...any) { s.p.Log.Error("metrics", "err", v) }

// observeRoles registers the collectors that describe the roles this process
// runs, and serves /metrics, /healthz and Go's /debug/pprof profiles on
// ORDERMILL_METRICS_ADDR when set, for every role. That address is meant for
// operators only: the api role's own address never serves them, so scrapes
// and profiles cannot be run by (or compete with) the API's clients.
func (p *Platform) observeRoles(ctx context.Context, g *errgroup.Group, roles []string) error {
	if slices.Contains(roles, "relay") || slices.Contains(roles, "projectors") || slices.Contains(roles, "workers") {
		var handlers []string
		for _, h := range p.WorkerHandlers() {
			handlers = append(handlers, h.Name)
		}
		handlers = append(handlers, projections.HandlerName)
		err := p.Metrics.Register(telemetry.NewLagCollector(p.Pool, p.Log, handlers...))
		if err == nil {
			err = p.Metrics.Register(telemetry.NewStreamCollector(p.Redis, p.Config.StreamPrefix, p.consumedStreams(), p.Log))
		}
		// Run may be called again on the same platform: its collectors are already there.
		if err != nil && !errors.As(err, new(prometheus.AlreadyRegisteredError)) {
			return err
		}
	}
	if p.ReadPool != p.Pool {
		err := p.Metrics.Register(telemetry.NewReplicaCollector(p.Pool, p.ReadPool, p.Log))
		if err != nil && !errors.As(err, new(prometheus.AlreadyRegisteredError)) {
			return err
		}
	}
	if p.Config.MetricsAddr == "" {
		return nil
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", p.MetricsHandler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte(`{"status":"ok"}`)) })
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	// No write timeout: a CPU profile streams for as long as it was asked to.
	srv := &http.Server{Addr: p.Config.MetricsAddr, Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: p.Config.HTTPReadTimeout, IdleTimeout: p.Config.HTTPIdleTimeout}
	ln, err := p.listen("metrics", srv)
	if err != nil {
		return err
	}
	// The last scrape may still be reading; it is short.
	g.Go(func() error { return serve(ctx, srv, ln, time.Second) })
	return nil
}

// consumedStreams lists every Redis stream a projector or worker consumes,
// plus the dead-letter stream: the queues whose depth matters.
func (p *Platform) consumedStreams() []string {
	var categories []string
	streams := []string{bus.DeadLetterTopic(p.Config.StreamPrefix),
		bus.RequeueTopic(p.Config.StreamPrefix, projections.HandlerName)}
	for _, pr := range projections.All(nil, p.Config.StreamPrefix) {
		categories = append(categories, pr.Categories()...)
	}
	for _, h := range p.WorkerHandlers() {
		categories = append(categories, h.Categories...)
		streams = append(streams, bus.RequeueTopic(p.Config.StreamPrefix, h.Name))
	}
	slices.Sort(categories)
	for _, c := range slices.Compact(categories) {
		streams = append(streams, relay.Topic(p.Config.StreamPrefix, c))
	}
	return streams
}
