package api

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ordermill/ordermill/domain"
)

const emailsProjection = "emails"

// emailRoutes registers the log of emails sent on the shop's behalf.
func (s *server) emailRoutes(g *gin.RouterGroup) {
	g.GET("/emails", s.require(domain.PermReadOrders), s.listEmails)
}

// email is one email and its latest outcome.
type email struct {
	ID            uuid.UUID `json:"id"`
	Kind          string    `json:"kind"`
	To            string    `json:"to"`
	Subject       string    `json:"subject"`
	Status        string    `json:"status"`
	SESMessageID  string    `json:"ses_message_id"`
	Reason        string    `json:"reason"`
	SourceEventID uuid.UUID `json:"source_event_id"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// emailCursor is the last row of a page, ordered by (created_at, id) descending.
type emailCursor struct {
	CreatedAt time.Time `json:"t"`
	ID        uuid.UUID `json:"id"`
}

var (
	emailStatuses = []string{"sent", "failed"}
	emailKinds    = []string{string(domain.EmailWelcome), string(domain.EmailOrderConfirmation)}
)

// listEmails pages through the shop's emails, newest first, filtered by
// status and kind.
func (s *server) listEmails(c *gin.Context) {
	var errs queryErrors
	limit := pageSize(c, &errs)
	var f sqlFilter
	f.add("shop = ?", principalFrom(c).Shop)
	for _, q := range []struct {
		param   string
		allowed []string
	}{{"status", emailStatuses}, {"kind", emailKinds}} {
		v := c.Query(q.param)
		if v == "" {
			continue
		}
		if !slices.Contains(q.allowed, v) {
			errs.add(q.param, "must be one of "+strings.Join(q.allowed, ", "))
			continue
		}
		f.add(q.param+" = ?", v)
	}
	var cur emailCursor
	if decodeCursor(c, &cur, &errs) {
		f.add("(created_at, id) < (?, ?)", cur.CreatedAt, cur.ID)
	}
	if errs.answered(c) {
		return
	}
	if _, ok := s.awaitMinPosition(c, emailsProjection); !ok {
		return
	}
	p, err := newestFirst(c.Request.Context(), s.ReadPool, `SELECT id, kind, to_address, subject, status, ses_message_id,
			reason, source_event_id, created_at, updated_at
		FROM emails_view WHERE `+f.sql()+` ORDER BY created_at DESC, id DESC`, f.args, limit,
		func(row pgx.CollectableRow) (email, error) {
			var e email
			err := row.Scan(&e.ID, &e.Kind, &e.To, &e.Subject, &e.Status, &e.SESMessageID, &e.Reason, &e.SourceEventID,
				&e.CreatedAt, &e.UpdatedAt)
			return e, err
		},
		func(last email) any { return emailCursor{CreatedAt: last.CreatedAt, ID: last.ID} })
	if err != nil {
		s.problemFromError(c, fmt.Errorf("list emails: %w", err))
		return
	}
	c.JSON(http.StatusOK, p)
}
