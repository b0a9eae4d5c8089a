package api

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
)

// problemFromError answers a failed command with the status its error means.
// Unexpected errors are logged with the request id and answered 500 without
// detail, so internals never leak to callers.
func (s *server) problemFromError(c *gin.Context, err error) {
	var (
		validation *domain.ValidationError
		transition *domain.TransitionError
	)
	if s.shopifyProblem(c, err) {
		return
	}
	switch {
	case errors.As(err, &validation):
		fields := make([]FieldError, len(validation.Fields))
		for i, f := range validation.Fields {
			fields[i] = FieldError{Field: f.Field, Message: f.Message}
		}
		abortProblem(c, http.StatusUnprocessableEntity, "the request has invalid fields", fields...)
	case errors.Is(err, eventstore.ErrConcurrency):
		abortProblem(c, http.StatusPreconditionFailed, "the resource changed since the version in If-Match")
	case errors.Is(err, eventstore.ErrStreamNotFound), errors.Is(err, domain.ErrNotFound), errors.Is(err, errNotFound):
		abortProblem(c, http.StatusNotFound, "no such resource")
	case errors.As(err, &transition):
		abortProblem(c, http.StatusConflict, transition.Error())
	case domain.IsRejection(err), errors.Is(err, errConflict):
		// The aggregate's state refuses the command.
		abortProblem(c, http.StatusConflict, err.Error())
	case errors.Is(err, errUnavailable):
		s.Logger.ErrorContext(c.Request.Context(), "credential store unavailable", "err", err,
			"path", c.Request.URL.Path, "request_id", c.GetString("request_id"))
		c.Header("Retry-After", strconv.Itoa(int(loginRetryAfter.Seconds())))
		abortProblem(c, http.StatusServiceUnavailable, "a service this request needs is unavailable, retry shortly")
	default:
		s.Logger.ErrorContext(c.Request.Context(), "request failed", "err", err,
			"path", c.Request.URL.Path, "request_id", c.GetString("request_id"))
		abortProblem(c, http.StatusInternalServerError, "internal error")
	}
}

// errNotFound and errConflict let handlers signal 404 and 409 for resources
// outside the domain (a row of another shop, a rule of the API itself).
var (
	errNotFound = errors.New("no such resource")
	errConflict = errors.New("conflict")
)
