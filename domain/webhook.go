package domain

import (
	"strconv"
	"strings"
	"time"
)

// WebhookStream is the stream of one Shopify webhook delivery:
// "webhook-<shop>:<webhook id>". Shopify's webhook id identifies a delivery
// within a shop, so a redelivery lands on the same stream.
func WebhookStream(shop, webhookID string) string { return "webhook-" + shop + ":" + webhookID }

// WebhookReceived records a Shopify webhook exactly as it arrived, once its
// signature was verified. Body is the raw request body, byte for byte, so the
// HMAC can be checked again later; it is base64 in the stored JSON. HMAC is
// the X-Shopify-Hmac-Sha256 header, kept apart from Headers because it is a
// credential: with the body it lets anyone post the body again, under any
// topic, so it is sealed like the body and never shown through the API.
// Webhooks captured before it was kept apart carry it in Headers.
type WebhookReceived struct {
	Shop        string            `json:"shop"`
	Topic       string            `json:"topic"`
	WebhookID   string            `json:"webhook_id"`
	EventID     string            `json:"event_id"`
	TriggeredAt string            `json:"triggered_at"`
	APIVersion  string            `json:"api_version"`
	Headers     map[string]string `json:"headers"`
	HMAC        string            `json:"hmac,omitempty"`
	Body        []byte            `json:"body_base64"`
	ReceivedAt  time.Time         `json:"received_at"`
}

// HeaderShopifyHMAC carries a webhook's signature.
const HeaderShopifyHMAC = "X-Shopify-Hmac-Sha256"

// Signature returns the stored X-Shopify-Hmac-Sha256 of the webhook,
// wherever it was kept.
func (w WebhookReceived) Signature() string {
	if w.HMAC != "" {
		return w.HMAC
	}
	for name, v := range w.Headers {
		if strings.EqualFold(name, HeaderShopifyHMAC) {
			return v
		}
	}
	return ""
}

// WithoutSignature returns the webhook with its stored signature removed,
// as it may be shown to users.
func (w WebhookReceived) WithoutSignature() WebhookReceived {
	headers := make(map[string]string, len(w.Headers))
	for name, v := range w.Headers {
		if !strings.EqualFold(name, HeaderShopifyHMAC) {
			headers[name] = v
		}
	}
	w.Headers, w.HMAC = headers, ""
	return w
}

// WebhookProcessed records what processing a webhook did. Result is
// "applied" (events were appended), "unchanged" (it repeated known state,
// e.g. an older snapshot), "deferred" (a later delivery carries the change)
// or "ignored" (a topic Ordermill does not act on).
type WebhookProcessed struct {
	Result  string `json:"result"`
	Detail  string `json:"detail,omitempty"`
	OrderID string `json:"order_id,omitempty"`
	Events  int    `json:"events"`
}

// WebhookFailed records a webhook that can never be processed as sent, such
// as a malformed body with a valid signature. The webhook stays stored as
// evidence; Reason says what is wrong with it.
// OrderID names the order the body names, when it names one.
type WebhookFailed struct {
	Reason  string `json:"reason"`
	OrderID string `json:"order_id,omitempty"`
}

// WebhookDuplicateReceived records another delivery of a webhook already
// stored (Shopify retries, or sends one twice): answered 200, not processed
// again, but kept, so the webhook's stream tells how often and when it came.
type WebhookDuplicateReceived struct {
	ReceivedAt  time.Time `json:"received_at"`
	TriggeredAt string    `json:"triggered_at,omitempty"` // X-Shopify-Triggered-At of this delivery
}

// WebhookComplianceRecorded records a GDPR compliance webhook
// (customers/data_request, customers/redact, shop/redact). Erasing the
// personal data is a separate step that reads these records; they name the
// customer and orders by Shopify id only, adding no personal data of their own.
type WebhookComplianceRecorded struct {
	Topic          string  `json:"topic"`
	Shop           string  `json:"shop"`
	CustomerID     int64   `json:"customer_id,omitempty"`
	OrdersAffected []int64 `json:"orders_affected,omitempty"`
}

// EventType implements Event.
func (WebhookReceived) EventType() string { return "webhook.received" }

// EventType implements Event.
func (WebhookProcessed) EventType() string { return "webhook.processed" }

// EventType implements Event.
func (WebhookFailed) EventType() string { return "webhook.failed" }

// EventType implements Event.
func (WebhookDuplicateReceived) EventType() string { return "webhook.duplicate_received" }

// EventType implements Event.
func (WebhookComplianceRecorded) EventType() string { return "webhook.compliance_recorded" }

// RefundLines converts a Shopify refund's line items to order line quantities.
func (r ShopifyRefund) RefundLines() []LineQuantity {
	lines := make([]LineQuantity, len(r.RefundLineItems))
	for i, li := range r.RefundLineItems {
		lines[i] = LineQuantity{LineID: strconv.FormatInt(li.LineItemID, 10), Quantity: li.Quantity}
	}
	return lines
}
