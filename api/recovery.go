package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5"

	"github.com/ordermill/ordermill/app"
	"github.com/ordermill/ordermill/bus"
)

// Bulk recovery: re-queue dead letters or redeliver failed webhooks selected
// by a filter. A dry run answers with what each would do and changes nothing,
// so a merchant sees the effect before anything runs.

// failedAtRange is the time window of a bulk request, [since, until).
type failedAtRange struct {
	Since *time.Time `json:"since"`
	Until *time.Time `json:"until"`
}

func (r failedAtRange) bounds() (since, until time.Time) {
	if r.Since != nil {
		since = *r.Since
	}
	if r.Until != nil {
		until = *r.Until
	}
	return since, until
}

func (r failedAtRange) invalid() []FieldError {
	if r.Since != nil && r.Until != nil && !r.Until.After(*r.Since) {
		return []FieldError{{Field: "until", Message: "must be after since"}}
	}
	return nil
}

type bulkRequeueRequest struct {
	Handler       string `json:"handler"`
	EventType     string `json:"event_type"`
	ErrorContains string `json:"error_contains"`
	failedAtRange
	DryRun bool `json:"dry_run"`
}

// bulkRequeueDeadLetters re-queues the open dead letters a filter selects.
func (s *server) bulkRequeueDeadLetters(c *gin.Context) {
	var req bulkRequeueRequest
	if !bindJSON(c, &req) {
		return
	}
	if errs := req.invalid(); errs != nil {
		abortProblem(c, http.StatusUnprocessableEntity, "invalid filter", errs...)
		return
	}
	since, until := req.bounds()
	r, err := s.DeadLetters.RequeueMatching(c.Request.Context(), principalFrom(c).Shop, bus.DeadLetterFilter{
		Handler: req.Handler, EventType: req.EventType, ErrorContains: req.ErrorContains, Since: since, Until: until,
	}, req.DryRun, s.ExplainDeadLetter)
	if err != nil {
		s.problemFromError(c, err)
		return
	}
	c.JSON(http.StatusOK, r)
}

type bulkRedeliverRequest struct {
	Topic         string `json:"topic"`
	ErrorContains string `json:"error_contains"`
	failedAtRange
	DryRun bool `json:"dry_run"`
}

// redeliveryOutcome is what redelivering one failed webhook did, or in a dry
// run would do: the outcome and, for a dry run, the events it would append.
type redeliveryOutcome struct {
	Webhook webhookSummary     `json:"webhook"`
	Outcome app.WebhookOutcome `json:"outcome"`
	Changes []plannedAppend    `json:"changes"`
	// Result is would_redeliver (dry run), redelivered, or failed (Error says why).
	Result string `json:"result"`
	Error  string `json:"error,omitempty"`
}

// plannedAppend is one stream a redelivery would write to, and what.
type plannedAppend struct {
	Stream string   `json:"stream"`
	Events []string `json:"events"`
}

type bulkRedelivery struct {
	DryRun      bool                `json:"dry_run"`
	Matched     int64               `json:"matched"`
	Items       []redeliveryOutcome `json:"items"`
	Redelivered int                 `json:"redelivered"`
	Failed      int                 `json:"failed"`
}

// bulkRedeliverWebhooks processes the failed webhooks a filter selects again
// (received in [since, until), by topic and error text), at most
// bus.MaxBulkRequeue of them, oldest first.
func (s *server) bulkRedeliverWebhooks(c *gin.Context) {
	var req bulkRedeliverRequest
	if !bindJSON(c, &req) {
		return
	}
	if errs := req.invalid(); errs != nil {
		abortProblem(c, http.StatusUnprocessableEntity, "invalid filter", errs...)
		return
	}
	ctx := c.Request.Context()
	var f sqlFilter
	f.add("shop = ?", principalFrom(c).Shop)
	f.add("status = ?", app.WebhookStatusFailed)
	if req.Topic != "" {
		f.add("topic = ?", req.Topic)
	}
	if req.ErrorContains != "" {
		f.add("strpos(lower(error), lower(?)) > 0", req.ErrorContains)
	}
	if req.Since != nil {
		f.add("received_at >= ?", *req.Since)
	}
	if req.Until != nil {
		f.add("received_at < ?", *req.Until)
	}
	r := bulkRedelivery{DryRun: req.DryRun, Items: []redeliveryOutcome{}}
	if err := s.Store.Pool().QueryRow(ctx, `SELECT count(*) FROM webhooks_view WHERE `+f.sql(), f.args...).Scan(&r.Matched); err != nil {
		s.problemFromError(c, err)
		return
	}
	rows, err := s.Store.Pool().Query(ctx, `SELECT `+webhookColumns+` FROM webhooks_view WHERE `+f.sql()+`
		ORDER BY received_at, id LIMIT `+strconv.Itoa(bus.MaxBulkRequeue), f.args...)
	if err != nil {
		s.problemFromError(c, err)
		return
	}
	hooks, err := pgx.CollectRows(rows, scanWebhook)
	if err != nil {
		s.problemFromError(c, err)
		return
	}
	for _, w := range hooks {
		o := redeliveryOutcome{Webhook: w, Changes: []plannedAppend{}}
		if req.DryRun {
			outcome, appends, err := s.Webhooks.DryRun(ctx, w.streamID)
			o.Outcome, o.Result = outcome, "would_redeliver"
			if err != nil {
				o.Result, o.Error = "failed", err.Error()
			}
			for _, a := range appends {
				p := plannedAppend{Stream: a.Stream, Events: make([]string, len(a.Events))}
				for i, e := range a.Events {
					p.Events[i] = e.Type
				}
				o.Changes = append(o.Changes, p)
			}
		} else {
			outcome, err := s.Webhooks.Redeliver(ctx, w.streamID)
			o.Outcome, o.Result = outcome, "redelivered"
			if err != nil {
				o.Result, o.Error = "failed", err.Error()
				r.Failed++
			} else {
				r.Redelivered++
			}
		}
		r.Items = append(r.Items, o)
	}
	c.JSON(http.StatusOK, r)
}
