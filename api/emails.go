package api

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

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
	// OrderID is the order whose placement sent the email (null for others).
	OrderID   *uuid.UUID `json:"order_id"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
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
	clear := principalFrom(c).Role.Can(domain.PermReadCustomers)
	// The order is the stream of the event that caused the email.
	p, err := newestFirst(c.Request.Context(), s.ReadPool, `SELECT m.id, m.kind, m.to_address, m.subject, m.status,
			m.ses_message_id, m.reason, m.source_event_id,
			CASE WHEN ev.stream_id LIKE 'order-%' THEN substr(ev.stream_id, 7)::uuid END, m.created_at, m.updated_at
		FROM (SELECT * FROM emails_view WHERE `+f.sql()+` ORDER BY created_at DESC, id DESC LIMIT `+
		fmt.Sprint(limit+1)+`) m
		LEFT JOIN events ev ON ev.event_id = m.source_event_id
		ORDER BY m.created_at DESC, m.id DESC`, f.args, limit,
		func(row pgx.CollectableRow) (email, error) {
			var e email
			err := row.Scan(&e.ID, &e.Kind, &e.To, &e.Subject, &e.Status, &e.SESMessageID, &e.Reason, &e.SourceEventID,
				&e.OrderID, &e.CreatedAt, &e.UpdatedAt)
			if !clear {
				e.To = maskEmail(e.To)
			}
			return e, err
		},
		func(last email) any { return emailCursor{CreatedAt: last.CreatedAt, ID: last.ID} })
	if err != nil {
		s.problemFromError(c, fmt.Errorf("list emails: %w", err))
		return
	}
	c.JSON(http.StatusOK, p)
}

// maskEmail keeps an address recognisable without disclosing it:
// jane.doe@example.com → j•••@example.com. An erased address stays empty.
func maskEmail(addr string) string {
	local, domainPart, ok := strings.Cut(addr, "@")
	if addr == "" {
		return ""
	}
	if !ok || local == "" {
		return "•••"
	}
	_, size := utf8.DecodeRuneInString(local)
	return local[:size] + "•••@" + domainPart
}
