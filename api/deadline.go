package api

import (
	"io"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// deadlineWriter moves the connection's write deadline a whole WriteTimeout
// ahead before each write: a long download that keeps moving outlives the
// server's WriteTimeout, while a client that stops reading is still cut off.
type deadlineWriter struct {
	w       io.Writer
	rc      *http.ResponseController
	timeout time.Duration
}

// downloadChunk is how much may be written per deadline: a large Write is
// split so that its deadline keeps moving with the client's progress.
const downloadChunk = 64 << 10

func (d deadlineWriter) Write(p []byte) (n int, err error) {
	for len(p) > 0 {
		chunk := p[:min(len(p), downloadChunk)]
		// If the deadline cannot be moved, the write fails at the old one instead.
		_ = d.rc.SetWriteDeadline(time.Now().Add(d.timeout))
		m, err := d.w.Write(chunk)
		n += m
		if err != nil {
			return n, err
		}
		p = p[m:]
	}
	return n, nil
}

// download is the writer a long streamed answer writes through.
func (s *server) download(c *gin.Context) io.Writer {
	if s.WriteTimeout <= 0 {
		return c.Writer
	}
	return deadlineWriter{w: c.Writer, rc: http.NewResponseController(c.Writer), timeout: s.WriteTimeout}
}

// untilDone lifts the write deadline of a request that answers only once its
// work is done, which may take longer than any write timeout (verify and
// rebuild walk every event). Only roles allowed to start that work get here.
func untilDone(c *gin.Context) {
	_ = http.NewResponseController(c.Writer).SetWriteDeadline(time.Time{})
}
