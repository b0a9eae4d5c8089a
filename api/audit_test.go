package api_test

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ordermill/ordermill/audit"
	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/config"
	"github.com/ordermill/ordermill/internal/testenv/apitest"
)

func TestAuditAPI(t *testing.T) {
	e := apitest.New(t)
	const shop = "audit.myshopify.com"
	owner := e.UserToken(t, shop, domain.RoleOwner)
	auditor := e.UserToken(t, shop, domain.RoleAuditor)
	staff := e.UserToken(t, shop, domain.RoleStaff)
	stranger := e.UserToken(t, "other.myshopify.com", domain.RoleAuditor)
	status := func(resp *http.Response, want int) string {
		t.Helper()
		body := apitest.ReadBody(t, resp)
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d, want %d: %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, want, body)
		}
		return body
	}

	// Verify: auditors and owners, over their own shop's streams.
	status(e.Do(t, http.MethodGet, "/api/v1/audit/verify", staff, nil), http.StatusForbidden)
	var verify struct {
		Shop   string `json:"shop"`
		OK     bool   `json:"ok"`
		Events int    `json:"events"`
	}
	apitest.Decode(t, e.Do(t, http.MethodGet, "/api/v1/audit/verify", auditor, nil), &verify)
	if verify.Shop != shop || !verify.OK || verify.Events == 0 {
		t.Fatalf("verify: %+v", verify)
	}

	// Time travel through an order placed and paid through the API.
	o := placeOrder(t, e, owner, sampleOrder("audit@example.com"))
	status(e.Do(t, http.MethodPost, "/api/v1/orders/"+o.ID+"/pay", owner, map[string]any{}), http.StatusOK)
	var at struct {
		Version int64             `json:"version"`
		State   domain.OrderState `json:"state"`
	}
	apitest.Decode(t, e.Do(t, http.MethodGet, "/api/v1/audit/orders/"+o.ID+"/state?at="+o.Position, auditor, nil), &at)
	if at.Version != 1 || at.State.FinancialStatus != domain.FinancialPending {
		t.Fatalf("state at placement: %+v", at)
	}
	apitest.Decode(t, e.Do(t, http.MethodGet, "/api/v1/audit/orders/"+o.ID+"/state", auditor, nil), &at)
	if at.Version != 2 || at.State.FinancialStatus != domain.FinancialPaid {
		t.Fatalf("state now: %+v", at)
	}
	status(e.Do(t, http.MethodGet, "/api/v1/audit/orders/"+o.ID+"/state?at=1999-01-01T00:00:00Z", auditor, nil), http.StatusNotFound)
	status(e.Do(t, http.MethodGet, "/api/v1/audit/orders/"+o.ID+"/state?at=soon", auditor, nil), http.StatusBadRequest)
	status(e.Do(t, http.MethodGet, "/api/v1/audit/orders/"+o.ID+"/state", stranger, nil), http.StatusNotFound)

	// Export: the caller's shop only, with hashes.
	pos, err := eventstore.ParsePosition(o.Position)
	if err != nil {
		t.Fatal(err)
	}
	store := e.Platform.Store
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		head, _, err := store.Head(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if head.After(pos) { // the payment after it is readable too
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("events never became readable")
		}
	}
	resp := e.Do(t, http.MethodGet, "/api/v1/audit/export?format=csv", auditor, nil)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Fatalf("export content type %q", ct)
	}
	records, err := csv.NewReader(strings.NewReader(status(resp, http.StatusOK))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var orderEvents int
	for _, r := range records[1:] {
		if r[8] != shop {
			t.Fatalf("export holds another shop's event: %v", r)
		}
		if r[4] == domain.OrderStream(uuid.MustParse(o.ID)) {
			orderEvents++
		}
	}
	if records[0][13] != "hash" || orderEvents < 1 {
		t.Fatalf("export: header %v, %d order events", records[0], orderEvents)
	}
	sc := bufio.NewScanner(strings.NewReader(status(e.Do(t, http.MethodGet, "/api/v1/audit/export?since="+o.Position, auditor, nil), http.StatusOK)))
	for sc.Scan() {
		if !strings.Contains(sc.Text(), `"hash":"`) {
			t.Fatalf("jsonl line without hash: %s", sc.Text())
		}
	}
	status(e.Do(t, http.MethodGet, "/api/v1/audit/export?format=xml", auditor, nil), http.StatusBadRequest)

	// Webhook trace with the signature re-checked.
	body := []byte(`{"id": 1}`)
	mac := hmac.New(sha256.New, []byte("s3cret"))
	mac.Write(body)
	wh, err := eventstore.Encode(shop, eventstore.Metadata{}, domain.WebhookReceived{Shop: shop, Topic: "shop/update",
		WebhookID: "w-9", Headers: map[string]string{"X-Shopify-Hmac-Sha256": base64.StdEncoding.EncodeToString(mac.Sum(nil))},
		Body: body, ReceivedAt: time.Now().UTC()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Append(context.Background(), domain.WebhookStream(shop, "w-9"), eventstore.NoStream, wh...); err != nil {
		t.Fatal(err)
	}
	var trace audit.WebhookTrace
	apitest.Decode(t, e.Do(t, http.MethodGet, "/api/v1/audit/webhooks/"+shop+"/w-9", auditor, nil, "X-Audit-Webhook-Secret", "s3cret"), &trace)
	if trace.Signature == nil || !trace.Signature.Valid || string(trace.Webhook.Body) != string(body) {
		t.Fatalf("trace: %+v", trace)
	}
	status(e.Do(t, http.MethodGet, "/api/v1/audit/webhooks/"+shop+"/w-9", stranger, nil), http.StatusNotFound)
	status(e.Do(t, http.MethodGet, "/api/v1/audit/webhooks/"+shop+"/w-404", auditor, nil), http.StatusNotFound)
}

func TestAuditStatusAPI(t *testing.T) {
	e := apitest.New(t, func(c *config.Config) { c.AuditInterval = 2 * time.Hour })
	const shop = "audit-status.myshopify.com"
	auditor := e.UserToken(t, shop, domain.RoleAuditor)
	staff := e.UserToken(t, shop, domain.RoleStaff)
	type status struct {
		ScheduleSeconds *int64 `json:"schedule_seconds"`
		LastRun         *struct {
			FinishedAt time.Time `json:"finished_at"`
			OK         bool      `json:"ok"`
		} `json:"last_run"`
		Checkpoint *struct {
			ID    int64  `json:"id"`
			KeyID string `json:"key_id"`
		} `json:"checkpoint"`
	}
	if resp := e.Do(t, http.MethodGet, "/api/v1/audit/status", staff, nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("staff reads the audit status: %d", resp.StatusCode)
	}
	var before status
	apitest.Decode(t, e.Do(t, http.MethodGet, "/api/v1/audit/status", auditor, nil), &before)
	if before.ScheduleSeconds == nil || *before.ScheduleSeconds != 7200 || before.Checkpoint != nil {
		t.Fatalf("before any run: %+v", before)
	}

	// A scheduled round: verify the whole log, record it, sign its heads.
	ctx := context.Background()
	log := audit.New(e.Platform.Store)
	report, err := log.Audit(ctx, audit.AuditOptions{})
	if err != nil {
		t.Fatal(err)
	}
	run, err := log.RecordAudit(ctx, report)
	if err != nil {
		t.Fatal(err)
	}
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := log.SignCheckpoint(ctx, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	var after status
	apitest.Decode(t, e.Do(t, http.MethodGet, "/api/v1/audit/status", auditor, nil), &after)
	if after.LastRun == nil || !after.LastRun.OK || after.LastRun.FinishedAt.Sub(run.FinishedAt).Abs() > time.Millisecond || after.Checkpoint == nil || after.Checkpoint.ID != cp.ID ||
		after.Checkpoint.KeyID != audit.KeyID(key.Public().(ed25519.PublicKey)) {
		t.Fatalf("after a round: %+v", after)
	}
}

// Verify now records a run of the caller's shop: the answer and the status
// carry its verdict and its progress at the total; while one runs, another
// start is refused.
func TestShopVerifyRunAPI(t *testing.T) {
	e := apitest.New(t)
	const shop = "audit-run.myshopify.com"
	owner := e.UserToken(t, shop, domain.RoleOwner)
	auditor := e.UserToken(t, shop, domain.RoleAuditor)
	placeOrder(t, e, owner, sampleOrder("run@example.com"))
	type run struct {
		ID            int64  `json:"id"`
		State         string `json:"state"`
		EventsChecked int64  `json:"events_checked"`
		EventsTotal   int64  `json:"events_total"`
		StreamsTotal  int64  `json:"streams_total"`
		Result        *struct {
			OK     bool  `json:"ok"`
			Events int64 `json:"events"`
		} `json:"result"`
	}
	var status struct {
		VerifyRun *run `json:"verify_run"`
	}
	apitest.Decode(t, e.Do(t, http.MethodGet, "/api/v1/audit/status", auditor, nil), &status)
	if status.VerifyRun != nil {
		t.Fatalf("a run before any: %+v", status.VerifyRun)
	}
	resp := e.Do(t, http.MethodPost, "/api/v1/audit/verify-runs", auditor, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("verify run: %d %s", resp.StatusCode, apitest.ReadBody(t, resp))
	}
	var done run
	apitest.Decode(t, resp, &done)
	if done.State != "finished" || done.Result == nil || !done.Result.OK || done.EventsTotal == 0 ||
		done.EventsChecked != done.EventsTotal || done.Result.Events != done.EventsTotal || done.StreamsTotal == 0 {
		t.Fatalf("finished run: %+v", done)
	}
	apitest.Decode(t, e.Do(t, http.MethodGet, "/api/v1/audit/status", auditor, nil), &status)
	if status.VerifyRun == nil || status.VerifyRun.ID != done.ID || status.VerifyRun.State != "finished" ||
		status.VerifyRun.EventsChecked != done.EventsTotal {
		t.Fatalf("status after the run: %+v", status.VerifyRun)
	}

	// A run in progress (started, not yet walking) refuses a second.
	if _, err := audit.New(e.Platform.Store).StartShopRun(context.Background(), shop); err != nil {
		t.Fatal(err)
	}
	apitest.Problem(t, e.Do(t, http.MethodPost, "/api/v1/audit/verify-runs", owner, nil), http.StatusConflict)
	apitest.Decode(t, e.Do(t, http.MethodGet, "/api/v1/audit/status", auditor, nil), &status)
	if status.VerifyRun == nil || status.VerifyRun.State != "running" || status.VerifyRun.EventsChecked != 0 ||
		status.VerifyRun.EventsTotal != done.EventsTotal || status.VerifyRun.Result != nil {
		t.Fatalf("status while a run is going: %+v", status.VerifyRun)
	}
}
