package eventstore

import "testing"

// A batch starts when none is being written, taking at most a full batch;
// while one is, only full batches start, up to groupMaxInFlight.
func TestGroupBatchDue(t *testing.T) {
	g := &appendGroups{pending: make([]groupItem, 2*groupMaxBatch+3)}
	if b := g.due(); len(b) != groupMaxBatch || g.inFlight != 1 || len(g.pending) != groupMaxBatch+3 {
		t.Fatalf("idle: took %d, %d in flight, %d left", len(b), g.inFlight, len(g.pending))
	}
	if b := g.due(); len(b) != groupMaxBatch || g.inFlight != 2 || len(g.pending) != 3 {
		t.Fatalf("a full batch while one is written: took %d, %d in flight, %d left", len(b), g.inFlight, len(g.pending))
	}
	if b := g.due(); b != nil {
		t.Fatalf("a partial batch while others are written: took %d", len(b))
	}
	g.inFlight = 0
	if b := g.due(); len(b) != 3 || len(g.pending) != 0 {
		t.Fatalf("idle again: took %d, %d left", len(b), len(g.pending))
	}
	g.pending, g.inFlight = make([]groupItem, groupMaxBatch), groupMaxInFlight
	if b := g.due(); b != nil {
		t.Fatalf("a full batch with %d in flight: took %d", groupMaxInFlight, len(b))
	}
	if b := (&appendGroups{}).due(); b != nil {
		t.Fatalf("nothing pending: took %d", len(b))
	}
}
