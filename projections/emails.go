package projections

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
)

// Emails maintains emails_view: one row per email with its latest outcome.
type Emails struct{ sealedReader }

// NewEmails returns the emails projector.
func NewEmails() *Emails { return &Emails{} }

// Name implements Projector.
func (*Emails) Name() string { return "emails" }

// Categories implements Projector.
func (*Emails) Categories() []string { return []string{"email"} }

// Tables implements Projector.
func (*Emails) Tables() []string { return []string{"emails_view"} }

// PersonalData implements Projector: the recipient of an order confirmation, found by the order.placed event it confirms.
func (*Emails) PersonalData() []PersonalData {
	return []PersonalData{{Table: "emails_view", Columns: []string{"to_address"}, Customer: "source_event_id = ANY(@placed)"}}
}

// Apply implements Projector. A failed email that is re-queued and sent
// moves from failed to sent; created_at keeps the first outcome's time so
// that pages stay stable.
func (p *Emails) Apply(ctx context.Context, tx pgx.Tx, e eventstore.Event) error {
	id, err := streamUUID(e.StreamID)
	if err != nil {
		return err
	}
	opened := []eventstore.Event{e} // Open replaces the slice's element, not e
	if err := p.openLocked(ctx, tx, opened); err != nil {
		return err
	}
	e = opened[0]
	d, err := eventstore.DecodeEvent(e.Type, e.Data)
	if err != nil {
		return err
	}
	const upsert = `INSERT INTO emails_view (id, shop, kind, to_address, subject, status, ses_message_id, reason,
			source_event_id, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
		ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, ses_message_id = EXCLUDED.ses_message_id,
			reason = EXCLUDED.reason, updated_at = EXCLUDED.updated_at`
	switch d := d.(type) {
	case domain.EmailSent:
		_, err = tx.Exec(ctx, upsert, id, e.Tenant, d.Kind, d.To, d.Subject, "sent", d.SESMessageID, "",
			d.SourceEventID, d.SentAt)
	case domain.EmailFailed:
		_, err = tx.Exec(ctx, upsert, id, e.Tenant, d.Kind, d.To, d.Subject, "failed", "", d.Reason,
			d.SourceEventID, d.FailedAt)
	}
	return err
}
