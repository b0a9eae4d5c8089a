package api

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// Check is one readiness dependency: nil means healthy.
type Check struct {
	Name string
	Run  func(ctx context.Context) error
}

func healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// readyz runs every check with a short timeout; any failure answers 503 so a
// load balancer stops sending traffic while the dependency is down.
func readyz(checks []Check) gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
		defer cancel()
		status := http.StatusOK
		results := gin.H{}
		for _, check := range checks {
			if err := check.Run(ctx); err != nil {
				status = http.StatusServiceUnavailable
				results[check.Name] = err.Error()
			} else {
				results[check.Name] = "ok"
			}
		}
		state := "ready"
		if status != http.StatusOK {
			state = "not ready"
		}
		c.JSON(status, gin.H{"status": state, "checks": results})
	}
}
