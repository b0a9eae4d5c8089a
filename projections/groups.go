package projections

import "github.com/ordermill/ordermill/eventstore"

// consumerGroup is the Redis consumer group a projector reads through.
func consumerGroup(prefix, projector string) string { return prefix + "projector." + projector }

// ConsumerGroups lists the projectors' consumer groups, for the relay to
// recreate and wait for when Redis loses its data.
func ConsumerGroups(prefix string, projectors ...Projector) []eventstore.ConsumerGroup {
	groups := make([]eventstore.ConsumerGroup, 0, len(projectors))
	for _, p := range projectors {
		groups = append(groups, eventstore.ConsumerGroup{Name: consumerGroup(prefix, p.Name()), Categories: p.Categories()})
	}
	return groups
}
