package api

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ordermill/ordermill/audit"
	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/privacy"
)

// A stored webhook signature is never served. Shopify's HMAC covers the body
// only, so anyone holding a body and its signature can post the body again,
// under any topic; every API reader can see bodies. The API shows whether
// the signature holds instead (signatureStatus).

// Signature states of a stored webhook, as the API shows them.
const (
	signatureValid   = "valid"   // an active secret of the shop signs the stored body
	signatureInvalid = "invalid" // none does: the secret was rotated since, or the stored webhook differs
	signatureErased  = "erased"  // the body's key was destroyed; nothing is left to check
)

// signatureStatus checks a stored webhook's signature again with the shop's
// active secrets.
func (s *server) signatureStatus(ctx context.Context, wh domain.WebhookReceived) (string, error) {
	if string(wh.Body) == eventstore.Erased {
		return signatureErased, nil
	}
	keys, err := s.Shops.WebhookSecrets(ctx, wh.Shop)
	if err != nil {
		return "", err
	}
	if validWebhookHMAC(wh.Body, wh.Signature(), keys) {
		return signatureValid, nil
	}
	return signatureInvalid, nil
}

// traceView is a webhook trace without the stored signature, nor the one
// computed with a secret the auditor sent: the auditor learns whether they
// match.
func traceView(t audit.WebhookTrace) (audit.WebhookTrace, error) {
	t.Webhook = t.Webhook.WithoutSignature()
	data, err := json.Marshal(t.Webhook)
	if err != nil {
		return t, err
	}
	t.Received.Data = data
	if t.Signature != nil {
		sig := *t.Signature
		sig.Header, sig.Computed = "", ""
		t.Signature = &sig
	}
	return t, nil
}

// withheld replaces a signature stored in plain text in an export.
const withheld = "[withheld]"

// exportView withholds a webhook signature stored in plain text from an
// exported event: those of webhooks captured before signatures were sealed
// (they sit among the headers) or stored without a cipher. Such an event's hash no longer recomputes
// from the export; ordermill-replay export, which reads the database, has
// it whole. Every other event is passed on byte for byte.
func exportView(e audit.ExportedEvent) (audit.ExportedEvent, error) {
	if e.Type != (domain.WebhookReceived{}).EventType() {
		return e, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(e.Data, &obj); err != nil {
		return e, fmt.Errorf("export %s: %w", e.StreamID, err)
	}
	changed := false
	if raw, ok := obj["hmac"]; ok {
		var v string
		if json.Unmarshal(raw, &v) != nil || !privacy.Sealed(v) {
			obj["hmac"], changed = json.RawMessage(`"`+withheld+`"`), true
		}
	}
	var headers map[string]string
	if json.Unmarshal(obj["headers"], &headers) == nil {
		for name := range headers {
			if strings.EqualFold(name, domain.HeaderShopifyHMAC) {
				headers[name] = withheld
				obj["headers"], _ = json.Marshal(headers)
				changed = true
			}
		}
	}
	if !changed {
		return e, nil
	}
	data, err := json.Marshal(obj)
	if err != nil {
		return e, fmt.Errorf("export %s: %w", e.StreamID, err)
	}
	e.Data = data
	return e, nil
}
