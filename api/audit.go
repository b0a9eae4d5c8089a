package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/ordermill/ordermill/audit"
	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/projections"
)

// auditRoutes are the auditor's pages, read-only and about the caller's shop:
// what ordermill-replay does, over HTTP. Verifying the whole log and
// rebuilding read models span every shop, so they are the operator's
// (operatorRoutes).
func (s *server) auditRoutes(g *gin.RouterGroup) {
	audit := s.require(domain.PermAudit)
	g.GET("/audit/verify", audit, s.verifyShop)
	g.POST("/audit/verify-runs", audit, s.runShopVerify)
	g.GET("/audit/status", audit, s.auditStatus)
	g.GET("/audit/webhooks/:shop/:webhook_id", audit, s.traceWebhook)
	g.GET("/audit/orders/:id/state", audit, s.orderStateAt)
	g.GET("/audit/export", audit, s.exportEvents)
}

// headerWebhookSecret carries a webhook secret the auditor supplies for
// re-checking a signature; a header keeps it out of URLs and access logs.
const headerWebhookSecret = "X-Audit-Webhook-Secret"

// shopVerify is a verify of one shop's streams. Its counts and findings are
// that shop's alone; the checkpoint is named, not its platform-wide counts.
type shopVerify struct {
	Shop       string                `json:"shop"`
	OK         bool                  `json:"ok"`
	StartedAt  time.Time             `json:"started_at"`
	FinishedAt time.Time             `json:"finished_at"`
	Events     int64                 `json:"events"`
	Streams    int64                 `json:"streams"`
	Checkpoint *shopVerifyCheckpoint `json:"checkpoint"`
	Findings   []audit.Finding       `json:"findings"`
}

type shopVerifyCheckpoint struct {
	ID       int64     `json:"id"`
	SignedAt time.Time `json:"signed_at"`
	KeyID    string    `json:"key_id"`
	// TrustedFirstKey: the signer is trusted for having signed first.
	TrustedFirstKey bool `json:"trusted_first_key"`
}

// verifyShop walks the caller's shop's hash chains now and checks them
// against the newest trusted signed checkpoint.
func (s *server) verifyShop(c *gin.Context) {
	shop := principalFrom(c).Shop
	r, err := audit.New(s.Store).Audit(c.Request.Context(), audit.AuditOptions{Shop: shop})
	if err != nil {
		s.problemFromError(c, err)
		return
	}
	c.JSON(http.StatusOK, shopVerifyOf(shop, r))
}

func shopVerifyOf(shop string, r audit.AuditReport) shopVerify {
	v := shopVerify{Shop: shop, OK: r.OK(), StartedAt: r.StartedAt, FinishedAt: r.FinishedAt,
		Events: r.Events, Streams: r.Streams, Findings: r.Findings}
	if cp := r.Checkpoint; cp != nil {
		v.Checkpoint = &shopVerifyCheckpoint{ID: cp.ID, SignedAt: cp.SignedAt, KeyID: audit.KeyID(cp.PublicKey),
			TrustedFirstKey: r.TrustedFirstKey}
	}
	return v
}

// shopVerifyRun is a recorded verify run of the caller's shop: its progress
// while it runs, then its verdict.
type shopVerifyRun struct {
	ID            int64       `json:"id"`
	State         string      `json:"state"` // running, finished, failed or interrupted
	StartedAt     time.Time   `json:"started_at"`
	FinishedAt    *time.Time  `json:"finished_at"`
	EventsChecked int64       `json:"events_checked"`
	EventsTotal   int64       `json:"events_total"`
	StreamsTotal  int64       `json:"streams_total"`
	Result        *shopVerify `json:"result"`
	Error         string      `json:"error"`
}

func shopVerifyRunOf(r audit.ShopRun) shopVerifyRun {
	v := shopVerifyRun{ID: r.ID, State: "running", StartedAt: r.StartedAt, FinishedAt: r.FinishedAt,
		EventsChecked: r.EventsChecked, EventsTotal: r.EventsTotal, StreamsTotal: r.StreamsTotal}
	switch {
	case r.Report != nil:
		res := shopVerifyOf(r.Shop, *r.Report)
		v.State, v.Result = "finished", &res
	case r.FinishedAt != nil:
		// The cause stays in the server's log; it may name other shops' data.
		v.State, v.Error = "failed", "the run stopped before it finished; start another"
	case r.Interrupted:
		v.State = "interrupted"
	}
	return v
}

// runShopVerify verifies the caller's shop like verifyShop, recording the
// run's progress, which GET /audit/status shows while it runs. The walk
// goes on if the caller leaves, so its verdict is still recorded.
func (s *server) runShopVerify(c *gin.Context) {
	untilDone(c)
	ctx := context.WithoutCancel(c.Request.Context())
	log := audit.New(s.Store)
	run, err := log.StartShopRun(ctx, principalFrom(c).Shop)
	if errors.Is(err, audit.ErrShopRunInProgress) {
		abortProblem(c, http.StatusConflict, "a verify run of this shop is in progress; GET /api/v1/audit/status shows how far it is")
		return
	}
	if err != nil {
		s.problemFromError(c, err)
		return
	}
	run, err = log.RunShop(ctx, run, audit.AuditOptions{})
	if err != nil {
		s.problemFromError(c, err)
		return
	}
	c.JSON(http.StatusOK, shopVerifyRunOf(run))
}

// auditStatus is what the scheduled audits last did. A recorded run spans
// every shop, so only its outcome and time are told, not its counts or
// findings (they name other shops' streams).
type auditStatus struct {
	// ScheduleSeconds is ORDERMILL_AUDIT_INTERVAL; null when switched off.
	ScheduleSeconds *int64                 `json:"schedule_seconds"`
	LastRun         *auditStatusRun        `json:"last_run"`
	Checkpoint      *auditStatusCheckpoint `json:"checkpoint"`
	// VerifyRun is the newest verify run of the caller's shop.
	VerifyRun *shopVerifyRun `json:"verify_run"`
}

// auditStatusCheckpoint names the newest signed checkpoint; whether its
// signer is trusted is what a verify run checks.
type auditStatusCheckpoint struct {
	ID       int64     `json:"id"`
	SignedAt time.Time `json:"signed_at"`
	KeyID    string    `json:"key_id"`
}

type auditStatusRun struct {
	FinishedAt time.Time `json:"finished_at"`
	OK         bool      `json:"ok"`
}

func (s *server) auditStatus(c *gin.Context) {
	ctx := c.Request.Context()
	log := audit.New(s.Store)
	var st auditStatus
	if s.AuditInterval > 0 {
		secs := int64(s.AuditInterval / time.Second)
		st.ScheduleSeconds = &secs
	}
	run, err := log.LastAudit(ctx)
	switch {
	case err == nil:
		st.LastRun = &auditStatusRun{FinishedAt: run.FinishedAt, OK: run.OK}
	case !errors.Is(err, audit.ErrNoAuditRun):
		s.problemFromError(c, err)
		return
	}
	cp, err := log.NewestCheckpoint(ctx)
	switch {
	case err == nil:
		st.Checkpoint = &auditStatusCheckpoint{ID: cp.ID, SignedAt: cp.SignedAt, KeyID: audit.KeyID(cp.PublicKey)}
	case !errors.Is(err, audit.ErrNoCheckpoint):
		s.problemFromError(c, err)
		return
	}
	shopRun, err := log.LatestShopRun(ctx, principalFrom(c).Shop)
	switch {
	case err == nil:
		v := shopVerifyRunOf(shopRun)
		st.VerifyRun = &v
	case !errors.Is(err, audit.ErrNoShopRun):
		s.problemFromError(c, err)
		return
	}
	c.JSON(http.StatusOK, st)
}

// verifyLockKey keeps on-demand runs from piling up: each walks every event.
const verifyLockKey = 0x6f6d7666 // "omvf"

// runVerify verifies the whole log for the operator and records the run.
func (s *server) runVerify(c *gin.Context) {
	untilDone(c)
	ctx := c.Request.Context()
	conn, err := s.Store.Pool().Acquire(ctx)
	if err != nil {
		s.problemFromError(c, err)
		return
	}
	defer conn.Release()
	var locked bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, verifyLockKey).Scan(&locked); err != nil {
		s.problemFromError(c, err)
		return
	}
	if !locked {
		abortProblem(c, http.StatusConflict, "a verify run is in progress; its result will be the last run")
		return
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, verifyLockKey)
	report, err := audit.New(s.Store).Audit(ctx, audit.AuditOptions{})
	if err != nil {
		s.problemFromError(c, err)
		return
	}
	run, err := audit.New(s.Store).RecordAudit(ctx, report)
	if err != nil {
		s.problemFromError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"last_run": run})
}

func (s *server) traceWebhook(c *gin.Context) {
	shop := c.Param("shop")
	if shop != principalFrom(c).Shop {
		s.problemFromError(c, errNotFound)
		return
	}
	var secret []byte
	if v := c.GetHeader(headerWebhookSecret); v != "" {
		secret = []byte(v)
	}
	t, err := audit.New(s.Store).TraceWebhook(c.Request.Context(), shop, c.Param("webhook_id"), secret)
	if err == nil {
		t, err = traceView(t)
	}
	if err != nil {
		s.problemFromError(c, err)
		return
	}
	c.JSON(http.StatusOK, t)
}

func (s *server) orderStateAt(c *gin.Context) {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		s.problemFromError(c, errNotFound)
		return
	}
	m := audit.Moment{Time: time.Now().UTC()}
	if at := c.Query("at"); at != "" {
		if m, err = audit.ParseMoment(at); err != nil {
			abortProblem(c, http.StatusBadRequest, "invalid query", FieldError{Field: "at", Message: err.Error()})
			return
		}
	}
	state, events, err := audit.New(s.Store).OrderAt(c.Request.Context(), id, m)
	if err == nil && state.Shop != principalFrom(c).Shop {
		err = errNotFound // another shop's order does not exist for this caller
	}
	if err != nil {
		s.problemFromError(c, err)
		return
	}
	last := events[len(events)-1]
	c.JSON(http.StatusOK, gin.H{"order_id": id, "at": m.String(), "version": last.StreamVersion,
		"position": last.Position.String(), "recorded_at": last.RecordedAt, "last_event": last.Type, "state": state})
}

func (s *server) exportEvents(c *gin.Context) {
	f := audit.ExportFilter{Shop: principalFrom(c).Shop}
	for _, b := range []struct {
		name string
		dst  **audit.Moment
	}{{"since", &f.Since}, {"until", &f.Until}} {
		v := c.Query(b.name)
		if v == "" {
			continue
		}
		m, err := audit.ParseMoment(v)
		if err != nil {
			abortProblem(c, http.StatusBadRequest, "invalid query", FieldError{Field: b.name, Message: err.Error()})
			return
		}
		*b.dst = &m
	}
	format := c.DefaultQuery("format", audit.FormatJSONL)
	contentType := map[string]string{audit.FormatJSONL: "application/x-ndjson", audit.FormatCSV: "text/csv"}[format]
	if contentType == "" {
		abortProblem(c, http.StatusBadRequest, "invalid query", FieldError{Field: "format", Message: "must be jsonl or csv"})
		return
	}
	c.Header("Content-Type", contentType)
	c.Header("Content-Disposition", `attachment; filename="ordermill-events-`+f.Shop+`.`+format+`"`)
	w, err := audit.NewExportWriter(s.download(c), format)
	if err == nil {
		err = audit.New(s.Store).Export(c.Request.Context(), f, func(e audit.ExportedEvent) error {
			e, err := exportView(e)
			if err != nil {
				return err
			}
			return w.Write(e)
		})
	}
	if err == nil {
		err = w.Flush()
	}
	switch {
	case err == nil:
	case !c.Writer.Written():
		s.problemFromError(c, err)
	default:
		// The status line went out with the first rows: cut the connection so
		// the client sees an incomplete download rather than a short file.
		s.Logger.ErrorContext(c.Request.Context(), "export failed", "err", err, "request_id", c.GetString("request_id"))
		if conn, _, herr := c.Writer.Hijack(); herr == nil {
			conn.Close()
		}
	}
}

type rebuildRequest struct {
	Projection string `json:"projection"`
}

// rebuildReadModel rebuilds one read model in shadow tables, diffs it with the
// live one and swaps it in without downtime for readers. It answers when done.
// Every shop's rows are rebuilt, so it is the operator's.
func (s *server) rebuildReadModel(c *gin.Context) {
	untilDone(c)
	var req rebuildRequest
	if !bindJSON(c, &req) {
		return
	}
	// No cache: the shadow's writes are not what readers see.
	all := projections.WithCipher(s.Store.Cipher(), projections.All(nil, ""))
	i := slices.IndexFunc(all, func(p projections.Projector) bool { return p.Name() == req.Projection })
	if i < 0 {
		names := make([]string, len(all))
		for j, p := range all {
			names[j] = p.Name()
		}
		abortProblem(c, http.StatusUnprocessableEntity, "the request has invalid fields",
			FieldError{Field: "projection", Message: "must be one of " + strings.Join(names, ", ")})
		return
	}
	p := all[i]
	ctx := c.Request.Context()
	shadow, err := projections.OpenShadow(ctx, s.Store.Pool())
	if err != nil {
		s.problemFromError(c, err)
		return
	}
	defer shadow.Close()
	res, err := shadow.Rebuild(ctx, p, nil)
	if err != nil {
		s.problemFromError(c, err)
		return
	}
	diff, err := shadow.Diff(ctx, p, 5)
	if err != nil {
		s.problemFromError(c, err)
		return
	}
	if err := shadow.Swap(ctx, p); err != nil {
		s.problemFromError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"projection": res.Projection, "events": res.Events, "position": res.Position.String(),
		"duration_ms": res.Duration.Milliseconds(), "diff": diff, "swapped": true})
}
