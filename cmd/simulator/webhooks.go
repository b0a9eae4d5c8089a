package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"time"
)

// apiVersion is the Shopify API version stamped on webhooks.
const apiVersion = "2025-01"

// maxRetries is how often a failed delivery is retried; Shopify keeps going
// for hours, a test run cannot.
const maxRetries = 3

// delivery is one webhook POST as Shopify would make it, plus its outcome.
// Everything but the outcome is fixed when the run is planned, so a seed
// reproduces the exact bytes and headers.
type delivery struct {
	WebhookID   string `json:"webhook_id"`
	EventID     string `json:"event_id"`
	Topic       string `json:"topic"`
	Shop        string `json:"shop"`
	OrderID     int64  `json:"order_id,omitempty"`
	TriggeredAt string `json:"triggered_at"`
	// HMAC is the X-Shopify-Hmac-Sha256 header sent; empty means omitted.
	HMAC string `json:"hmac"`
	Body []byte `json:"body"`

	Bad            bool   `json:"bad"`
	Fault          string `json:"fault,omitempty"`
	Duplicate      bool   `json:"duplicate"`
	Late           bool   `json:"late"`
	Dropped        bool   `json:"dropped"`
	ExpectedStatus int    `json:"expected_status"`

	Status   int    `json:"status"`
	Attempts int    `json:"attempts"`
	Error    string `json:"error,omitempty"`

	// state is the order as Shopify knows it after this delivery's action,
	// nil for topics about no order; snapshot marks a full order body.
	state    *orderState
	snapshot bool
}

func sign(body []byte, secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

type sender struct {
	client  *http.Client
	backoff time.Duration
}

// deliver posts d to target's webhook endpoint. Like Shopify it retries
// network errors and non-2xx answers, except 401 which means the receiver
// rejected the signature and a retry could not change that.
func (s *sender) deliver(ctx context.Context, target string, d *delivery) (status, attempts int, err error) {
	return s.deliverTo(ctx, strings.TrimRight(target, "/")+"/webhooks/shopify", d)
}

// deliverTo posts d to url (a subscription's address), retrying as deliver does.
func (s *sender) deliverTo(ctx context.Context, url string, d *delivery) (status, attempts int, err error) {
	backoff := s.backoff
	for attempts = 1; ; attempts++ {
		status, err = s.post(ctx, url, d)
		retry := err != nil || (status/100 != 2 && status != http.StatusUnauthorized)
		if !retry || attempts > maxRetries {
			return status, attempts, err
		}
		select {
		case <-ctx.Done():
			return status, attempts, ctx.Err()
		case <-time.After(backoff):
		}
		backoff *= 2
	}
}

func (s *sender) post(ctx context.Context, url string, d *delivery) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(d.Body))
	if err != nil {
		return 0, err
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "Shopify-Captain-Hook")
	h.Set("X-Shopify-Topic", d.Topic)
	h.Set("X-Shopify-Shop-Domain", d.Shop)
	h.Set("X-Shopify-Webhook-Id", d.WebhookID)
	h.Set("X-Shopify-Event-Id", d.EventID)
	h.Set("X-Shopify-Triggered-At", d.TriggeredAt)
	h.Set("X-Shopify-API-Version", apiVersion)
	if d.HMAC != "" {
		h.Set("X-Shopify-Hmac-Sha256", d.HMAC)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	// Drain so the connection is reused across thousands of deliveries.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	return resp.StatusCode, nil
}
