package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/internal/telemetry"
)

func (s *server) statusRoutes(v1 *gin.RouterGroup) {
	v1.GET("/status/lag", s.require(domain.PermOperations), s.lag)
}

// lag shows the relay's and each projector's distance from the head of the
// log, and the read replica's from the primary, for the dashboard. It is about the platform, not any one shop, so it
// carries no shop's data; open dead letters are left to their own page.
func (s *server) lag(c *gin.Context) {
	lags, err := telemetry.ReadLag(c.Request.Context(), s.Store.Pool())
	if err != nil {
		s.problemFromError(c, err)
		return
	}
	items := make([]telemetry.Lag, 0, len(lags)+1)
	for _, l := range lags {
		if l.Kind != "dead_letters" {
			items = append(items, l)
		}
	}
	// Reads come from the replica: its lag adds to every projector's.
	if s.ReadPool != s.Store.Pool() {
		replica, err := telemetry.ReadReplicaLag(c.Request.Context(), s.Store.Pool(), s.ReadPool)
		if err != nil {
			s.problemFromError(c, err)
			return
		}
		items = append(items, replica)
	}
	c.JSON(http.StatusOK, gin.H{"items": items})
}
