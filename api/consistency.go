package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ordermill/ordermill/app"
	"github.com/ordermill/ordermill/eventstore"
)

// Headers of conditional writes and read-your-writes.
const (
	headerMinPosition = "X-Min-Position"
	headerPosition    = "X-Position"
	headerConsistency = "X-Consistency"
)

// Projector names whose progress reads wait for (see projections.All).
const (
	ordersProjection    = "orders"
	inventoryProjection = "inventory"
)

// A read waits at most minPositionWait for its projection, then answers stale
// rather than failing: the caller still gets data, and is told so.
const minPositionWait = 2 * time.Second

// minPosition parses X-Min-Position. ok is false when the header is
// malformed and the request was answered.
func minPosition(c *gin.Context) (pos eventstore.Position, given, ok bool) {
	raw := c.GetHeader(headerMinPosition)
	if raw == "" {
		return pos, false, true
	}
	pos, err := eventstore.ParsePosition(raw)
	if err != nil {
		abortProblem(c, http.StatusBadRequest, "X-Min-Position is not a position token returned by a write")
		return pos, true, false
	}
	return pos, true, true
}

// awaitMinPosition honours X-Min-Position on a read of projection's read
// model. It reports whether the header was given (callers bypass caches
// then) and false in ok when it has already answered the request (malformed
// token). The wait is over once the projector's progress (its newest applied
// event) is at or past the token. That covers reads of one aggregate too: an
// aggregate's row and the progress move in one transaction, and a token from
// a write to another aggregate is satisfied once the projector has passed it.
func (s *server) awaitMinPosition(c *gin.Context, projection string) (requested, ok bool) {
	pos, given, ok := minPosition(c)
	if !given || !ok {
		return given, ok
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), minPositionWait)
	defer cancel()
	if !s.positions.wait(ctx, projection, pos) {
		// The deadline, or the caller went away: answer with what we have.
		c.Header(headerConsistency, "stale")
	}
	return true, true
}

// ifMatch parses If-Match: `"<version>"`, `W/"<version>"` (which never
// matches) or `*` (any current version). ok is false when the header is
// malformed and the request was answered.
func ifMatch(c *gin.Context) (pre app.Precondition, ok bool) {
	raw := strings.TrimSpace(c.GetHeader("If-Match"))
	if raw == "" || raw == "*" {
		return pre, true
	}
	tag, weak := strings.CutPrefix(raw, "W/")
	v, err := strconv.ParseInt(strings.Trim(tag, `"`), 10, 64)
	if err != nil || v < 1 || len(tag) < 3 || tag[0] != '"' || tag[len(tag)-1] != '"' {
		abortProblem(c, http.StatusBadRequest, `If-Match must be an ETag of this API, like "3"`)
		return pre, false
	}
	return app.Precondition{Version: v, Present: true, Weak: weak}, true
}

// callerOf is the authenticated caller as the application layer knows it.
func callerOf(c *gin.Context) app.Caller {
	return app.Caller{Shop: principalFrom(c).Shop, Meta: eventMeta(c)}
}

// etag is a stream version as an HTTP entity tag.
func etag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }

// writeHeaders are the headers of a write's answer: the new version as ETag
// and the position to pass back as X-Min-Position.
func writeHeaders(version int64, pos eventstore.Position) map[string]string {
	return map[string]string{"ETag": etag(version), headerPosition: pos.String()}
}
