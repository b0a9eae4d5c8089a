package api

import (
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// TestPlaceholderHashCost: an unknown account's sign-in compares against a
// hash of the configured cost, so it costs what a known account's does.
// Before, the placeholder was hashed at bcrypt's default cost (10) whatever
// the configuration: at cost 12, unknown emails answered in a quarter of the
// time. The cost is read from the hash, not timed.
func TestPlaceholderHashCost(t *testing.T) {
	for _, c := range []struct{ configured, want int }{
		{0, bcrypt.DefaultCost}, {bcrypt.MinCost, bcrypt.MinCost}, {12, 12},
	} {
		s := newServer(Deps{BcryptCost: c.configured})
		got, err := bcrypt.Cost(s.placeholderHash)
		if err != nil || got != c.want {
			t.Errorf("configured cost %d: placeholder cost %d (%v), want %d", c.configured, got, err, c.want)
		}
	}
}
