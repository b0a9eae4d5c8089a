package app

import (
	"slices"
	"sync"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
)

// StreamCache keeps the decoded histories of streams a process updates
// again and again (stock items, which every order touches), so that Update
// reads and decodes only the events appended since, not a history that
// grows with every order. A cached history is always right as far as it
// goes: events are never changed or removed, so a stale entry only means a
// longer tail to read. It holds no personal data's plaintext only if its
// streams carry none: use it for such streams.
type StreamCache struct {
	mu      sync.Mutex
	max     int
	streams map[string]cachedStream
}

type cachedStream struct {
	history  []domain.Event
	position eventstore.Position // of the history's last event
}

// NewStreamCache returns a cache of up to max streams' histories.
func NewStreamCache(max int) *StreamCache {
	return &StreamCache{max: max, streams: map[string]cachedStream{}}
}

func (c *StreamCache) get(stream string) cachedStream {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.streams[stream]
}

// put keeps history if it is longer than what is kept for stream; a full
// cache forgets some other stream first.
func (c *StreamCache) put(stream string, history []domain.Event, position eventstore.Position) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.streams[stream]; ok && len(old.history) >= len(history) {
		return
	}
	if _, ok := c.streams[stream]; !ok && len(c.streams) >= c.max {
		for s := range c.streams {
			delete(c.streams, s)
			break
		}
	}
	// Clipped, so that a caller appending to a history it was given never
	// writes into the cached one.
	c.streams[stream] = cachedStream{slices.Clip(history), position}
}

// Cached makes Update read stream through c: only the events after those
// c holds, and c then holds the history Update saw and appended. It has no
// effect in a batch (Into), which reads its streams itself.
func Cached(c *StreamCache) Option {
	return func(o *options) { o.cache = c }
}
