package main_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ordermill/ordermill/audit"
	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/testenv"
)

var binary string

// TestMain builds the tool once; the tests run it as an auditor would.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "replay-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	binary = filepath.Join(dir, "ordermill-replay")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	code           int
	stdout, stderr string
}

func replay(t *testing.T, dbURL string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	// The data dir is where a local master key is generated when none is configured.
	cmd.Env = append(os.Environ(), "ORDERMILL_DATABASE_URL="+dbURL, "ORDERMILL_DATA_DIR="+t.TempDir())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("run %v: %v", args, err)
	}
	return result{cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()}
}

func (r result) want(t *testing.T, code int, contains ...string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, code, r.stdout, r.stderr)
	}
	for _, s := range contains {
		if !strings.Contains(r.stdout+r.stderr, s) {
			t.Fatalf("output lacks %q\nstdout: %s\nstderr: %s", s, r.stdout, r.stderr)
		}
	}
}

// placeOrder appends a placed and a paid order and returns its id and events.
func placeOrder(t *testing.T, store *eventstore.Store) (uuid.UUID, []eventstore.Event) {
	t.Helper()
	id := uuid.New()
	placed, err := domain.PlaceOrder(domain.PlaceOrderCommand{OrderID: id, Shop: "demo.myshopify.com", Name: "#1",
		Source: domain.SourceAPI, Currency: "EUR", PlacedAt: time.Now(), Subtotal: 1000, Total: 1000,
		Lines: []domain.PlacedLine{{ID: "a", SKU: "MUG", Title: "Mug", Quantity: 1, UnitPrice: 1000}}})
	if err != nil {
		t.Fatal(err)
	}
	var events []eventstore.Event
	for i, e := range []domain.Event{placed[0], domain.OrderPaid{Amount: 1000, PaidAt: time.Now()}} {
		enc, err := eventstore.Encode("demo.myshopify.com", eventstore.Metadata{Actor: "test"}, e)
		if err != nil {
			t.Fatal(err)
		}
		res, err := store.Append(context.Background(), domain.OrderStream(id), eventstore.Exact(int64(i)), enc...)
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, res.Events...)
	}
	return id, events
}

func TestEverySubcommandHasHelp(t *testing.T) {
	replay(t, "", "--help").want(t, 0, "Usage: ordermill-replay", "verify", "export")
	for _, args := range [][]string{{"verify"}, {"checkpoint", "sign"}, {"checkpoint", "keygen"}, {"history"},
		{"state"}, {"export"}, {"replay"}, {"webhook"}, {"redeliver"}} {
		replay(t, "", append(args, "--help")...).want(t, 0, "Usage: ordermill-replay "+strings.Join(args, " "))
	}
	replay(t, "", "nonsense").want(t, 2, `unknown command "nonsense"`)
	replay(t, "", "history", "order").want(t, 2, "want 2 arguments")
}

func TestVerifyAndSignedCheckpointsThroughTheCLI(t *testing.T) {
	dbURL := testenv.DatabaseURL(t)
	pool := testenv.PoolFor(t, dbURL)
	store := eventstore.New(pool)
	placeOrder(t, store)
	id, _ := placeOrder(t, store)

	replay(t, dbURL, "verify").want(t, 0, "OK, nothing found", "none signed yet")
	key := filepath.Join(t.TempDir(), "audit.key")
	replay(t, dbURL, "checkpoint", "keygen", "--out", key).want(t, 0, "wrote")
	replay(t, dbURL, "checkpoint", "keygen", "--out", key).want(t, 2, "exists")
	replay(t, dbURL, "checkpoint", "sign", "--key", key).want(t, 0, "signed checkpoint 1: 2 streams")
	replay(t, dbURL, "verify", "--pubkey", key+".pub").want(t, 0, "OK, nothing found", "a key you supplied")

	// Test-only tampering, as the table owner could.
	err := pgx.BeginFunc(context.Background(), pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(context.Background(), fmt.Sprintf(`ALTER TABLE events DISABLE TRIGGER events_immutable_rows;
			UPDATE events SET data = jsonb_set(data, '{total}', '1') WHERE stream_id = '%s' AND stream_version = 1;
			ALTER TABLE events ENABLE TRIGGER events_immutable_rows`, domain.OrderStream(id)))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	r := replay(t, dbURL, "verify", "--json", "--record", "--pubkey", key+".pub")
	r.want(t, 1)
	var report audit.AuditReport
	if err := json.Unmarshal([]byte(r.stdout), &report); err != nil {
		t.Fatalf("verify --json: %v\n%s", err, r.stdout)
	}
	if len(report.Findings) != 1 || report.Findings[0].Kind != audit.FindingAltered ||
		report.Findings[0].Stream != domain.OrderStream(id) || report.Findings[0].Version != 1 {
		t.Fatalf("findings %+v", report.Findings)
	}
	if last, err := audit.New(store).LastAudit(context.Background()); err != nil || last.OK || last.FindingCount != 1 {
		t.Fatalf("recorded run %+v, %v", last, err)
	}
	replay(t, dbURL, "verify").want(t, 1, "1 findings", "altered", domain.OrderStream(id))
	replay(t, dbURL, "checkpoint", "sign", "--key", key).want(t, 2, "does not verify")

	replay(t, "postgres://nobody@127.0.0.1:1/none?connect_timeout=2", "verify").want(t, 2, "connect to postgres")
}

func TestHistoryStateAndExportThroughTheCLI(t *testing.T) {
	dbURL := testenv.DatabaseURL(t)
	store := eventstore.New(testenv.PoolFor(t, dbURL))
	id, events := placeOrder(t, store)

	replay(t, dbURL, "history", "order", id.String()).want(t, 0, "2 events", "order.placed", "order.paid")
	replay(t, dbURL, "history", "order", uuid.NewString()).want(t, 2, "stream not found")

	r := replay(t, dbURL, "state", "order", id.String(), "--at", events[0].Position.String(), "--json")
	r.want(t, 0)
	var at struct {
		Version int64             `json:"version"`
		State   domain.OrderState `json:"state"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &at); err != nil {
		t.Fatal(err)
	}
	if at.Version != 1 || at.State.FinancialStatus != domain.FinancialPending {
		t.Fatalf("state at first event: %+v", at)
	}
	replay(t, dbURL, "state", "order", id.String()).want(t, 0, "after version 2", "paid")
	replay(t, dbURL, "state", "order", id.String(), "--at", "2001-01-01T00:00:00Z").want(t, 0, "did not exist yet at")
	replay(t, dbURL, "state", "order", id.String(), "--at", "soon").want(t, 2, "neither an RFC 3339 time nor a position")

	waitReadable(t, store, events[1].Position)
	r = replay(t, dbURL, "export", "--shop", "demo.myshopify.com")
	r.want(t, 0)
	sc := bufio.NewScanner(strings.NewReader(r.stdout))
	var n int
	for sc.Scan() {
		var line struct {
			EventID uuid.UUID `json:"event_id"`
			Hash    string    `json:"hash"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatal(err)
		}
		if line.EventID != events[n].ID || line.Hash != fmt.Sprintf("%x", events[n].Hash) {
			t.Fatalf("line %d: %+v", n, line)
		}
		n++
	}
	if n != 2 {
		t.Fatalf("exported %d lines", n)
	}
	replay(t, dbURL, "export", "--format", "xml").want(t, 2, `unknown export format "xml"`)
	replay(t, dbURL, "export", "--format", "csv", "--shop", "other.myshopify.com").want(t, 0, "position,transaction_id")
}

// waitReadable waits until readers of "all" see p: they see an event once
// every older transaction on the server has finished.
func waitReadable(t *testing.T, store *eventstore.Store, p eventstore.Position) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		head, _, err := store.Head(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !p.After(head) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("position %s never became readable", p)
		}
	}
}
