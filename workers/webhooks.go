package workers

import "github.com/ordermill/ordermill/app"

// Webhooks runs the webhook processor on the webhook category, in batches
// (see app.Webhooks.ProcessBatch).
func Webhooks(w *app.Webhooks) Handler {
	return Handler{Name: app.WebhooksHandler, Categories: []string{"webhook"}, HandleBatch: w.ProcessBatch}
}
