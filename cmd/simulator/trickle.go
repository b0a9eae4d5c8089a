package main

import (
	"context"
	"time"
)

type trickleConfig struct {
	target      string
	shop        string
	secret      string
	accessToken string
	interval    time.Duration
}

// trickle gives the demo shop a life: every interval a new order, and for
// earlier orders their later payments, fulfilments, cancellations and
// refunds, a few intervals apart and stamped with the wall clock.
func (s *simulator) trickle(ctx context.Context, cfg trickleConfig) {
	g := newGenerator(time.Now().UnixNano(), cfg.shop)
	type pending struct {
		life *orderLife
		due  int
	}
	var active []pending
	for _, a := range g.catalogUpdates(time.Now()) {
		s.trickleSend(ctx, cfg, g.delivery(a, a.msgs[0], cfg.shop, cfg.secret))
	}
	t := time.NewTicker(cfg.interval)
	defer t.Stop()
	for tick := 0; ; tick++ {
		now := time.Now()
		fresh := g.newLifecycleOrder()
		actions := []action{g.advance(fresh, now)}
		keep := active[:0]
		for _, p := range active {
			if p.due <= tick {
				actions = append(actions, g.advance(p.life, now))
				p.due = tick + 1 + g.rng.IntN(5)
			}
			if !p.life.done() {
				keep = append(keep, p)
			}
		}
		active = keep
		if !fresh.done() {
			active = append(active, pending{fresh, tick + 1 + g.rng.IntN(5)})
		}
		if tick%5 == 4 {
			actions = append(actions, g.inventoryUpdate(now))
		}
		for _, a := range actions {
			for _, m := range a.msgs {
				s.trickleSend(ctx, cfg, g.delivery(a, m, cfg.shop, cfg.secret))
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *simulator) trickleSend(ctx context.Context, cfg trickleConfig, d *delivery) {
	s.record(d)
	if !s.admin.apps.delivers(d.Shop, d.Topic) || s.dropWebhook() {
		return
	}
	status, attempts, err := s.sender.deliver(ctx, cfg.target, d)
	if err != nil || status/100 != 2 {
		s.log.Warn("trickle delivery failed", "topic", d.Topic, "webhook_id", d.WebhookID, "status", status, "attempts", attempts, "err", err)
		return
	}
	s.log.Info("trickle delivery", "topic", d.Topic, "order_id", d.OrderID, "webhook_id", d.WebhookID, "status", status)
}
