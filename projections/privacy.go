package projections

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/ordermill/ordermill/eventstore"
)

// sealedReader opens the sealed personal fields of the events a projector
// reads, for the read models that show them (orders, emails). Without a
// cipher, events are read as stored.
type sealedReader struct {
	cipher eventstore.Cipher
}

// open opens events for a rebuild's fold, which runs outside a transaction
// and under the lock an erasure waits for (WithoutShadow).
func (s *sealedReader) open(ctx context.Context, events []eventstore.Event) error {
	if s.cipher == nil || len(events) == 0 {
		return nil
	}
	return s.cipher.Open(ctx, events)
}

// openLocked opens events for what tx writes from them, keeping their keys
// from being destroyed until tx ends (eventstore.Cipher.OpenLocked).
func (s *sealedReader) openLocked(ctx context.Context, tx pgx.Tx, events []eventstore.Event) error {
	if s.cipher == nil || len(events) == 0 {
		return nil
	}
	return s.cipher.OpenLocked(ctx, tx, events)
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
