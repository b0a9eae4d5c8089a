package projections

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
)

// Locations maintains locations_view: each Shopify location's newest name.
type Locations struct{}

// NewLocations returns the locations projector.
func NewLocations() *Locations { return &Locations{} }

// Name implements Projector.
func (*Locations) Name() string { return "locations" }

// Categories implements Projector.
func (*Locations) Categories() []string { return []string{"location"} }

// Tables implements Projector.
func (*Locations) Tables() []string { return []string{"locations_view"} }

// PersonalData implements Projector: a location is a shop's place, not a person's.
func (*Locations) PersonalData() []PersonalData { return nil }

// Apply implements Projector. Each location.named states the whole row, and
// the domain records only newer names, so the highest stream version wins
// whatever the delivery order.
func (*Locations) Apply(ctx context.Context, tx pgx.Tx, e eventstore.Event) error {
	if e.Type != (domain.LocationNamed{}).EventType() {
		return nil
	}
	d, err := eventstore.DecodeEvent(e.Type, e.Data)
	if err != nil {
		return err
	}
	l := d.(domain.LocationNamed)
	_, err = tx.Exec(ctx, `INSERT INTO locations_view (shop, location_id, name, updated_at, version) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (shop, location_id) DO UPDATE SET name = EXCLUDED.name, updated_at = EXCLUDED.updated_at, version = EXCLUDED.version
		WHERE locations_view.version < EXCLUDED.version`, l.Shop, l.LocationID, l.Name, l.UpdatedAt, e.StreamVersion)
	return err
}
