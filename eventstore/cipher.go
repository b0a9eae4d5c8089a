package eventstore

import (
	"context"
	"slices"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Cipher seals the personal fields of events before they are stored and
// opens them when they are read (crypto-shredding: see docs/privacy.md).
// Hashes are computed over what is stored, the sealed form, so destroying a
// key never breaks the chain.
type Cipher interface {
	// Seal replaces personal fields of events' Data with ciphertext.
	Seal(ctx context.Context, events []NewEvent) error
	// SealStaged seals like Seal but stores no key: the keys it has to make
	// come back staged (nil when none), for the append to store in the
	// statement that stores the events sealed with them.
	SealStaged(ctx context.Context, events []NewEvent) (StagedKeys, error)
	// Open replaces sealed fields of events' Data with plaintext, or with
	// Erased when the key that sealed them was destroyed.
	Open(ctx context.Context, events []Event) error
	// OpenLocked opens as Open does, reading the keys in tx and keeping them
	// from being destroyed until tx ends: a reader that writes what it
	// opened in tx never writes it after an erasure has scrubbed.
	OpenLocked(ctx context.Context, tx pgx.Tx, events []Event) error
}

// StagedKeys are data keys a cipher made while sealing and has not stored.
// The group commit stores them in the statement that stores the events
// sealed with them: a key commits with its events, never apart from them,
// and a webhook that makes one costs one commit, not two.
type StagedKeys interface {
	// Needs is the staged key event i was sealed with, uuid.Nil if it was
	// sealed with a stored key or not at all. The event may be stored only
	// if that key is.
	Needs(i int) uuid.UUID
	// Insert is a data-modifying statement for a WITH clause, its parameters
	// numbered from $first, that stores the keys and returns the id of each
	// it stored. A subject that got a key meanwhile elsewhere keeps that one:
	// its staged key is not stored, nor the events sealed with it.
	Insert(first int) (sql string, args []any)
	// Stored tells the cipher that these keys committed, so that it seals
	// with them from now on.
	Stored(ids []uuid.UUID)
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

// sealStaged seals events for the group commit, leaving the keys it makes
// to the statement that stores them.
func (s *Store) sealStaged(ctx context.Context, events []NewEvent) (StagedKeys, error) {
	if s.cipher == nil {
		return nil, nil
	}
	return s.cipher.SealStaged(ctx, events)
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
