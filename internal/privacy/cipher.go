package privacy

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/secrets"
)

// sealedPrefix starts a sealed field: "sealed:v1:<key id>:<base64 nonce‖ciphertext>".
// Sealed fields stay JSON strings, so the stored event keeps its shape. A
// sealed bytes field is base64 of "sealed:v1:<key id>:<nonce‖ciphertext>",
// so a reader that does not open it still decodes the event.
const sealedPrefix = "sealed:v1:"

// Sealed reports whether a stored string field holds a sealed value.
func Sealed(value string) bool { return strings.HasPrefix(value, sealedPrefix) }

// field is a personal field of an event type's payload. A bytes field holds
// base64 in the payload (a []byte in Go); its raw bytes are sealed.
type field struct {
	name  string
	bytes bool
}

// personal lists the personal fields of each event type. Everything else in
// an event (ids, amounts, timestamps, product lines) stays readable.
var personal = map[string][]field{
	// The signature is no personal data, but with the body it lets anyone
	// post the body again: it is sealed with it, and erased with it.
	"webhook.received": {{name: "body_base64", bytes: true}, {name: "hmac"}},
	"order.placed":     {{name: "email"}, {name: "customer_name"}},
	// Shopify's newest word on the order: its contact and its note.
	"order.snapshot_applied": {{name: "email"}, {name: "customer_name"}, {name: "note"}},
	"order.annotated":        {{name: "note"}},
	"email.sent":             {{name: "to"}},
	"email.failed":           {{name: "to"}},
}

// Cipher is the event store's Cipher: it seals personal fields with the key
// of the customer they belong to when Shopify names one, else with the shop's.
type Cipher struct {
	keys *Keyring
}

// NewCipher returns the cipher over keys.
func NewCipher(keys *Keyring) *Cipher { return &Cipher{keys: keys} }

var _ eventstore.Cipher = (*Cipher)(nil)

func sealContext(eventType, name string) string { return "event:" + eventType + ":" + name }

// Seal implements eventstore.Cipher. The keys of all events are found (or
// made) together, in one round trip for however many new subjects.
func (c *Cipher) Seal(ctx context.Context, events []eventstore.NewEvent) error {
	_, err := c.seal(ctx, events, c.keys.liveKeys)
	return err
}

// SealStaged implements eventstore.Cipher: the keys of subjects with none
// cached are made and not stored, and events are sealed with them. A
// subject may have a key stored already (another process made it, or the
// cache let it go): its staged key then loses in the group commit's
// statement, and its events are sealed again, alone.
func (c *Cipher) SealStaged(ctx context.Context, events []eventstore.NewEvent) (eventstore.StagedKeys, error) {
	var staged *stagedKeys
	used, err := c.seal(ctx, events, func(_ context.Context, names []liveName) (map[liveName]liveKey, error) {
		keys, s, err := c.keys.stage(names)
		staged = s
		return keys, err
	})
	if err != nil || staged == nil {
		return nil, err
	}
	staged.byEvent = make([]uuid.UUID, len(events))
	for i, id := range used {
		if _, made := staged.made[id]; made {
			staged.byEvent[i] = id
		}
	}
	return staged, nil
}

// seal seals events with the keys that keys returns for their subjects and
// returns the key each event was sealed with (uuid.Nil: none).
func (c *Cipher) seal(ctx context.Context, events []eventstore.NewEvent,
	keys func(context.Context, []liveName) (map[liveName]liveKey, error)) ([]uuid.UUID, error) {
	type toSeal struct {
		obj   map[string]json.RawMessage
		plain map[string][]byte
		name  liveName
	}
	todo := map[int]toSeal{}
	var names []liveName
	for i := range events {
		e := &events[i]
		fields := personal[e.Type]
		if fields == nil {
			continue
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(e.Data, &obj); err != nil {
			return nil, fmt.Errorf("seal %s: %w", e.Type, err)
		}
		plain := map[string][]byte{}
		for _, f := range fields {
			if b, ok := plaintext(obj[f.name], f.bytes); ok {
				plain[f.name] = b
			}
		}
		if len(plain) == 0 {
			continue
		}
		subject, err := c.subject(ctx, e.Type, obj, plain)
		if err != nil {
			return nil, fmt.Errorf("seal %s: %w", e.Type, err)
		}
		todo[i] = toSeal{obj: obj, plain: plain, name: liveName{e.Tenant, subject}}
		names = append(names, liveName{e.Tenant, subject})
	}
	used := make([]uuid.UUID, len(events))
	if len(todo) == 0 {
		return used, nil
	}
	found, err := keys(ctx, names)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	for i, t := range todo {
		e := &events[i]
		k := found[t.name]
		used[i] = k.id
		for _, f := range personal[e.Type] {
			b, ok := t.plain[f.name]
			if !ok {
				continue
			}
			t.obj[f.name] = sealedToken(k.id, k.key.Seal(b, sealContext(e.Type, f.name)), f.bytes)
		}
		e.Data = marshalObject(t.obj)
	}
	return used, nil
}

// sealedToken is a sealed field's JSON string. Nothing in it (the prefix, a
// key id, base64) needs escaping, so it is written as is.
func sealedToken(id uuid.UUID, ct []byte, isBytes bool) json.RawMessage {
	head := sealedPrefix + id.String() + ":"
	b := []byte{'"'}
	if isBytes {
		b = base64.StdEncoding.AppendEncode(b, append([]byte(head), ct...))
	} else {
		b = base64.RawStdEncoding.AppendEncode(append(b, head...), ct)
	}
	return append(b, '"')
}

// marshalObject is json.Marshal of obj without its check of every value:
// they come from json.Unmarshal or json.Marshal, so they are valid JSON.
func marshalObject(obj map[string]json.RawMessage) json.RawMessage {
	size := 2
	for name, v := range obj {
		size += len(name) + len(v) + 4
	}
	b := make([]byte, 1, size)
	b[0] = '{'
	for i, name := range slices.Sorted(maps.Keys(obj)) {
		if i > 0 {
			b = append(b, ',')
		}
		q, _ := json.Marshal(name)
		b = append(append(append(b, q...), ':'), obj[name]...)
	}
	return append(b, '}')
}

// plaintext returns what to seal of a field's JSON value: nothing when it is
// absent, empty or already sealed.
func plaintext(raw json.RawMessage, isBytes bool) ([]byte, bool) {
	b, ok := fieldValue(raw, isBytes)
	if !ok || len(b) == 0 || bytes.HasPrefix(b, []byte(sealedPrefix)) {
		return nil, false
	}
	return b, true
}

// fieldValue is a field's string value, base64-decoded for a bytes field.
func fieldValue(raw json.RawMessage, isBytes bool) ([]byte, bool) {
	s, ok := jsonString(raw)
	if !ok || !isBytes {
		return s, ok
	}
	b, err := base64.StdEncoding.AppendDecode(nil, s)
	return b, err == nil
}

// jsonString is the value of a JSON string. One without escapes (base64, a
// sealed token) is its bytes between the quotes, not a decoded copy.
func jsonString(raw json.RawMessage) ([]byte, bool) {
	if len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' && bytes.IndexByte(raw, '\\') < 0 {
		return raw[1 : len(raw)-1], true
	}
	var s string
	if raw == nil || json.Unmarshal(raw, &s) != nil {
		return nil, false
	}
	return []byte(s), true
}

// subject is whose key seals an event's personal fields (plain: those
// fields, decoded): the Shopify customer it is about when known, otherwise
// the shop.
func (c *Cipher) subject(ctx context.Context, eventType string, obj map[string]json.RawMessage, plain map[string][]byte) (string, error) {
	var customer json.Number
	switch eventType {
	case "webhook.received":
		// Order and customer webhooks name the customer at the top level.
		body := plain["body_base64"]
		var b struct {
			Customer *struct {
				ID json.Number `json:"id"`
			} `json:"customer"`
		}
		if json.Unmarshal(body, &b) == nil && b.Customer != nil {
			customer = b.Customer.ID
		}
	case "order.placed", "order.snapshot_applied":
		_ = json.Unmarshal(obj["customer_id"], &customer)
	case "email.sent", "email.failed":
		// An email belongs to whoever the event that caused it was about.
		var source string
		_ = json.Unmarshal(obj["source_event_id"], &source)
		var id *string
		err := c.keys.pool.QueryRow(ctx, `SELECT data ->> 'customer_id' FROM events
			WHERE event_id = $1 AND event_type = 'order.placed'`, source).Scan(&id)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return "", err
		}
		if id != nil {
			customer = json.Number(*id)
		}
	}
	if n, err := customer.Int64(); err == nil && n > 0 {
		return CustomerSubject(n), nil
	}
	return SubjectShop, nil
}

// sealedField is one sealed field found in an event being opened.
type sealedField struct {
	event  int
	name   string
	bytes  bool
	key    uuid.UUID
	sealed []byte
}

// Open implements eventstore.Cipher. Fields whose key was destroyed read as
// eventstore.Erased; data sealed under another master key is an error.
func (c *Cipher) Open(ctx context.Context, events []eventstore.Event) error {
	return c.open(events, func(ids []uuid.UUID) (map[uuid.UUID]*secrets.Key, error) {
		return c.keys.Keys(ctx, ids)
	})
}

// OpenLocked implements eventstore.Cipher with Keyring.LockedKeys.
func (c *Cipher) OpenLocked(ctx context.Context, tx pgx.Tx, events []eventstore.Event) error {
	return c.open(events, func(ids []uuid.UUID) (map[uuid.UUID]*secrets.Key, error) {
		return c.keys.LockedKeys(ctx, tx, ids)
	})
}

// open opens events with the keys that keysOf returns.
func (c *Cipher) open(events []eventstore.Event, keysOf func([]uuid.UUID) (map[uuid.UUID]*secrets.Key, error)) error {
	var (
		found []sealedField
		objs  = map[int]map[string]json.RawMessage{}
		ids   []uuid.UUID
		seen  = map[uuid.UUID]bool{}
	)
	for i, e := range events {
		fields := personal[e.Type]
		if fields == nil {
			continue
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(e.Data, &obj); err != nil {
			return fmt.Errorf("open %s %s v%d: %w", e.Type, e.StreamID, e.StreamVersion, err)
		}
		for _, f := range fields {
			v, ok := fieldValue(obj[f.name], f.bytes)
			if !ok || !bytes.HasPrefix(v, []byte(sealedPrefix)) {
				continue
			}
			sf, err := parseSealed(v, f.bytes)
			if err != nil {
				return fmt.Errorf("open %s %s v%d: %s: %w", e.Type, e.StreamID, e.StreamVersion, f.name, err)
			}
			sf.event, sf.name, sf.bytes = i, f.name, f.bytes
			found = append(found, sf)
			objs[i] = obj
			if !seen[sf.key] {
				seen[sf.key] = true
				ids = append(ids, sf.key)
			}
		}
	}
	if len(found) == 0 {
		return nil
	}
	keys, err := keysOf(ids)
	if err != nil {
		return err
	}
	for _, f := range found {
		e := &events[f.event]
		plain, err := openField(keys[f.key], f.sealed, sealContext(e.Type, f.name))
		if err != nil {
			return fmt.Errorf("open %s %s v%d: %s: %w", e.Type, e.StreamID, e.StreamVersion, f.name, err)
		}
		value := string(plain)
		if f.bytes {
			value = base64.StdEncoding.EncodeToString(plain)
		}
		objs[f.event][f.name], _ = json.Marshal(value)
	}
	for i, obj := range objs {
		events[i].Data = marshalObject(obj)
	}
	return nil
}

var errMalformed = errors.New("malformed sealed value")

func parseSealed(v []byte, isBytes bool) (sealedField, error) {
	id, ct, ok := bytes.Cut(bytes.TrimPrefix(v, []byte(sealedPrefix)), []byte(":"))
	key, err := uuid.ParseBytes(id)
	if !ok || err != nil {
		return sealedField{}, errMalformed
	}
	if !isBytes {
		if ct, err = base64.RawStdEncoding.DecodeString(string(ct)); err != nil {
			return sealedField{}, errMalformed
		}
	}
	return sealedField{key: key, sealed: ct}, nil
}

// openField opens one field; a destroyed key (nil) reads as erased.
func openField(key *secrets.Key, sealed []byte, context string) ([]byte, error) {
	if key == nil {
		return []byte(eventstore.Erased), nil
	}
	return key.Open(sealed, context)
}
