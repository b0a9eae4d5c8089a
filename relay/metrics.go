package relay

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	relayPublished = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "ordermill_relay_published_events_total",
		Help: "Events the relay in this process published to Redis, by category.",
	}, []string{"category"})
	relayLeader = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "ordermill_relay_leader",
		Help: "1 while a relay in this process holds the leader lock.",
	})
)
