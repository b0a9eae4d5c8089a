package projections

import (
	"github.com/ordermill/ordermill/bus"
	"github.com/ordermill/ordermill/relay"
)

// consumerGroup is the Redis consumer group a projector reads through.
func consumerGroup(prefix, projector string) string { return prefix + "projector." + projector }

// ConsumerGroups lists the projectors' consumer groups, for the relay to
// recreate and wait for when Redis loses its data.
func ConsumerGroups(prefix string, projectors ...Projector) []relay.ConsumerGroup {
	r := NewRunner(nil, RunnerConfig{TopicPrefix: prefix})
	handlers := make([]bus.Handler, len(projectors))
	for i, p := range projectors {
		handlers[i] = r.busHandler(p)
	}
	return bus.ConsumerGroups(prefix, handlers...)
}
