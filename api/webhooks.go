package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ordermill/ordermill/app"
	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/shops"
)

// DefaultWebhookMaxBytes bounds a webhook body when Deps sets no limit.
const DefaultWebhookMaxBytes = 1 << 20

// Shopify's webhook headers.
const (
	headerShopifyHMAC    = domain.HeaderShopifyHMAC
	headerShopifyShop    = "X-Shopify-Shop-Domain"
	headerShopifyTopic   = "X-Shopify-Topic"
	headerShopifyWebhook = "X-Shopify-Webhook-Id"
	headerShopifyEvent   = "X-Shopify-Event-Id"
	headerShopifyAt      = "X-Shopify-Triggered-At"
	headerShopifyVersion = "X-Shopify-Api-Version"
)

// webhookRoutes registers capture (signed by Shopify, no user auth) and the
// webhook log under /api/v1.
func (s *server) webhookRoutes(r *gin.Engine, v1 *gin.RouterGroup) {
	r.POST("/webhooks/shopify", s.captureWebhook)
	// The seed's paths (/webhooks/orders/create) name the topic in the path.
	r.POST("/webhooks/:topic_a/:topic_b", s.captureWebhook)

	log := v1.Group("/webhooks", s.require(domain.PermReadWebhooks))
	log.GET("", s.listWebhooks)
	log.GET("/:id", s.getWebhook)
	log.POST("/:id/redeliver", s.require(domain.PermWriteOrders), s.redeliverWebhook)
	log.POST("/redeliver", s.require(domain.PermWriteOrders), s.bulkRedeliverWebhooks)
	s.privacyRoutes(v1) // what the compliance webhooks asked for
}

// captureWebhook stores a verified webhook byte-exact as one webhook.received
// event and answers 200 only once it is committed. Processing happens later,
// in the workers; this path touches Postgres once and Redis never.
func (s *server) captureWebhook(c *gin.Context) {
	ctx := c.Request.Context()
	limit := s.WebhookMaxBytes
	if limit <= 0 {
		limit = DefaultWebhookMaxBytes
	}
	if c.Request.ContentLength > limit {
		abortProblem(c, http.StatusRequestEntityTooLarge, fmt.Sprintf("webhook bodies are limited to %d bytes", limit))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, limit))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		abortProblem(c, http.StatusRequestEntityTooLarge, fmt.Sprintf("webhook bodies are limited to %d bytes", limit))
		return
	}
	if err != nil {
		abortProblem(c, http.StatusBadRequest, "could not read the request body")
		return
	}

	// A repeated identifying header is ambiguous (which signature, which
	// webhook id?), so it is refused before anything is looked up.
	for _, name := range []string{headerShopifyHMAC, headerShopifyShop, headerShopifyTopic, headerShopifyWebhook} {
		if len(c.Request.Header.Values(name)) > 1 {
			abortProblem(c, http.StatusBadRequest, name+" must be sent once")
			return
		}
	}
	shop := strings.ToLower(strings.TrimSpace(c.GetHeader(headerShopifyShop)))
	if !domain.ValidShopDomain(shop) {
		s.rejectWebhook(c)
		return
	}
	keys, err := s.Shops.WebhookSecrets(ctx, shop)
	if errors.Is(err, shops.ErrUnknownShop) || (err == nil && !validWebhookHMAC(body, c.GetHeader(headerShopifyHMAC), keys)) {
		s.rejectWebhook(c)
		return
	}
	if err != nil {
		s.storeUnavailable(c, err)
		return
	}

	topic := strings.TrimSpace(c.GetHeader(headerShopifyTopic))
	if topic == "" && c.Param("topic_a") != "" {
		topic = c.Param("topic_a") + "/" + c.Param("topic_b")
	}
	webhookID := c.GetHeader(headerShopifyWebhook)
	if !validHeaderToken(webhookID) || topic == "" {
		abortProblem(c, http.StatusBadRequest, "X-Shopify-Webhook-Id and X-Shopify-Topic are required")
		return
	}
	wh := domain.WebhookReceived{
		Shop: shop, Topic: topic, WebhookID: webhookID,
		EventID:     c.GetHeader(headerShopifyEvent),
		TriggeredAt: c.GetHeader(headerShopifyAt),
		APIVersion:  c.GetHeader(headerShopifyVersion),
		Headers:     webhookHeaders(c.Request.Header),
		HMAC:        c.GetHeader(headerShopifyHMAC),
		Body:        body,
		ReceivedAt:  time.Now().UTC(),
	}
	events, err := eventstore.Encode(shop, eventMetaFor(c, "shopify", "webhook"), wh)
	if err != nil {
		s.problemFromError(c, err)
		return
	}
	_, err = s.Store.AppendGrouped(ctx, domain.WebhookStream(shop, webhookID), eventstore.NoStream, events[0])
	if errors.Is(err, eventstore.ErrConcurrency) {
		s.recordDuplicate(c, shop, webhookID)
		c.JSON(http.StatusOK, gin.H{"status": "duplicate"})
		return
	}
	if err != nil {
		s.storeUnavailable(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "accepted"})
}

// rejectWebhook answers a delivery for an unknown shop or with a bad
// signature, one answer for both so a caller cannot probe which shops exist:
// 401, or 429 once the client IP has sent too many. Only rejected deliveries
// spend that budget and the signature is checked first, so a valid webhook
// never meets the limit (Shopify shares its sending addresses between shops);
// allow lets the 401 through when Redis fails, and capture never needs Redis.
func (s *server) rejectWebhook(c *gin.Context) {
	if s.allow(c, "webhook-failures:"+c.ClientIP(), s.Limits.WebhookFailures) {
		abortProblem(c, http.StatusUnauthorized, "unknown shop or invalid signature")
	}
}

// storeUnavailable answers 503 so Shopify retries the delivery later.
func (s *server) storeUnavailable(c *gin.Context, err error) {
	s.Logger.ErrorContext(c.Request.Context(), "webhook not stored", "err", err, "request_id", c.GetString("request_id"))
	c.Header("Retry-After", "5")
	abortProblem(c, http.StatusServiceUnavailable, "the webhook could not be stored; retry later")
}

// validWebhookHMAC compares the base64 HMAC-SHA256 of body under each active
// secret with the header, in constant time.
func validWebhookHMAC(body []byte, header string, keys [][]byte) bool {
	got, err := base64.StdEncoding.DecodeString(strings.TrimSpace(header))
	if err != nil || len(got) != sha256.Size {
		return false
	}
	ok := false
	for _, k := range keys {
		m := hmac.New(sha256.New, k)
		m.Write(body)
		// Every secret is tried, so timing does not reveal which one matched.
		ok = hmac.Equal(m.Sum(nil), got) || ok
	}
	return ok
}

// validHeaderToken accepts a printable, bounded id fit for a stream name.
func validHeaderToken(s string) bool {
	return s != "" && len(s) <= 200 && !strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) || r == ' ' })
}

// webhookHeaders keeps the headers an auditor needs to interpret a
// delivery: Shopify's own, the content type and the user agent. The
// signature is kept apart (WebhookReceived.HMAC), sealed with the body.
func webhookHeaders(h http.Header) map[string]string {
	out := map[string]string{}
	for name, values := range h {
		if name == headerShopifyHMAC {
			continue
		}
		if strings.HasPrefix(name, "X-Shopify-") || name == "Content-Type" || name == "User-Agent" {
			out[name] = strings.Join(values, ", ")
		}
	}
	return out
}

// recordDuplicate appends another delivery of a stored webhook to its
// stream. The answer stays 200 either way: the webhook itself is stored, and
// Shopify must not send it again because a note about it failed.
func (s *server) recordDuplicate(c *gin.Context, shop, webhookID string) {
	events, err := eventstore.Encode(shop, eventMetaFor(c, "shopify", "webhook"), domain.WebhookDuplicateReceived{
		ReceivedAt: time.Now().UTC(), TriggeredAt: c.GetHeader(headerShopifyAt)})
	if err == nil {
		_, err = s.Store.Append(c.Request.Context(), domain.WebhookStream(shop, webhookID), eventstore.AnyVersion, events...)
	}
	if err != nil {
		s.Logger.WarnContext(c.Request.Context(), "duplicate webhook delivery not recorded", "err", err, "webhook_id", webhookID)
	}
}

// webhookSummary is one row of the webhook log.
type webhookSummary struct {
	ID         uuid.UUID  `json:"id"`
	Shop       string     `json:"shop"`
	WebhookID  string     `json:"webhook_id"`
	Topic      string     `json:"topic"`
	EventID    string     `json:"event_id"`
	ReceivedAt time.Time  `json:"received_at"`
	Status     string     `json:"status"`
	Result     string     `json:"result,omitempty"`
	Error      string     `json:"error,omitempty"`
	OrderID    *uuid.UUID `json:"order_id"`
	Position   string     `json:"position"`
	streamID   string
}

const webhookColumns = `id, shop, webhook_id, topic, event_id, received_at, status, result, error, order_id,
	transaction_id::text::bigint, global_position, stream_id`

func scanWebhook(row pgx.CollectableRow) (webhookSummary, error) {
	var (
		w    webhookSummary
		txid int64
		pos  int64
	)
	err := row.Scan(&w.ID, &w.Shop, &w.WebhookID, &w.Topic, &w.EventID, &w.ReceivedAt, &w.Status, &w.Result,
		&w.Error, &w.OrderID, &txid, &pos, &w.streamID)
	w.Position = eventstore.Position{TransactionID: uint64(txid), GlobalPos: pos}.String()
	return w, err
}

type webhookCursor struct {
	ReceivedAt time.Time `json:"t"`
	ID         uuid.UUID `json:"id"`
}

var webhookStatuses = []string{app.WebhookStatusReceived, app.WebhookStatusProcessed, app.WebhookStatusFailed}

// listWebhooks pages through the shop's webhook log, newest first.
func (s *server) listWebhooks(c *gin.Context) {
	var (
		errs queryErrors
		f    sqlFilter
	)
	limit := pageSize(c, &errs)
	f.add("shop = ?", principalFrom(c).Shop)
	if v := c.Query("status"); v != "" {
		if !slices.Contains(webhookStatuses, v) {
			errs.add("status", "must be one of "+strings.Join(webhookStatuses, ", "))
		}
		f.add("status = ?", v)
	}
	if v := c.Query("topic"); v != "" {
		f.add("topic = ?", v)
	}
	var cur webhookCursor
	if decodeCursor(c, &cur, &errs) {
		f.add("(received_at, id) < (?, ?)", cur.ReceivedAt, cur.ID)
	}
	if errs.answered(c) {
		return
	}
	rows, err := s.ReadPool.Query(c.Request.Context(), `SELECT `+webhookColumns+` FROM webhooks_view WHERE `+f.sql()+`
		ORDER BY received_at DESC, id DESC LIMIT `+strconv.Itoa(limit+1), f.args...)
	if err != nil {
		s.problemFromError(c, err)
		return
	}
	items, err := pgx.CollectRows(rows, scanWebhook)
	if err != nil {
		s.problemFromError(c, err)
		return
	}
	p := page[webhookSummary]{Items: items}
	if len(items) > limit {
		p.Items = items[:limit]
		last := p.Items[limit-1]
		p.NextCursor = encodeCursor(webhookCursor{ReceivedAt: last.ReceivedAt, ID: last.ID})
	}
	c.JSON(http.StatusOK, p)
}

// webhookRow finds a webhook of the caller's shop by its event id.
func (s *server) webhookRow(c *gin.Context) (webhookSummary, bool) {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		abortProblem(c, http.StatusNotFound, "no such resource")
		return webhookSummary{}, false
	}
	rows, err := s.ReadPool.Query(c.Request.Context(), `SELECT `+webhookColumns+` FROM webhooks_view
		WHERE id = $1 AND shop = $2`, id, principalFrom(c).Shop)
	if err != nil {
		s.problemFromError(c, err)
		return webhookSummary{}, false
	}
	w, err := pgx.CollectExactlyOneRow(rows, scanWebhook)
	if errors.Is(err, pgx.ErrNoRows) {
		abortProblem(c, http.StatusNotFound, "no such resource")
		return webhookSummary{}, false
	}
	if err != nil {
		s.problemFromError(c, err)
		return webhookSummary{}, false
	}
	return w, true
}

// webhookEvent is one event of a webhook's stream, for the detail view.
type webhookEvent struct {
	Type       string              `json:"type"`
	Version    int64               `json:"version"`
	RecordedAt time.Time           `json:"recorded_at"`
	Data       any                 `json:"data"`
	Metadata   eventstore.Metadata `json:"metadata"`
}

// getWebhook shows a webhook with its raw body and headers from the event
// store, whether its signature holds (never the signature itself), and
// every outcome recorded for it.
func (s *server) getWebhook(c *gin.Context) {
	w, ok := s.webhookRow(c)
	if !ok {
		return
	}
	stored, err := s.Store.ReadStream(c.Request.Context(), w.streamID, 1)
	if err != nil {
		s.problemFromError(c, err)
		return
	}
	received, err := eventstore.DecodeEvent(stored[0].Type, stored[0].Data)
	if err != nil {
		s.problemFromError(c, err)
		return
	}
	wh, _ := received.(domain.WebhookReceived)
	signature, err := s.signatureStatus(c.Request.Context(), wh)
	if err != nil {
		s.problemFromError(c, err)
		return
	}
	history := make([]webhookEvent, 0, len(stored)-1)
	for _, e := range stored[1:] {
		d, err := eventstore.DecodeEvent(e.Type, e.Data)
		if err != nil {
			s.problemFromError(c, err)
			return
		}
		history = append(history, webhookEvent{Type: e.Type, Version: e.StreamVersion, RecordedAt: e.RecordedAt, Data: d, Metadata: e.Metadata})
	}
	c.JSON(http.StatusOK, gin.H{
		"webhook":        w,
		"headers":        wh.WithoutSignature().Headers,
		"signature":      signature,
		"body_base64":    base64.StdEncoding.EncodeToString(wh.Body),
		"body_erased":    string(wh.Body) == eventstore.Erased, // its key was destroyed by a redaction
		"triggered_at":   wh.TriggeredAt,
		"api_version":    wh.APIVersion,
		"correlation_id": stored[0].Metadata.CorrelationID,
		"outcomes":       history,
	})
}

// redeliverWebhook runs processing again from the stored raw event, now.
// A processed webhook is left as it is.
func (s *server) redeliverWebhook(c *gin.Context) {
	w, ok := s.webhookRow(c)
	if !ok {
		return
	}
	outcome, err := s.Webhooks.Redeliver(c.Request.Context(), w.streamID)
	if err != nil {
		s.problemFromError(c, err)
		return
	}
	c.JSON(http.StatusOK, outcome)
}
