package projections

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ordermill/ordermill/eventstore"
)

// PersonalData names the columns of one of a projector's tables that hold
// personal data (text columns), and how to find one customer's rows.
type PersonalData struct {
	Table   string
	Columns []string
	// Customer is the SQL condition that picks one customer's rows of a
	// shop: @orders holds the ids of the customer's orders and @placed the
	// ids of their order.placed events.
	Customer string
}

// erasedText is what a scrubbed column holds: what a rebuild from the events
// writes there once the key is gone. Empty fields stay empty.
const erasedText = `CASE WHEN %[1]s = '' THEN '' ELSE '` + eventstore.Erased + `' END`

// cacheHolder is a projector whose rows are also cached outside Postgres.
type cacheHolder interface {
	// holdOff reads, in tx before the scrub, the live rows of pd.Table that
	// where picks, and returns what drops their cached copies once the
	// erasure commits (nil for nothing to do).
	holdOff(ctx context.Context, tx pgx.Tx, pd PersonalData, where string, args pgx.NamedArgs) (func(context.Context) error, error)
}

// Redactor erases personal data from the read models: every column the
// projectors name in PersonalData, in the live tables and in the copies a
// shadow rebuild keeps (CopySchemas).
type Redactor struct {
	pool       *pgxpool.Pool
	projectors []Projector
}

// NewRedactor returns the redactor of projectors' read models in pool.
func NewRedactor(pool *pgxpool.Pool, projectors []Projector) *Redactor {
	return &Redactor{pool: pool, projectors: projectors}
}

// Exclusively runs fn while no shadow rebuild or swap runs (WithoutShadow),
// so that none copies what fn erases.
func (r *Redactor) Exclusively(ctx context.Context, fn func() error) error {
	return WithoutShadow(ctx, r.pool, fn)
}

// EraseShop scrubs the personal data of every row of shop in tx. after runs
// once tx has committed: it drops cached copies of the scrubbed rows.
func (r *Redactor) EraseShop(ctx context.Context, tx pgx.Tx, shop string) (after func(context.Context) error, err error) {
	return r.erase(ctx, tx, false, pgx.NamedArgs{"shop": shop})
}

// EraseCustomer scrubs the personal data of one customer's rows of shop in
// tx: those of the customer's orders and of their order.placed events. after
// is as for EraseShop.
func (r *Redactor) EraseCustomer(ctx context.Context, tx pgx.Tx, shop string, orders, placed []uuid.UUID) (after func(context.Context) error, err error) {
	return r.erase(ctx, tx, true, pgx.NamedArgs{"shop": shop, "orders": orders, "placed": placed})
}

// erase scrubs the shop's rows, or only the customer's, in every copy of
// every table holding personal data.
func (r *Redactor) erase(ctx context.Context, tx pgx.Tx, customer bool, args pgx.NamedArgs) (func(context.Context) error, error) {
	present, err := r.copies(ctx, tx)
	if err != nil {
		return nil, err
	}
	var after []func(context.Context) error
	for _, p := range r.projectors {
		for _, pd := range p.PersonalData() {
			sets := make([]string, len(pd.Columns))
			for i, c := range pd.Columns {
				sets[i] = c + " = " + fmt.Sprintf(erasedText, c)
			}
			picks := `shop = @shop`
			if customer {
				picks += ` AND (` + pd.Customer + `)`
			}
			for _, schema := range present[pd.Table] {
				if h, ok := p.(cacheHolder); ok && schema == "public" {
					fn, err := h.holdOff(ctx, tx, pd, picks, args)
					if err != nil {
						return nil, fmt.Errorf("%s: %w", p.Name(), err)
					}
					if fn != nil {
						after = append(after, fn)
					}
				}
				stmt := `UPDATE ` + pgx.Identifier{schema, pd.Table}.Sanitize() + ` SET ` + strings.Join(sets, ", ") + ` WHERE ` + picks
				if _, err := tx.Exec(ctx, stmt, args); err != nil {
					return nil, fmt.Errorf("%s: scrub %s.%s: %w", p.Name(), schema, pd.Table, err)
				}
			}
		}
	}
	return func(ctx context.Context) error {
		for _, fn := range after {
			if err := fn(ctx); err != nil {
				return err
			}
		}
		return nil
	}, nil
}

// copies returns, for each table holding personal data, the schemas that
// hold a copy of it: public, and those of CopySchemas a rebuild left one in.
func (r *Redactor) copies(ctx context.Context, tx pgx.Tx) (map[string][]string, error) {
	var tables []string
	for _, p := range r.projectors {
		for _, pd := range p.PersonalData() {
			tables = append(tables, pd.Table)
		}
	}
	// public first: the live rows are read for cache hold-offs before any scrub.
	rows, err := tx.Query(ctx, `SELECT c.relname, n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = ANY($1) AND c.relname = ANY($2) AND c.relkind IN ('r', 'p')
		ORDER BY n.nspname <> 'public', n.nspname`, append([]string{"public"}, CopySchemas...), tables)
	if err != nil {
		return nil, err
	}
	present := map[string][]string{}
	var table, schema string
	_, err = pgx.ForEachRow(rows, []any{&table, &schema}, func() error {
		present[table] = append(present[table], schema)
		return nil
	})
	return present, err
}
