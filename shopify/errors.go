package shopify

import "errors"

// ErrNotInstalled means the shop has no Admin API token: it never installed
// the app, or uninstalled it. Asking again will not help until it installs.
var ErrNotInstalled = errors.New("the shop has not installed the app")
