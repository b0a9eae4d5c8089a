package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/ordermill/ordermill/audit"
	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/internal/config"
	"github.com/ordermill/ordermill/internal/testenv/apitest"
)

const operatorToken = "operator-token-for-tests-0123456789abcdef"

// shopVerify is GET /api/v1/audit/verify's answer.
type shopVerify struct {
	Shop     string          `json:"shop"`
	OK       bool            `json:"ok"`
	Events   int64           `json:"events"`
	Streams  int64           `json:"streams"`
	Findings []audit.Finding `json:"findings"`
}

// TestOperatorRoutes: with two shops, rebuilding read models and verifying
// the whole log answer 403 to every kind of shop caller and 200 to the
// operator; a shop's own verify counts and reports its own streams only,
// before and after another shop's event is tampered with.
func TestOperatorRoutes(t *testing.T) {
	t.Parallel()
	e, _ := newContractEnv(t, func(c *config.Config) { c.OperatorToken = operatorToken })
	ctx := context.Background()
	type shop struct {
		domain, customer, email, order string
		callers                        map[string]string // "owner", "token:auditor", ...
	}
	shops := []*shop{
		{domain: "ops-alpha.myshopify.com", customer: "Alma Alphonse", email: "alma@alpha-customer.test"},
		{domain: "ops-beta.myshopify.com", customer: "Bertil Betancourt", email: "bertil@beta-customer.test"},
	}
	for _, s := range shops {
		owner := e.UserToken(t, s.domain, domain.RoleOwner)
		order := sampleOrder(s.email)
		order["customer_name"] = s.customer
		s.order = placeOrder(t, e, owner, order).ID
		s.callers = map[string]string{"owner": owner,
			"staff": e.UserToken(t, s.domain, domain.RoleStaff), "auditor": e.UserToken(t, s.domain, domain.RoleAuditor)}
		for _, role := range []string{"owner", "staff", "auditor"} {
			s.callers["token:"+role] = create(t, e, owner, "/api/v1/tokens", http.StatusCreated,
				map[string]any{"name": "integration " + role, "role": role}).Token
		}
	}
	rebuild := map[string]string{"projection": "orders"}

	// Every shop caller is refused both operator actions with problem+json.
	for _, s := range shops {
		for who, token := range s.callers {
			for _, call := range []struct {
				method, path string
				body         any
			}{{http.MethodPost, "/api/v1/audit/rebuild", rebuild}, {http.MethodPost, "/api/v1/audit/verify", nil}} {
				p := apitest.Problem(t, e.Do(t, call.method, call.path, token, call.body), http.StatusForbidden)
				if strings.Contains(p.Detail, shops[0].customer) || strings.Contains(p.Detail, shops[1].customer) {
					t.Errorf("%s of %s: the refusal names a customer: %+v", who, s.domain, p)
				}
			}
		}
	}
	// The operator's token is no shop credential, and a wrong one is none at all.
	apitest.Problem(t, e.Do(t, http.MethodGet, "/api/v1/orders", operatorToken, nil), http.StatusUnauthorized)
	apitest.Problem(t, e.Do(t, http.MethodGet, "/api/v1/audit/verify", operatorToken, nil), http.StatusUnauthorized)
	apitest.Problem(t, e.Do(t, http.MethodPost, "/api/v1/audit/verify", operatorToken+"x", nil), http.StatusUnauthorized)
	apitest.Problem(t, e.Do(t, http.MethodPost, "/api/v1/audit/rebuild", "", rebuild), http.StatusUnauthorized)

	count := func(query string, args ...any) int64 {
		t.Helper()
		var n int64
		if err := e.Platform.Pool.QueryRow(ctx, query, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// verifyAsShops checks each shop's own verify as each caller allowed it,
	// and returns the findings each shop saw.
	verifyAsShops := func() map[string][]audit.Finding {
		t.Helper()
		seen := map[string][]audit.Finding{}
		for i, s := range shops {
			other := shops[1-i]
			events := count(`SELECT count(*) FROM events WHERE tenant_id = $1`, s.domain)
			streams := count(`SELECT count(DISTINCT stream_id) FROM events WHERE tenant_id = $1`, s.domain)
			for _, who := range []string{"owner", "auditor", "token:owner", "token:auditor"} {
				resp := e.Do(t, http.MethodGet, "/api/v1/audit/verify", s.callers[who], nil)
				body := apitest.ReadBody(t, resp)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("%s of %s: verify %d %s", who, s.domain, resp.StatusCode, body)
				}
				for _, leak := range []string{other.domain, other.customer, other.email, other.order} {
					if strings.Contains(body, leak) {
						t.Errorf("%s of %s: verify shows the other shop's %q: %s", who, s.domain, leak, body)
					}
				}
				var v shopVerify
				if err := json.Unmarshal([]byte(body), &v); err != nil {
					t.Fatal(err)
				}
				if v.Shop != s.domain || v.Events != events || v.Streams != streams {
					t.Errorf("%s of %s: verify counts %+v, want the shop's own %d events in %d streams", who, s.domain, v, events, streams)
				}
				seen[s.domain] = v.Findings
			}
			if staff := e.Do(t, http.MethodGet, "/api/v1/audit/verify", s.callers["staff"], nil); staff.StatusCode != http.StatusForbidden {
				t.Errorf("staff of %s: verify %d, want 403", s.domain, staff.StatusCode)
			}
		}
		return seen
	}
	if seen := verifyAsShops(); len(seen[shops[0].domain])+len(seen[shops[1].domain]) != 0 {
		t.Fatalf("findings on an untouched log: %v", seen)
	}

	// The operator verifies the whole log and rebuilds every shop's rows.
	var run struct {
		LastRun audit.AuditRun `json:"last_run"`
	}
	apitest.Decode(t, e.Do(t, http.MethodPost, "/api/v1/audit/verify", operatorToken, nil), &run)
	if all := count(`SELECT count(*) FROM events`); !run.LastRun.OK || run.LastRun.Events != all {
		t.Fatalf("operator verify: %+v, want ok over all %d events", run.LastRun, all)
	}
	var rebuilt struct {
		Events  int64 `json:"events"`
		Swapped bool  `json:"swapped"`
	}
	resp := e.Do(t, http.MethodPost, "/api/v1/audit/rebuild", operatorToken, rebuild)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("operator rebuild: %d %s", resp.StatusCode, apitest.ReadBody(t, resp))
	}
	apitest.Decode(t, resp, &rebuilt)
	if !rebuilt.Swapped || rebuilt.Events < 2 {
		t.Fatalf("operator rebuild: %+v", rebuilt)
	}
	apitest.Problem(t, e.Do(t, http.MethodPost, "/api/v1/audit/rebuild", operatorToken, map[string]string{"projection": "nope"}),
		http.StatusUnprocessableEntity)

	// Beta's order is altered behind the database's back: only beta's verify
	// and the operator's say so; alpha's still sees a clean log of its own.
	alterEvent(t, e, shops[1].domain)
	seen := verifyAsShops()
	if len(seen[shops[0].domain]) != 0 {
		t.Errorf("alpha sees findings about beta's streams: %v", seen[shops[0].domain])
	}
	if f := seen[shops[1].domain]; len(f) == 0 || f[0].Kind != audit.FindingAltered {
		t.Errorf("beta's verify misses its altered event: %v", f)
	}
	apitest.Decode(t, e.Do(t, http.MethodPost, "/api/v1/audit/verify", operatorToken, nil), &run)
	if run.LastRun.OK || run.LastRun.FindingCount == 0 {
		t.Errorf("operator verify after tampering: %+v", run.LastRun)
	}
}

// alterEvent rewrites the data of shop's first order event with the
// immutability trigger off, as the table's owner could.
func alterEvent(t *testing.T, e *apitest.Env, shop string) {
	t.Helper()
	ctx := context.Background()
	err := pgx.BeginFunc(ctx, e.Platform.Pool, func(tx pgx.Tx) error {
		for _, stmt := range []string{
			`ALTER TABLE events DISABLE TRIGGER events_immutable_rows`,
			fmt.Sprintf(`UPDATE events SET data = jsonb_set(data, '{currency}', '"XXX"')
				WHERE global_position = (SELECT min(global_position) FROM events WHERE tenant_id = '%s' AND stream_id LIKE 'order-%%')`, shop),
			`ALTER TABLE events ENABLE TRIGGER events_immutable_rows`,
		} {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return fmt.Errorf("%s: %w", stmt, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
