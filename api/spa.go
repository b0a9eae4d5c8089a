package api

import (
	"io"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/ordermill/ordermill/web"
)

// apiPrefixes are paths the SPA never answers: unknown routes under them keep
// the problem+json 404 (or 405) so API clients never receive HTML. Shopify
// only POSTs to /webhooks/..., so the app's own /webhooks pages share that prefix.
// /metrics and /debug/ belong to the operators' address (ORDERMILL_METRICS_ADDR):
// here they are a plain 404, not the app.
var apiPrefixes = []string{"/api/", "/auth/", "/healthz", "/readyz", "/metrics", "/.well-known/", "/debug/"}

// spaFallback serves the embedded single-page app for GET and HEAD requests that
// matched no route: existing files as they are, hashed assets cached forever,
// and any other path as index.html so client-side routes survive a reload.
// Directories are never listed; fs.FS paths cannot escape the root.
func spaFallback(files fs.FS) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.FullPath() != "" || (c.Request.Method != http.MethodGet && c.Request.Method != http.MethodHead) {
			c.Next()
			return
		}
		p := c.Request.URL.Path
		for _, prefix := range apiPrefixes {
			if strings.HasPrefix(p, prefix) || p == strings.TrimSuffix(prefix, "/") {
				c.Next()
				return
			}
		}
		// A dot-dot segment is never an app route: answer 404 rather than
		// serving index.html for what is a traversal attempt.
		if slices.Contains(strings.Split(strings.ReplaceAll(p, "\\", "/"), "/"), "..") {
			c.Next()
			return
		}
		name := strings.TrimPrefix(path.Clean("/"+p), "/")
		if name == "" {
			name = "index.html"
		}
		if serveFile(c, files, name) {
			return
		}
		// A missing file with an extension (a stale asset, favicon.ico) is a real
		// 404; anything else is a client-side route.
		if path.Ext(name) != "" || !serveFile(c, files, "index.html") {
			c.Next()
		}
	}
}

// serveFile writes one regular file and reports whether it did.
func serveFile(c *gin.Context, files fs.FS, name string) bool {
	if !fs.ValidPath(name) {
		return false
	}
	f, err := files.Open(name)
	if err != nil {
		return false
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.IsDir() {
		return false
	}
	rs, ok := f.(io.ReadSeeker)
	if !ok {
		return false
	}
	if strings.HasPrefix(name, "assets/") {
		// Vite puts a content hash in every asset name.
		c.Header("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		c.Header("Cache-Control", "no-cache")
	}
	c.Header("X-Content-Type-Options", "nosniff")
	http.ServeContent(c.Writer, c.Request, st.Name(), st.ModTime(), rs)
	c.Abort()
	return true
}

// serveSPA answers unmatched GET and HEAD requests with the embedded app. It is
// called after every route is registered, so only the 404 chain runs it.
func serveSPA(r *gin.Engine) {
	r.Use(spaFallback(web.Dist()))
}
