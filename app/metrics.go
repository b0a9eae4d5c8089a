package app

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/ordermill/ordermill/domain"
)

var shopifyOverrides = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "ordermill_shopify_overrides_total",
	Help: "Fields of Shopify orders where a snapshot replaced contradicting local state, by field (rule: a local rule refused Shopify's change).",
}, []string{"field"})

// countOverrides counts the fields a Shopify snapshot overrode.
func countOverrides(overrides []domain.Override) {
	for _, o := range overrides {
		shopifyOverrides.WithLabelValues(o.Field).Inc()
	}
}
