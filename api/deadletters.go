package api

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/ordermill/ordermill/bus"
	"github.com/ordermill/ordermill/domain"
)

// deadLetterRoutes lists events the workers gave up on and re-queues them.
func (s *server) deadLetterRoutes(v1 *gin.RouterGroup) {
	g := v1.Group("/dead-letters", s.require(domain.PermReadWebhooks))
	g.GET("", s.listDeadLetters)
	g.POST("/:id/requeue", s.require(domain.PermWriteOrders), s.requeueDeadLetter)
	g.POST("/requeue", s.require(domain.PermWriteOrders), s.bulkRequeueDeadLetters)
}

// deadLetterCursor is the last id of a page; ids only grow.
type deadLetterCursor struct {
	Before int64 `json:"before"`
}

// explainedDeadLetter is a dead letter with what it means for the merchant.
type explainedDeadLetter struct {
	bus.DeadLetter
	Explanation bus.DeadLetterExplanation `json:"explanation"`
}

// listDeadLetters pages through the shop's dead letters, newest first;
// ?all=true includes re-queued ones.
func (s *server) listDeadLetters(c *gin.Context) {
	var errs queryErrors
	limit := pageSize(c, &errs)
	var cur deadLetterCursor
	decodeCursor(c, &cur, &errs)
	all := c.Query("all") == "true"
	if errs.answered(c) {
		return
	}
	items, err := s.DeadLetters.List(c.Request.Context(), principalFrom(c).Shop, all, cur.Before, limit+1)
	if err != nil {
		s.problemFromError(c, err)
		return
	}
	p := page[explainedDeadLetter]{Items: make([]explainedDeadLetter, 0, len(items))}
	if len(items) > limit {
		items = items[:limit]
		p.NextCursor = encodeCursor(deadLetterCursor{Before: items[limit-1].ID})
	}
	for _, d := range items {
		p.Items = append(p.Items, explainedDeadLetter{DeadLetter: d, Explanation: s.ExplainDeadLetter(d)})
	}
	c.JSON(http.StatusOK, p)
}

func (s *server) requeueDeadLetter(c *gin.Context) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		abortProblem(c, http.StatusNotFound, "no such resource")
		return
	}
	dl, err := s.DeadLetters.Requeue(c.Request.Context(), principalFrom(c).Shop, id)
	if errors.Is(err, bus.ErrDeadLetterNotFound) {
		abortProblem(c, http.StatusNotFound, "no such open dead letter")
		return
	}
	if err != nil {
		s.problemFromError(c, err)
		return
	}
	c.JSON(http.StatusOK, dl)
}
