package shopify

import (
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/ordermill/ordermill/domain"
)

// Shopify's HMAC covers a webhook's body only: the topic and shop headers
// are not signed. A genuine body posted again under another topic, or under
// another shop that shares the app's secret, still verifies. So a body is
// acted on only once it is shown to be a body of its topic, of the shop
// that signed it (DecodeWebhook).

// Signer is the shop whose webhook secret verified a delivery.
type Signer struct {
	Domain string // X-Shopify-Shop-Domain, lower case
	ShopID int64  // Shopify's id of the shop; 0 when it was not recorded
}

// ErrTopicMismatch is matched by every *TopicMismatchError.
var ErrTopicMismatch = errors.New("webhook body does not match its topic")

// TopicMismatchError reports a signed webhook whose body is not a body of its
// topic for the signing shop. It unwraps to the *domain.ValidationError that names
// the fields in question.
type TopicMismatchError struct {
	Topic string
	Shop  string
	Err   *domain.ValidationError
}

func (e *TopicMismatchError) Error() string {
	parts := make([]string, len(e.Err.Fields))
	for i, f := range e.Err.Fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return "not a " + e.Topic + " body of " + e.Shop + ": " + strings.Join(parts, "; ")
}

// Unwrap returns the field errors, so the mismatch is also a *domain.ValidationError.
func (e *TopicMismatchError) Unwrap() error { return e.Err }

// Is lets errors.Is(err, ErrTopicMismatch) match any topic mismatch.
func (e *TopicMismatchError) Is(target error) bool { return target == ErrTopicMismatch }

// DecodeWebhook decodes a verified webhook body as its (lower-case)
// topic says, and so checks that it is one: a domain.ShopifyOrder for the
// order snapshot topics, a RefundBody, a domain.ShopifyFulfillment for
// fulfillments/*, an OrderEdit, an OrderDeletion, an InventoryLevel, a Product, a
// ComplianceRequest for the privacy topics and a Shop for app/uninstalled, the last two
// naming the signing shop. A topic Ordermill does not act on decodes to nil.
// Every error is a *domain.ValidationError; a body of another kind or another shop
// on the shop-naming topics is a *TopicMismatchError.
func DecodeWebhook(topic string, body []byte, signer Signer) (any, error) {
	switch {
	case slices.Contains(OrderSnapshotTopics, topic):
		// Order bodies carry no shop id; the order decoder's required fields
		// (id, name, currency, times, totals, line items) are the check.
		return DecodeOrder(body)
	case topic == TopicRefundsCreate:
		// Amounts are scaled by the order's currency, which the body does not
		// always name: any two-decimal code checks the shape here, and the
		// processor decodes again with the order's.
		return DecodeRefund(body, "XXX")
	case topic == TopicFulfillmentsCreate || topic == TopicFulfillmentsUpdate:
		return DecodeFulfillment(body)
	case topic == TopicOrdersEdited:
		return DecodeOrderEdit(body)
	case topic == TopicOrdersDelete:
		return DecodeOrderDeletion(body)
	case topic == TopicInventoryLevelsUpdate:
		return DecodeInventoryLevel(body)
	case topic == TopicProductsCreate || topic == TopicProductsUpdate:
		return DecodeProduct(body)
	case topic == TopicLocationsCreate || topic == TopicLocationsUpdate:
		return DecodeLocation(body)
	case topic == TopicAppUninstalled:
		return decodeShop(topic, body, signer)
	case ComplianceTopic(topic):
		return decodeCompliance(topic, body, signer)
	}
	return nil, nil
}

// ComplianceRequest is the body of one of Shopify's mandatory privacy
// webhooks: customers/data_request, customers/redact or shop/redact.
type ComplianceRequest struct {
	Topic      string
	ShopID     int64
	ShopDomain string
	CustomerID int64   // 0 for shop/redact
	Orders     []int64 // orders_to_redact or orders_requested
}

// complianceKeys tell the compliance bodies apart: each key and the topics
// whose bodies carry it. Every other topic's body must not carry it, so that
// a customer's redaction cannot pass as shop/redact (erasing the whole shop),
// nor a data request as a redaction.
var complianceKeys = []struct {
	key    string
	topics []string
}{
	{"customer", []string{TopicCustomersRedact, TopicCustomersDataRequest}},
	{"orders_to_redact", []string{TopicCustomersRedact}},
	{"orders_requested", []string{TopicCustomersDataRequest}},
	{"data_request", []string{TopicCustomersDataRequest}},
}

func decodeCompliance(topic string, body []byte, signer Signer) (ComplianceRequest, error) {
	var keys map[string]json.RawMessage
	if err := decodeJSON(body, &keys); err != nil {
		return ComplianceRequest{}, mismatch(topic, signer, err)
	}
	var raw struct {
		ShopID     jsonNumber `json:"shop_id"`
		ShopDomain string     `json:"shop_domain"`
		Customer   *struct {
			ID jsonNumber `json:"id"`
		} `json:"customer"`
		OrdersToRedact  []jsonNumber `json:"orders_to_redact"`
		OrdersRequested []jsonNumber `json:"orders_requested"`
	}
	if err := decodeJSON(body, &raw); err != nil {
		return ComplianceRequest{}, mismatch(topic, signer, err)
	}
	var f fieldErrors
	p := parser{f: &f}
	r := ComplianceRequest{Topic: topic, ShopDomain: raw.ShopDomain}
	r.ShopID = p.signingShop(signer, "shop_id", raw.ShopID, "shop_domain", raw.ShopDomain)
	for _, k := range complianceKeys {
		_, has := keys[k.key]
		switch carries := slices.Contains(k.topics, topic); {
		case has && !carries:
			f.add(k.key, "belongs to a %s body", strings.Join(k.topics, " or "))
		case k.key == "customer" && carries:
			var id jsonNumber
			if raw.Customer != nil {
				id = raw.Customer.ID
			}
			r.CustomerID = p.requiredID("customer.id", id)
		}
	}
	orders, field := raw.OrdersToRedact, "orders_to_redact"
	if topic == TopicCustomersDataRequest {
		orders, field = raw.OrdersRequested, "orders_requested"
	}
	for i, n := range orders {
		r.Orders = append(r.Orders, p.id(field+"["+strconv.Itoa(i)+"]", n))
	}
	if err := f.err(); err != nil {
		return ComplianceRequest{}, mismatch(topic, signer, err)
	}
	return r, nil
}

// Shop is the shop resource, the body of app/uninstalled.
type Shop struct {
	ID              int64
	MyshopifyDomain string
}

func decodeShop(topic string, body []byte, signer Signer) (Shop, error) {
	var raw struct {
		ID              jsonNumber `json:"id"`
		MyshopifyDomain string     `json:"myshopify_domain"`
	}
	if err := decodeJSON(body, &raw); err != nil {
		return Shop{}, mismatch(topic, signer, err)
	}
	var f fieldErrors
	p := parser{f: &f}
	s := Shop{MyshopifyDomain: raw.MyshopifyDomain}
	s.ID = p.signingShop(signer, "id", raw.ID, "myshopify_domain", raw.MyshopifyDomain)
	if err := f.err(); err != nil {
		return Shop{}, mismatch(topic, signer, err)
	}
	return s, nil
}

// signingShop parses the shop id and domain a body names and checks them
// against the signing shop: the domain always, the id when it is known.
func (p parser) signingShop(signer Signer, idField string, rawID jsonNumber, domainField, domain string) int64 {
	id := p.requiredID(idField, rawID)
	if id != 0 && signer.ShopID != 0 && id != signer.ShopID {
		p.f.add(idField, "is %d, not the id of the signing shop (%d)", id, signer.ShopID)
	}
	switch d := strings.ToLower(strings.TrimSpace(domain)); {
	case d == "":
		p.f.add(domainField, "is required")
	case d != signer.Domain:
		p.f.add(domainField, "is %q, not the signing shop %s", domain, signer.Domain)
	}
	return id
}

// requiredID parses an id that must be present and positive.
func (p parser) requiredID(field string, n jsonNumber) int64 {
	reported := len(*p.f)
	id := p.id(field, n)
	if id == 0 && len(*p.f) == reported {
		p.f.add(field, "is required")
	}
	return id
}

// mismatch turns the field errors of a shop-naming topic's body into a
// *TopicMismatchError.
func mismatch(topic string, signer Signer, err error) error {
	var ve *domain.ValidationError
	if errors.As(err, &ve) {
		return &TopicMismatchError{Topic: topic, Shop: signer.Domain, Err: ve}
	}
	return err
}
