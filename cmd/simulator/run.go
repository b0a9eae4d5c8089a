package main

import (
	"context"
	"sync"
	"time"
)

// run is one scenario being delivered in the background.
type run struct {
	id      string
	params  runParams
	started time.Time

	mu         sync.Mutex
	done       bool
	finished   time.Time
	deliveries []*delivery
	expected   expectedState
	shopify    expectedState
}

type runView struct {
	ID           string        `json:"id"`
	Scenario     string        `json:"scenario"`
	Shop         string        `json:"shop"`
	Target       string        `json:"target"`
	Seed         int64         `json:"seed"`
	Status       string        `json:"status"`
	StartedAt    time.Time     `json:"started_at"`
	FinishedAt   *time.Time    `json:"finished_at"`
	Total        int           `json:"total"`
	Sent         int           `json:"sent"`
	Acknowledged int           `json:"acknowledged"`
	Failed       int           `json:"failed"`
	Unexpected   int           `json:"unexpected"`
	Dropped      int           `json:"dropped"`
	Deliveries   []delivery    `json:"deliveries,omitempty"`
	Expected     expectedState `json:"expected"`
	// Shopify is every order as Shopify holds it at the end, whatever the
	// webhooks failed to tell: what reconciliation converges to.
	Shopify expectedState `json:"shopify"`
}

// view snapshots the run; withDeliveries=false keeps big runs cheap to poll.
func (r *run) view(withDeliveries bool) runView {
	r.mu.Lock()
	defer r.mu.Unlock()
	v := runView{
		ID: r.id, Scenario: r.params.Scenario, Shop: r.params.Shop, Target: r.params.Target, Seed: r.params.Seed,
		Status: "running", StartedAt: r.started, Total: len(r.deliveries), Expected: r.expected, Shopify: r.shopify,
	}
	if r.done {
		v.Status = "done"
		v.FinishedAt = &r.finished
	}
	for _, d := range r.deliveries {
		if withDeliveries {
			v.Deliveries = append(v.Deliveries, *d)
		}
		if d.Dropped {
			v.Dropped++
		}
		if d.Attempts == 0 {
			continue
		}
		v.Sent++
		if d.Status/100 == 2 {
			v.Acknowledged++
		} else {
			v.Failed++
		}
		if d.Status != d.ExpectedStatus {
			v.Unexpected++
		}
	}
	return v
}

// execute feeds deliveries in plan order to a pool of senders, paced to the
// requested rate.
func (s *simulator) execute(ctx context.Context, r *run) {
	jobs := make(chan *delivery)
	var wg sync.WaitGroup
	for range r.params.Concurrency {
		wg.Go(func() {
			for d := range jobs {
				s.send(ctx, r, d)
			}
		})
	}
	var tick <-chan time.Time
	if r.params.Rate > 0 {
		t := time.NewTicker(time.Duration(float64(time.Second) / r.params.Rate))
		defer t.Stop()
		tick = t.C
	}
feed:
	for i, d := range r.deliveries {
		if tick != nil && i > 0 {
			select {
			case <-tick:
			case <-ctx.Done():
				break feed
			}
		}
		select {
		case jobs <- d:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	r.mu.Lock()
	r.done, r.finished = true, time.Now().UTC()
	r.mu.Unlock()
	v := r.view(false)
	s.log.Info("run finished", "run", r.id, "sent", v.Sent, "acknowledged", v.Acknowledged, "failed", v.Failed, "unexpected", v.Unexpected)
}

func (s *simulator) send(ctx context.Context, r *run, d *delivery) {
	// Shopify knows the order before the webhook leaves, and the receiver
	// may ask the Admin API about it straight away.
	s.record(d)
	if d.Dropped {
		return
	}
	if !s.admin.apps.delivers(d.Shop, d.Topic) {
		r.mu.Lock()
		d.Error = "not sent: the shop is not subscribed to " + d.Topic
		r.mu.Unlock()
		return
	}
	status, attempts, err := s.sender.deliver(ctx, r.params.Target, d)
	r.mu.Lock()
	defer r.mu.Unlock()
	d.Status, d.Attempts = status, attempts
	if err != nil {
		d.Error = err.Error()
	}
}
