package projections

import (
	"github.com/ordermill/ordermill/bus"
	"github.com/ordermill/ordermill/relay"
)

// consumerGroup is the Redis consumer group the projectors read through.
func consumerGroup(prefix string) string { return prefix + "projectors" }

// ConsumerGroups lists the projectors' consumer group, for the relay to
// recreate and wait for when Redis loses its data.
func ConsumerGroups(prefix string, projectors ...Projector) []relay.ConsumerGroup {
	return bus.ConsumerGroups(prefix, NewRunner(nil, RunnerConfig{TopicPrefix: prefix}, projectors...).busHandler())
}
