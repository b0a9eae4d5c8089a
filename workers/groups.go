package workers

import "github.com/ordermill/ordermill/eventstore"

// ConsumerGroups lists the handlers' consumer groups on relayed events, for
// the relay to recreate and wait for when Redis loses its data.
func ConsumerGroups(prefix string, handlers ...Handler) []eventstore.ConsumerGroup {
	groups := make([]eventstore.ConsumerGroup, 0, len(handlers))
	for _, h := range handlers {
		groups = append(groups, eventstore.ConsumerGroup{Name: consumerGroup(prefix, h.Name), Categories: h.Categories,
			Others: []string{RequeueTopic(prefix, h.Name)}})
	}
	return groups
}
