package workers

import "github.com/ordermill/ordermill/internal/privacy"

// Eraser runs the eraser on the webhook category: it carries out the
// customers/redact and shop/redact requests the webhook processor records.
func Eraser(x *privacy.Eraser) Handler {
	return Handler{Name: privacy.HandlerName, Categories: []string{"webhook"}, Handle: x.Handle}
}
