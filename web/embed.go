// Package web holds the merchant and auditor single-page app. Its production
// build (npm run build, into dist/) is embedded into the server binary.
package web

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// Dist returns the built app with dist/ as its root. Before the first
// `npm run build` it holds only .keep, and the server answers 404 for the app.
func Dist() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // "dist" is a valid path by construction
	}
	return sub
}
