package projections

import (
	"context"

	"github.com/ordermill/ordermill/eventstore"
)

// sealedReader opens the sealed personal fields of the events a projector
// reads, for the read models that show them (orders, emails). Without a
// cipher, events are read as stored.
type sealedReader struct {
	cipher eventstore.Cipher
}

func (s *sealedReader) open(ctx context.Context, events []eventstore.Event) error {
	if s.cipher == nil || len(events) == 0 {
		return nil
	}
	return s.cipher.Open(ctx, events)
}

func (s *sealedReader) setCipher(c eventstore.Cipher) { s.cipher = c }

// WithCipher gives every projector in ps that keeps personal data the
// cipher that opens it, and returns ps.
func WithCipher(c eventstore.Cipher, ps []Projector) []Projector {
	for _, p := range ps {
		if r, ok := p.(interface{ setCipher(eventstore.Cipher) }); ok {
			r.setCipher(c)
		}
	}
	return ps
}
