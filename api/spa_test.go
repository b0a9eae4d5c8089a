package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/gin-gonic/gin"
)

func TestSPAFallback(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	files := fstest.MapFS{
		"index.html":         {Data: []byte("<!doctype html>app")},
		"assets/app-1a2b.js": {Data: []byte("console.log(1)")},
		"assets/sub/.keep":   {Data: nil},
		"robots.txt":         {Data: []byte("User-agent: *")},
	}
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.NoRoute(func(c *gin.Context) { abortProblem(c, http.StatusNotFound, "no such resource") })
	r.NoMethod(func(c *gin.Context) { abortProblem(c, http.StatusMethodNotAllowed, "method not allowed") })
	r.POST("/auth/login", func(c *gin.Context) { c.Status(http.StatusNoContent) })
	r.POST("/webhooks/:a/:b", func(c *gin.Context) { c.Status(http.StatusNoContent) })
	r.GET("/api/v1/orders", func(c *gin.Context) { c.String(http.StatusOK, "orders") })
	r.Use(spaFallback(files))

	for _, tc := range []struct {
		method, path string
		status       int
		body, ctype  string
		cache        string
	}{
		{"GET", "/", 200, "app", "text/html", "no-cache"},
		{"GET", "/orders/123", 200, "app", "text/html", "no-cache"},
		{"HEAD", "/settings", 200, "", "text/html", "no-cache"},
		{"GET", "/assets/app-1a2b.js", 200, "console.log", "javascript", "immutable"},
		{"GET", "/robots.txt", 200, "User-agent", "text/plain", "no-cache"},
		{"GET", "/assets/missing-9z.js", 404, "no such resource", "problem+json", ""},
		{"GET", "/assets/sub/", 200, "app", "text/html", "no-cache"},              // directories are never listed
		{"GET", "/../../etc/passwd", 404, "no such resource", "problem+json", ""}, // a dot-dot segment is never a route
		{"GET", "/assets/../index.html", 404, "no such resource", "problem+json", ""},
		{"GET", "/api/v1/nope", 404, "no such resource", "problem+json", ""},
		{"GET", "/debug/pprof/goroutine", 404, "no such resource", "problem+json", ""},
		{"GET", "/api/v1/orders", 200, "orders", "text/plain", ""},
		{"GET", "/auth/login", 405, "method not allowed", "problem+json", ""},
		{"GET", "/webhooks", 200, "app", "text/html", "no-cache"},
		{"GET", "/webhooks/123", 200, "app", "text/html", "no-cache"},
		{"POST", "/webhooks/orders/create", 204, "", "", ""},
		{"POST", "/somewhere", 404, "no such resource", "problem+json", ""},
	} {
		req := httptest.NewRequest(tc.method, tc.path, nil)
		req.URL.Path = tc.path // keep dot segments as a raw client could send them
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		if w.Code != tc.status || !strings.Contains(w.Body.String(), tc.body) ||
			!strings.Contains(w.Header().Get("Content-Type"), tc.ctype) ||
			!strings.Contains(w.Header().Get("Cache-Control"), tc.cache) {
			t.Errorf("%s %s = %d %q (type %q, cache %q); want %d containing %q (%q, %q)", tc.method, tc.path, w.Code,
				w.Body.String(), w.Header().Get("Content-Type"), w.Header().Get("Cache-Control"), tc.status, tc.body,
				tc.ctype, tc.cache)
		}
	}
}
