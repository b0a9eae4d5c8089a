package audit

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ordermill/ordermill/domain"
)

// FindOrder finds the order ref names: its id, its Shopify id (digits) or
// its name (#1118), the way auditors hold them. Names and Shopify ids are
// looked up in the order.placed events themselves, not in a read model, so
// the answer rests on the event store alone; shop narrows the search when
// the same number exists in several shops.
func (s *Log) FindOrder(ctx context.Context, ref, shop string) (uuid.UUID, error) {
	if id, err := uuid.Parse(ref); err == nil {
		return id, nil
	}
	shopifyID := ""
	if n, err := strconv.ParseInt(ref, 10, 64); err == nil && n > 0 {
		shopifyID = ref
	}
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT stream_id, tenant_id,
			coalesce(data->>'shopify_id' = $2 AND $2 <> '', false) AS by_shopify_id
		FROM events
		WHERE event_type = $1 AND (data->>'name' = $3 OR ($2 <> '' AND data->>'shopify_id' = $2))
		  AND ($4 = '' OR tenant_id = $4)
		ORDER BY by_shopify_id DESC, tenant_id, stream_id LIMIT 20`,
		domain.OrderPlaced{}.EventType(), shopifyID, ref, shop)
	if err != nil {
		return uuid.Nil, err
	}
	type match struct {
		stream, shop string
		byShopifyID  bool
	}
	matches, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (match, error) {
		var m match
		return m, r.Scan(&m.stream, &m.shop, &m.byShopifyID)
	})
	if err != nil {
		return uuid.Nil, err
	}
	// A Shopify id is unique per shop; a name may repeat.
	if len(matches) > 1 && matches[0].byShopifyID && !matches[1].byShopifyID {
		matches = matches[:1]
	}
	switch len(matches) {
	case 0:
		where := ""
		if shop != "" {
			where = " in " + shop
		}
		return uuid.Nil, fmt.Errorf("no order with id, Shopify id or name %q%s", ref, where)
	case 1:
		return uuid.Parse(strings.TrimPrefix(matches[0].stream, "order-"))
	}
	var names []string
	for _, m := range matches {
		names = append(names, strings.TrimPrefix(m.stream, "order-")+" ("+m.shop+")")
	}
	return uuid.Nil, fmt.Errorf("%d orders match %q: %s; pass the id, or --shop", len(matches), ref, strings.Join(names, ", "))
}

// StreamOf is the stream of the event with id; eventType, when not empty,

// cousin pgx.ErrNoRows, wrapped.
func (s *Log) StreamOf(ctx context.Context, id uuid.UUID, eventType string) (string, error) {
	var stream string
	err := s.pool.QueryRow(ctx, `SELECT stream_id FROM events WHERE event_id = $1 AND ($2 = '' OR event_type = $2)`,
		id, eventType).Scan(&stream)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("event %s: %w", id, ErrNoEvent)
	}
	return stream, err
}

// ErrNoEvent means no stored event has the id asked for.
var ErrNoEvent = errors.New("no such event")

// CountEvents counts the stored events of the given categories (all when
// none are given), for a progress report.
func (s *Log) CountEvents(ctx context.Context, categories ...string) (int64, error) {
	likes := make([]string, len(categories))
	for i, c := range categories {
		likes[i] = c + "-%"
	}
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE cardinality($1::text[]) = 0 OR stream_id LIKE ANY($1)`,
		likes).Scan(&n)
	return n, err
}
