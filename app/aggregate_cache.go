package app

import (
	"sync"

	"github.com/ordermill/ordermill/eventstore"
)

// AggregateCache keeps the aggregates of streams a process decides on again
// and again (stock items, which every order touches) as they stood after
// the last event it saw, so that Update reads and applies only the events
// appended since, not a history that grows with every order. A cached
// aggregate is right as far as it goes: events are never changed or
// removed, so another writer's events are simply read as the tail. An
// update takes the aggregate out and puts it back only once its events are
// stored, so a failed one leaves nothing half-applied behind. It holds
// plaintext: use it only for streams that carry no personal data.
type AggregateCache struct {
	mu      sync.Mutex
	max     int
	entries map[string]cachedAggregate
}

// cachedAggregate is an aggregate with its stream's first version events
// applied; position is that of the event at version.
type cachedAggregate struct {
	aggregate any
	version   int64
	position  eventstore.Position
}

// NewAggregateCache returns a cache of up to max streams' aggregates.
func NewAggregateCache(max int) *AggregateCache {
	return &AggregateCache{max: max, entries: map[string]cachedAggregate{}}
}

// take removes stream's aggregate from the cache and returns it.
func (c *AggregateCache) take(stream string) cachedAggregate {
	c.mu.Lock()
	defer c.mu.Unlock()
	a := c.entries[stream]
	delete(c.entries, stream)
	return a
}

// put keeps a for stream unless a later version is kept already; a full
// cache forgets some other stream first.
func (c *AggregateCache) put(stream string, a cachedAggregate) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old, ok := c.entries[stream]
	if ok && old.version >= a.version {
		return
	}
	if !ok && len(c.entries) >= c.max {
		for s := range c.entries {
			delete(c.entries, s)
			break
		}
	}
	c.entries[stream] = a
}

// Cached makes Update keep stream's aggregate in c and read only the events
// after it. load must build the aggregate by applying its history in order
// to a new one (as LoadInventory does): Update applies the events since to
// the cached aggregate instead of calling load. In a batch (Into), the
// aggregates go back to c when the batch commits.
func Cached(c *AggregateCache) Option {
	return func(o *options) { o.cache = c }
}
