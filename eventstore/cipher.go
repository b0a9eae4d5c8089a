package eventstore

import (
	"context"
	"slices"
)

// Cipher seals the personal fields of events before they are stored and
// opens them when they are read (crypto-shredding: see docs/privacy.md).
// Hashes are computed over what is stored, the sealed form, so destroying a
// key never breaks the chain.
type Cipher interface {
	// Seal replaces personal fields of events' Data with ciphertext.
	Seal(ctx context.Context, events []NewEvent) error
	// Open replaces sealed fields of events' Data with plaintext, or with
	// Erased when the key that sealed them was destroyed.
	Open(ctx context.Context, events []Event) error
}

// Erased is what a reader sees in place of a personal field whose key was
// destroyed; a raw webhook body reads as these bytes.
const Erased = "[erased]"

// SetCipher makes the store seal on append and open on read. Set it before
// the store is used; without one, data is stored and read as given.
func (s *Store) SetCipher(c Cipher) { s.cipher = c }

// Seal seals events as Append would, for callers that append with AppendTx
// inside their own transaction.
func (s *Store) Seal(ctx context.Context, events []NewEvent) error {
	if s.cipher == nil {
		return nil
	}
	return s.cipher.Seal(ctx, events)
}

// Open opens events read elsewhere than through the store, such as the
// messages the relay published (it publishes events as stored).
func (s *Store) Open(ctx context.Context, events []Event) error {
	if s.cipher == nil || len(events) == 0 {
		return nil
	}
	return s.cipher.Open(ctx, events)
}

// sealAppends returns appends with their events sealed, leaving the
// caller's slices as they were.
func (s *Store) sealAppends(ctx context.Context, appends []StreamAppend) ([]StreamAppend, error) {
	if s.cipher == nil {
		return appends, nil
	}
	out := make([]StreamAppend, len(appends))
	for i, a := range appends {
		a.Events = slices.Clone(a.Events)
		if err := s.cipher.Seal(ctx, a.Events); err != nil {
			return nil, err
		}
		out[i] = a
	}
	return out, nil
}

// Cipher returns the store's cipher, nil when it has none, for readers that
// scan events themselves (projection rebuilds).
func (s *Store) Cipher() Cipher { return s.cipher }
