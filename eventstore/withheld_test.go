package eventstore_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"strings"
	"testing"

	"github.com/ordermill/ordermill/audit"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/testenv"
)

// TestWithheldFields: a user.registered stored with a password hash, as
// earlier versions wrote it, stays in the table byte for byte (the chain
// verifies), but every reader gets it without the hash; the export names
// what it left out. The same field in another event type is no credential
// and is left alone.
func TestWithheldFields(t *testing.T) {
	ctx := context.Background()
	store := eventstore.New(testenv.Pool(t))
	const hash = "$2a$04$abcdefghijklmnopqrstuu5yS0t0s3Ykq0lX6S6dZ0b9xJcJb1H4e"
	legacy := eventstore.NewEvent{Type: "user.registered", Tenant: "a.myshopify.com",
		Data: json.RawMessage(`{"user_id":"44444444-4444-4444-8444-444444444444","email":"a@example.com","password_hash":"` + hash + `"}`)}
	later := eventstore.NewEvent{Type: "user.deactivated", Tenant: "a.myshopify.com", Data: json.RawMessage(`{}`)}
	other := eventstore.NewEvent{Type: "t.sample", Tenant: "a.myshopify.com", Data: json.RawMessage(`{"password_hash":"not-a-credential"}`)}
	if _, err := store.Append(ctx, "user-1", eventstore.NoStream, legacy, later); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Append(ctx, "sample-1", eventstore.NoStream, other); err != nil {
		t.Fatal(err)
	}

	stream, err := store.ReadStream(ctx, "user-1", 1)
	if err != nil {
		t.Fatal(err)
	}
	all, err := store.ReadAll(ctx, eventstore.Start, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range append(stream[:1], all[0]) {
		var data map[string]any
		if err := json.Unmarshal(e.Data, &data); err != nil {
			t.Fatal(err)
		}
		if _, ok := data["password_hash"]; ok || data["email"] != "a@example.com" {
			t.Errorf("read %s as %s", e.Type, e.Data)
		}
	}
	if !strings.Contains(string(all[2].Data), "not-a-credential") {
		t.Errorf("another event type lost its field: %s", all[2].Data)
	}

	var exported []audit.ExportedEvent
	if err := audit.New(store).Export(ctx, audit.ExportFilter{}, func(e audit.ExportedEvent) error {
		exported = append(exported, e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(exported) != 3 || strings.Contains(string(exported[0].Data), hash) ||
		len(exported[0].Withheld) != 1 || exported[0].Withheld[0] != "password_hash" || exported[1].Withheld != nil {
		t.Fatalf("exported %+v", exported)
	}
	// The export says which event it cannot prove; the next one still links to it.
	if !bytes.Equal(exported[1].PrevHash, exported[0].Hash) {
		t.Error("the successor's prev_hash does not link to the withheld event")
	}
	sum := sha256.Sum256(append(append([]byte{}, exported[1].PrevHash...), exported[1].CanonicalBytes()...))
	if !bytes.Equal(sum[:], exported[1].Hash) {
		t.Error("an event with nothing withheld does not recompute from the export")
	}
	var out bytes.Buffer
	w, err := audit.NewExportWriter(&out, audit.FormatJSONL)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range exported {
		if err := w.Write(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), hash) || !strings.Contains(out.String(), `"withheld":"password_hash"`) {
		t.Errorf("jsonl export:\n%s", out.String())
	}

	res, err := audit.New(store).Verify(ctx, nil)
	if err != nil || len(res.Findings) != 0 || res.Events != 3 {
		t.Fatalf("verify: %d events, %v, %+v", res.Events, err, res.Findings)
	}
}
