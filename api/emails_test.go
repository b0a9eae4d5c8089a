package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/internal/testenv"
	"github.com/ordermill/ordermill/internal/testenv/apitest"
	"github.com/ordermill/ordermill/workers"
)

type emailOut struct {
	ID           string  `json:"id"`
	Kind         string  `json:"kind"`
	To           string  `json:"to"`
	Subject      string  `json:"subject"`
	Status       string  `json:"status"`
	SESMessageID string  `json:"ses_message_id"`
	OrderID      *string `json:"order_id"`
}

type emailPage struct {
	Items      []emailOut `json:"items"`
	NextCursor *string    `json:"next_cursor"`
}

func TestEmailLog(t *testing.T) {
	e := apitest.New(t)
	sim := testenv.StartSimulator(t)
	p := e.Platform
	mailer := workers.NewMailer(workers.MailerConfig{Endpoint: sim.URL, From: "orders@ordermill.test"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- workers.NewRouter(p.WorkersConfig(), workers.NewEmailWorker(p.Store, mailer, p.Log).Handler()).Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("email worker: %v", err)
		}
	})

	const shop = "mail.myshopify.com"
	owner := e.UserToken(t, shop, domain.RoleOwner) // registering sends a welcome email
	auditor := e.UserToken(t, shop, domain.RoleAuditor)
	stranger := e.UserToken(t, "other.myshopify.com", domain.RoleOwner)
	for i := range 3 {
		placeOrder(t, e, owner, sampleOrder("buyer"+string(rune('a'+i))+"@example.test"))
	}

	// Two welcome emails and three confirmations.
	var all emailPage
	deadline := time.Now().Add(30 * time.Second)
	for len(all.Items) < 5 {
		if time.Now().After(deadline) {
			t.Fatalf("emails so far: %+v", all.Items)
		}
		time.Sleep(20 * time.Millisecond)
		apitest.Decode(t, expectStatus(t, e.Do(t, http.MethodGet, "/api/v1/emails?limit=200", auditor, nil), http.StatusOK), &all)
	}
	var msgs struct {
		Messages []struct {
			MessageID string `json:"message_id"`
		} `json:"messages"`
	}
	sim.Do(t, "GET", "/_sim/ses/messages", nil, &msgs)
	sent := map[string]bool{}
	for _, m := range msgs.Messages {
		sent[m.MessageID] = true
	}
	kinds := map[string]int{}
	for _, m := range all.Items {
		kinds[m.Kind]++
		if m.Status != "sent" || !sent[m.SESMessageID] {
			t.Errorf("email %+v is not one SES accepted", m)
		}
	}
	if kinds["welcome"] != 2 || kinds["order_confirmation"] != 3 || all.NextCursor != nil {
		t.Fatalf("kinds %v, next %v", kinds, all.NextCursor)
	}

	// Pages of two, filtered by kind, hold the three confirmations.
	var paged []emailOut
	path := "/api/v1/emails?limit=2&kind=order_confirmation"
	for path != "" {
		var pg emailPage
		apitest.Decode(t, expectStatus(t, e.Do(t, http.MethodGet, path, owner, nil), http.StatusOK), &pg)
		paged = append(paged, pg.Items...)
		path = ""
		if pg.NextCursor != nil {
			path = "/api/v1/emails?limit=2&kind=order_confirmation&cursor=" + *pg.NextCursor
		}
	}
	if len(paged) != 3 {
		t.Fatalf("paged confirmations: %+v", paged)
	}
	orders := map[string]bool{}
	for _, m := range paged {
		if m.Kind != "order_confirmation" || m.Subject == "" {
			t.Errorf("filtered page holds %+v", m)
		}
		// The owner may see customers' addresses; each email links its order.
		if !strings.HasPrefix(m.To, "buyer") || !strings.HasSuffix(m.To, "@example.test") || m.OrderID == nil {
			t.Errorf("owner reads %+v", m)
		} else {
			orders[*m.OrderID] = true
		}
	}
	if len(orders) != 3 {
		t.Errorf("confirmations link orders %v, want 3", orders)
	}
	// An auditor reads them masked.
	for _, m := range all.Items {
		if m.Kind == "order_confirmation" && (m.To != "b•••@example.test" || m.OrderID == nil) {
			t.Errorf("auditor reads %+v", m)
		}
		if m.Kind == "welcome" && m.OrderID != nil {
			t.Errorf("a welcome email links order %s", *m.OrderID)
		}
	}

	var other emailPage
	apitest.Decode(t, expectStatus(t, e.Do(t, http.MethodGet, "/api/v1/emails", stranger, nil), http.StatusOK), &other)
	for _, m := range other.Items {
		if m.Kind != "welcome" {
			t.Errorf("another shop sees %+v", m)
		}
	}
	expectStatus(t, e.Do(t, http.MethodGet, "/api/v1/emails?status=bounced", owner, nil), http.StatusBadRequest).Body.Close()
	expectStatus(t, e.Do(t, http.MethodGet, "/api/v1/emails", "", nil), http.StatusUnauthorized).Body.Close()
}
