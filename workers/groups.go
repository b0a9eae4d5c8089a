package workers

import (
	"github.com/ordermill/ordermill/bus"
	"github.com/ordermill/ordermill/relay"
)

// ConsumerGroups lists the handlers' consumer groups on relayed events, for
// the relay to recreate and wait for when Redis loses its data.
func ConsumerGroups(prefix string, handlers ...Handler) []relay.ConsumerGroup {
	return bus.ConsumerGroups(prefix, busHandlers(prefix, 1, handlers)...)
}
