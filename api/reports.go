package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ordermill/ordermill/app"
	"github.com/ordermill/ordermill/domain"
)

const reportsProjection = "reports"

// reportRoutes registers the reports API. Requesting a report needs only
// PermReadOrders, so auditors may request one too: a report is derived from
// data they can already read, and its report.requested event changes no
// business state.
func (s *server) reportRoutes(g *gin.RouterGroup) {
	read := s.require(domain.PermReadOrders)
	g.POST("/reports", read, s.requestReport)
	g.GET("/reports", read, s.listReports)
	g.GET("/reports/:id", read, s.getReport)
	g.GET("/reports/:id/download", read, s.downloadReport)
}

// report is a report as the API shows it.
type report struct {
	ID          uuid.UUID  `json:"id"`
	Kind        string     `json:"kind"`
	From        string     `json:"from"`
	To          string     `json:"to"`
	Status      string     `json:"status"`
	Rows        int        `json:"rows"`
	Bytes       int        `json:"bytes"`
	Reason      string     `json:"reason"`
	RequestedBy string     `json:"requested_by"`
	RequestedAt time.Time  `json:"requested_at"`
	FinishedAt  *time.Time `json:"finished_at"`
	DownloadURL *string    `json:"download_url"` // set once completed
}

type reportRequest struct {
	Kind string `json:"kind"`
	From string `json:"from"`
	To   string `json:"to"`
}

// reportRequested is the 202 answer: the report is queued for the worker.
type reportRequested struct {
	ID       uuid.UUID `json:"id"`
	Status   string    `json:"status"`
	Position string    `json:"position"`
}

func (s *server) requestReport(c *gin.Context) {
	var req reportRequest
	if !bindJSON(c, &req) {
		return
	}
	p := principalFrom(c)
	s.idempotentWrite(c, p.Shop, req, func(ctx context.Context, tx pgx.Tx) (storedResponse, error) {
		id := uuid.New()
		written, err := s.app.RequestReport(ctx, callerOf(c), domain.RequestReportCommand{
			ReportID: id, Kind: domain.ReportKind(req.Kind), From: req.From, To: req.To, RequestedBy: p.Actor(), At: time.Now(),
		}, app.InTx(tx))
		if err != nil {
			return storedResponse{}, err
		}
		res := written.Appended
		h := writeHeaders(res.Version, res.Position)
		h["Location"] = "/api/v1/reports/" + id.String()
		return jsonResponse(http.StatusAccepted, h,
			reportRequested{ID: id, Status: string(domain.StatusRequested), Position: res.Position.String()})
	})
}

const reportColumns = `id, kind, to_char(from_date, 'YYYY-MM-DD'), to_char(to_date, 'YYYY-MM-DD'), status, rows, bytes,
	reason, requested_by, requested_at, finished_at`

func scanReport(row pgx.Row) (report, error) {
	var r report
	if err := row.Scan(&r.ID, &r.Kind, &r.From, &r.To, &r.Status, &r.Rows, &r.Bytes, &r.Reason, &r.RequestedBy,
		&r.RequestedAt, &r.FinishedAt); err != nil {
		return r, err
	}
	if r.Status == string(domain.StatusCompleted) {
		u := "/api/v1/reports/" + r.ID.String() + "/download"
		r.DownloadURL = &u
	}
	return r, nil
}

// reportCursor is the last row of a page, ordered by (requested_at, id) descending.
type reportCursor struct {
	RequestedAt time.Time `json:"t"`
	ID          uuid.UUID `json:"id"`
}

func (s *server) listReports(c *gin.Context) {
	var errs queryErrors
	limit := pageSize(c, &errs)
	var f sqlFilter
	f.add("shop = ?", principalFrom(c).Shop)
	var cur reportCursor
	if decodeCursor(c, &cur, &errs) {
		f.add("(requested_at, id) < (?, ?)", cur.RequestedAt, cur.ID)
	}
	if errs.answered(c) {
		return
	}
	if _, ok := s.awaitMinPosition(c, reportsProjection); !ok {
		return
	}
	p, err := newestFirst(c.Request.Context(), s.ReadPool, `SELECT `+reportColumns+` FROM reports_view WHERE `+f.sql()+`
		ORDER BY requested_at DESC, id DESC`, f.args, limit,
		func(row pgx.CollectableRow) (report, error) { return scanReport(row) },
		func(last report) any { return reportCursor{RequestedAt: last.RequestedAt, ID: last.ID} })
	if err != nil {
		s.problemFromError(c, fmt.Errorf("list reports: %w", err))
		return
	}
	c.JSON(http.StatusOK, p)
}

// newestFirst reads one page of a keyset-paginated list: query (ordered,
// without LIMIT) is asked for one row more than limit, which tells whether
// a next page exists; cursor turns the page's last row into next_cursor.
func newestFirst[T any](ctx context.Context, pool *pgxpool.Pool, query string, args []any, limit int,
	scan func(pgx.CollectableRow) (T, error), cursor func(last T) any) (page[T], error) {
	rows, err := pool.Query(ctx, query+` LIMIT `+strconv.Itoa(limit+1), args...)
	if err != nil {
		return page[T]{}, err
	}
	items, err := pgx.CollectRows(rows, scan)
	if err != nil {
		return page[T]{}, err
	}
	p := page[T]{Items: items}
	if len(items) > limit {
		p.Items = items[:limit]
		p.NextCursor = encodeCursor(cursor(p.Items[limit-1]))
	}
	return p, nil
}

// loadReport reads one report of the caller's shop, after waiting for
// X-Min-Position; ok is false when it has answered.
func (s *server) loadReport(c *gin.Context) (report, bool) {
	id, ok := pathID(c)
	if !ok {
		return report{}, false
	}
	if _, ok := s.awaitMinPosition(c, reportsProjection); !ok {
		return report{}, false
	}
	r, err := scanReport(s.ReadPool.QueryRow(c.Request.Context(),
		`SELECT `+reportColumns+` FROM reports_view WHERE id = $1 AND shop = $2`, id, principalFrom(c).Shop))
	if errors.Is(err, pgx.ErrNoRows) {
		err = errNotFound
	}
	if err != nil {
		s.problemFromError(c, err)
		return report{}, false
	}
	return r, true
}

func (s *server) getReport(c *gin.Context) {
	if r, ok := s.loadReport(c); ok {
		c.JSON(http.StatusOK, r)
	}
}

// downloadReport answers the CSV once the report is completed, 409 before
// that (or when it failed).
func (s *server) downloadReport(c *gin.Context) {
	r, ok := s.loadReport(c)
	if !ok {
		return
	}
	switch domain.Status(r.Status) {
	case domain.StatusRequested:
		abortProblem(c, http.StatusConflict, "the report is not ready yet; try again shortly")
		return
	case domain.StatusFailed:
		abortProblem(c, http.StatusConflict, "the report failed: "+r.Reason)
		return
	}
	var file []byte
	if err := s.ReadPool.QueryRow(c.Request.Context(), `SELECT csv FROM report_files WHERE id = $1 AND shop = $2`,
		r.ID, principalFrom(c).Shop).Scan(&file); err != nil {
		s.problemFromError(c, fmt.Errorf("report file %s: %w", r.ID, err))
		return
	}
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-%s-%s.csv"`, r.Kind, r.From, r.To))
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Status(http.StatusOK)
	_, _ = s.download(c).Write(file) // a client gone mid-download has nothing left to be told
}
