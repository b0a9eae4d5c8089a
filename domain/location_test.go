package domain

import (
	"testing"
	"time"
)

// A location takes the name of Shopify's newest statement, whatever order
// the statements arrive in; repeating the known name changes nothing.
func TestLocationName(t *testing.T) {
	l, err := NewLocation(demoShop, 65094860801)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2024, 1, 2, 14, 0, 0, 0, time.UTC)
	name := func(n string, at time.Time) int {
		t.Helper()
		evs, err := l.Name(n, at)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			l.Apply(e)
		}
		return len(evs)
	}
	if n := name("Warehouse", t0); n != 1 || l.name != "Warehouse" {
		t.Fatalf("first name: %d events, name %q", n, l.name)
	}
	if n := name("Old shop", t0.Add(-time.Hour)); n != 0 || l.name != "Warehouse" {
		t.Fatalf("an older name: %d events, name %q", n, l.name)
	}
	if n := name(" Warehouse ", t0.Add(time.Hour)); n != 0 {
		t.Fatalf("the same name again: %d events", n)
	}
	if n := name("Main warehouse", t0.Add(2*time.Hour)); n != 1 || l.name != "Main warehouse" || l.Version() != 2 {
		t.Fatalf("a rename: %d events, name %q, version %d", n, l.name, l.Version())
	}
	if _, err := l.Name("", t0.Add(3*time.Hour)); err == nil {
		t.Fatal("an empty name is accepted")
	}
	if _, err := NewLocation(demoShop, 0); err == nil {
		t.Fatal("a location without id is accepted")
	}
}
