package api

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
)

// Handler is the api role's HTTP handler: the Gin engine (whose routes the
// contract tests walk), answering HEAD wherever GET works (RFC 9110 §9.3.2).
// A HEAD request runs as a GET through the same middleware and handler, so
// its status and headers are the GET's, and headWriter drops the body.
// Handlers cannot tell the two apart, which is the point: HEAD has no
// semantics of its own to get wrong.
type Handler struct{ *gin.Engine }

func (h Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodHead {
		h.Engine.ServeHTTP(w, r)
		return
	}
	get := r.Clone(r.Context())
	get.Method = http.MethodGet
	hw := &headWriter{ResponseWriter: w}
	h.Engine.ServeHTTP(hw, get)
	hw.send()
}

// headWriter counts the body instead of writing it and sends the header
// when the handler is done, with the Content-Length the GET would have had.
// A handler that flushes (a stream) sends its header then, without a length.
type headWriter struct {
	http.ResponseWriter
	status int
	n      int
	sent   bool
}

func (w *headWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
}

func (w *headWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	w.n += len(p)
	return len(p), nil
}

func (w *headWriter) Flush() {
	w.WriteHeader(http.StatusOK)
	w.sendHeader()
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *headWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *headWriter) send() {
	if w.sent {
		return
	}
	w.WriteHeader(http.StatusOK)
	h := w.Header()
	if h.Get("Content-Length") == "" && w.n > 0 {
		h.Set("Content-Length", strconv.Itoa(w.n))
	}
	w.sendHeader()
}

func (w *headWriter) sendHeader() {
	if !w.sent {
		w.sent = true
		w.ResponseWriter.WriteHeader(w.status)
	}
}

// corsRequestHeaders are the request headers a browser on an allowed origin
// may send; browsers allow the CORS-safelisted ones anyway.
var corsRequestHeaders = []string{
	"Authorization", "Content-Type", headerIdempotencyKey, "If-Match", headerMinPosition,
	requestIDHeader, correlationIDHeader, traceparentHeader, "Tracestate",
}

// corsExposedHeaders are the response headers an allowed origin's code may read.
var corsExposedHeaders = []string{
	"ETag", "Location", "Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset",
	"Idempotent-Replayed", "Content-Disposition", headerPosition, headerConsistency,
	requestIDHeader, correlationIDHeader,
}

// corsMaxAge is how long a browser may reuse a preflight answer (seconds).
const corsMaxAge = "600"

// cors lets browser code from the configured origins read the API's answers.
// With no origins configured it does nothing, and browsers keep refusing
// cross-origin reads. No credentials mode: the API authenticates with a
// bearer token that the calling code sends itself.
func cors(origins []string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if origin := c.GetHeader("Origin"); origin != "" && len(origins) > 0 {
			h := c.Writer.Header()
			h.Add("Vary", "Origin")
			if allowedOrigin(origins, origin) {
				h.Set("Access-Control-Allow-Origin", origin)
				h.Set("Access-Control-Expose-Headers", strings.Join(corsExposedHeaders, ", "))
			}
		}
		c.Next()
	}
}

func allowedOrigin(origins []string, origin string) bool {
	return slices.Contains(origins, "*") || slices.Contains(origins, strings.ToLower(origin))
}

// noMethod answers requests whose path exists for other methods. OPTIONS
// gets 204 with the methods in Allow (RFC 9110 §9.3.7) and, for a CORS
// preflight from an allowed origin, what it may send; anything else 405.
func noMethod() gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.Writer.Header()
		allowed := strings.Split(h.Get("Allow"), ", ") // set by Gin from the routes
		if slices.Contains(allowed, http.MethodGet) {
			allowed = append(allowed, http.MethodHead)
		}
		allowed = append(allowed, http.MethodOptions)
		h.Set("Allow", strings.Join(allowed, ", "))
		if c.Request.Method != http.MethodOptions {
			abortProblem(c, http.StatusMethodNotAllowed, "method not allowed on this resource")
			return
		}
		want := c.GetHeader("Access-Control-Request-Method")
		if want != "" && h.Get("Access-Control-Allow-Origin") != "" && slices.Contains(allowed, want) {
			h.Set("Access-Control-Allow-Methods", strings.Join(allowed, ", "))
			h.Set("Access-Control-Allow-Headers", strings.Join(corsRequestHeaders, ", "))
			h.Set("Access-Control-Max-Age", corsMaxAge)
			h.Del("Access-Control-Expose-Headers") // only actual responses expose headers
		}
		c.AbortWithStatus(http.StatusNoContent)
	}
}
