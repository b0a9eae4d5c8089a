package projections

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ordermill/ordermill/internal/testenv"
)

func TestCachedOrderEntry(t *testing.T) {
	want := CachedOrder{Shop: "demo.myshopify.com", Version: 12, Body: []byte(`{"id":"x","note":"a\nb"}`)}
	got, err := DecodeCachedOrder(want.Encode())
	if err != nil || got.Shop != want.Shop || got.Version != want.Version || !bytes.Equal(got.Body, want.Body) || got.Tombstone() {
		t.Fatalf("round trip: %+v %v, want %+v", got, err, want)
	}
	for name, entry := range map[string]string{
		"json envelope": `{"shop":"demo.myshopify.com","version":12,"body":{}}`,
		"no version":    "demo.myshopify.com\n{}",
		"bad version":   "demo.myshopify.com\nx\n{}",
		"empty":         "",
	} {
		if _, err := DecodeCachedOrder([]byte(entry)); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

// A reader that loaded version 1 before the projector committed version 2
// must not put version 1 back after the projector marked the key stale.
func TestOrderCacheFillNeverGoesBack(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	ctx := context.Background()
	key := prefix + "cache:order:x"
	entry := func(v int64) CachedOrder { return CachedOrder{Shop: "s", Version: v, Body: []byte(`{}`)} }
	cached := func() CachedOrder {
		b, err := rdb.Get(ctx, key).Bytes()
		if err != nil {
			t.Fatal(err)
		}
		e, err := DecodeCachedOrder(b)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	for _, step := range []struct {
		what    string
		do      func() error
		version int64
		stone   bool
	}{
		{"fill v1", func() error { return FillOrderCache(ctx, rdb, key, entry(1), time.Minute) }, 1, false},
		{"commit v2", func() error { return staleOrderCache(ctx, rdb, key, 2) }, 2, true},
		{"late fill of v1", func() error { return FillOrderCache(ctx, rdb, key, entry(1), time.Minute) }, 2, true},
		{"fill v2", func() error { return FillOrderCache(ctx, rdb, key, entry(2), time.Minute) }, 2, false},
		{"redelivered commit v1", func() error { return staleOrderCache(ctx, rdb, key, 1) }, 2, false},
		{"commit v3", func() error { return staleOrderCache(ctx, rdb, key, 3) }, 3, true},
	} {
		if err := step.do(); err != nil {
			t.Fatalf("%s: %v", step.what, err)
		}
		if got := cached(); got.Version != step.version || got.Tombstone() != step.stone {
			t.Fatalf("after %s: %+v, want version %d tombstone %v", step.what, got, step.version, step.stone)
		}
	}
}

// An erasure scrubs a row without changing its version: a reader that
// loaded the row before the scrub must not put it back after the erasure
// dropped the cached order, while the order's next version fills as usual.
func TestHoldOffKeepsTheUnscrubbedRowOut(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	ctx := context.Background()
	id := uuid.New()
	key := OrderCacheKey(prefix, id)
	before := CachedOrder{Shop: "s", Version: 4, Body: []byte(`{"email":"someone@example.test"}`)}
	if err := FillOrderCache(ctx, rdb, key, before, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := holdOffOrderCache(ctx, rdb, prefix, id, 4); err != nil {
		t.Fatal(err)
	}
	if err := FillOrderCache(ctx, rdb, key, before, time.Minute); err != nil {
		t.Fatal(err)
	}
	b, err := rdb.Get(ctx, key).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if e, err := DecodeCachedOrder(b); err != nil || !e.Tombstone() {
		t.Fatalf("after the hold-off a late fill of the unscrubbed row landed: %q (%v)", b, err)
	}
	next := CachedOrder{Shop: "s", Version: 5, Body: []byte(`{"email":"[erased]"}`)}
	if err := FillOrderCache(ctx, rdb, key, next, time.Minute); err != nil {
		t.Fatal(err)
	}
	if b, _ := rdb.Get(ctx, key).Bytes(); !bytes.Equal(b, next.Encode()) {
		t.Fatalf("the next version did not fill: %q", b)
	}
}
