package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ordermill/ordermill/domain"
)

// backfillRoutes registers the install backfill's progress.
func (s *server) backfillRoutes(v1 *gin.RouterGroup) {
	v1.GET("/shop/backfill", s.require(domain.PermReadOrders), s.getBackfill)
}

// backfill is how far the caller's shop's install backfill (the last 60
// days of orders read from Shopify) has come.
type backfill struct {
	// Status is not_started, pending (waiting for its run), running, done,
	// or failed (its last run failed; the next one starts over).
	Status      string     `json:"status"`
	OrdersRead  int64      `json:"orders_read"`
	OrdersTotal *int64     `json:"orders_total"` // Shopify's count when the run started
	TotalExact  bool       `json:"total_exact"`
	Pages       int        `json:"pages"`
	StartedAt   *time.Time `json:"started_at"`
	FinishedAt  *time.Time `json:"finished_at"`
	LastError   *string    `json:"last_error"`
}

func (s *server) getBackfill(c *gin.Context) {
	b := backfill{Status: "not_started", TotalExact: true}
	if s.Backfill != nil {
		p, found, err := s.Backfill.Progress(c.Request.Context(), principalFrom(c).Shop)
		if err != nil {
			s.problemFromError(c, err)
			return
		}
		if found && p.BackfillStartedAt != nil {
			b = backfill{OrdersRead: p.BackfillOrdersRead, OrdersTotal: p.BackfillOrdersTotal, TotalExact: p.BackfillTotalExact,
				Pages: p.BackfillPages, StartedAt: p.BackfillStartedAt, FinishedAt: p.BackfillDoneAt, LastError: p.LastError}
			switch {
			case p.BackfillDoneAt != nil:
				b.Status, b.LastError = "done", nil
			case p.Running:
				b.Status = "running"
			case p.LastError != nil:
				b.Status = "failed"
			default:
				b.Status = "pending"
			}
		}
	}
	c.JSON(http.StatusOK, b)
}
