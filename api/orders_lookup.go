package api

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
)

// lookupOrder finds the order that ref names in the caller's shop, for
// people who hold an order's Shopify id (digits) or name (like #1083,
// percent-encoded in a path as %231083) rather than its id. A Shopify id is
// unique per shop and wins; a name may be shared (orders placed through the
// API name themselves), and then the caller must pick by id: 409.
func (s *server) lookupOrder(c *gin.Context, shop, ref string) (uuid.UUID, bool) {
	var shopifyID *int64
	if n, err := strconv.ParseInt(ref, 10, 64); err == nil && n > 0 {
		shopifyID = &n
	}
	rows, err := s.ReadPool.Query(c.Request.Context(), `SELECT id, coalesce(shopify_id = $2, false)
		FROM orders_view WHERE shop = $1 AND (shopify_id = $2 OR name = $3)
		ORDER BY 2 DESC, placed_at DESC LIMIT 3`, shop, shopifyID, ref)
	if err != nil {
		s.problemFromError(c, fmt.Errorf("look up order %q: %w", ref, err))
		return uuid.Nil, false
	}
	defer rows.Close()
	var (
		ids      []uuid.UUID
		byShopID bool
	)
	for rows.Next() {
		var (
			id      uuid.UUID
			shopify bool
		)
		if err := rows.Scan(&id, &shopify); err != nil {
			s.problemFromError(c, err)
			return uuid.Nil, false
		}
		if len(ids) == 0 {
			byShopID = shopify
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		s.problemFromError(c, err)
		return uuid.Nil, false
	}
	switch {
	case len(ids) == 0:
		abortProblem(c, http.StatusNotFound, "no such resource")
		return uuid.Nil, false
	case len(ids) > 1 && !byShopID:
		abortProblem(c, http.StatusConflict, fmt.Sprintf("several orders are named %q: fetch one by its id", ref))
		return uuid.Nil, false
	}
	return ids[0], true
}
