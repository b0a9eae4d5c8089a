package main

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ordermill/ordermill/internal/simexpect"
)

// Limits that keep a mistyped request from exhausting memory.
const (
	maxOrders      = 100_000
	maxConcurrency = 64
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func badRequest(w http.ResponseWriter, format string, args ...any) {
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf(format, args...)})
}

// decodeStrict rejects unknown fields so a typo in a test fails loudly
// instead of silently running with a default.
func decodeStrict(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		badRequest(w, "invalid JSON: %v", err)
		return false
	}
	if dec.Decode(&struct{}{}) != io.EOF {
		badRequest(w, "invalid JSON: trailing data")
		return false
	}
	return true
}

func validHost(s string) bool {
	return s != "" && !strings.ContainsAny(s, " /\t\n:")
}

func validTarget(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func validPct(p float64) bool { return p >= 0 && p <= 100 }

func (p *runParams) validate() error {
	if _, ok := scenarios[p.Scenario]; !ok {
		names := make([]string, 0, len(scenarios))
		for n := range scenarios {
			names = append(names, n)
		}
		slices.Sort(names)
		return fmt.Errorf("scenario must be one of %s", strings.Join(names, ", "))
	}
	switch {
	case !validHost(p.Shop):
		return errors.New("shop must be a shop domain such as demo.myshopify.com")
	case p.Secret == "":
		return errors.New("secret is required")
	case !validTarget(p.Target):
		return errors.New("target must be an http(s) base URL such as http://127.0.0.1:8080")
	case p.Orders < 0 || p.Orders > maxOrders:
		return fmt.Errorf("orders must be between 1 and %d (omitted: 10)", maxOrders)
	case p.Rate < 0:
		return errors.New("rate must be >= 0 (0 = as fast as possible)")
	case p.Concurrency < 0 || p.Concurrency > maxConcurrency:
		return fmt.Errorf("concurrency must be between 1 and %d (omitted: 1)", maxConcurrency)
	case !validPct(p.DuplicatePct) || !validPct(p.ReorderPct) || !validPct(p.BadSignaturePct) || !validPct(p.MalformedPct):
		return errors.New("percentages must be between 0 and 100")
	}
	return nil
}

// createRun handles POST /_sim/runs.
func (s *simulator) createRun(w http.ResponseWriter, r *http.Request) {
	var p runParams
	if !decodeStrict(w, r, &p) {
		return
	}
	if err := p.validate(); err != nil {
		badRequest(w, "%v", err)
		return
	}
	if p.Orders == 0 {
		p.Orders = 10
	}
	if p.Concurrency == 0 {
		p.Concurrency = 1
	}
	pl := buildPlan(p)
	rn := &run{id: uuid.NewString(), params: p, started: time.Now().UTC(), deliveries: pl.deliveries, expected: pl.expected, shopify: pl.shopify}
	s.mu.Lock()
	s.runs[rn.id] = rn
	s.targets[p.Shop] = runTarget{target: p.Target, secret: p.Secret}
	s.mu.Unlock()
	s.log.Info("run started", "run", rn.id, "scenario", p.Scenario, "shop", p.Shop, "target", p.Target, "deliveries", len(pl.deliveries))
	go s.execute(s.ctx, rn)
	w.Header().Set("Location", "/_sim/runs/"+rn.id)
	writeJSON(w, http.StatusCreated, map[string]string{"id": rn.id})
}

// getRun handles GET /_sim/runs/{id}; ?deliveries=false leaves them out.
func (s *simulator) getRun(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	rn := s.runs[r.PathValue("id")]
	s.mu.Unlock()
	if rn == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such run"})
		return
	}
	writeJSON(w, http.StatusOK, rn.view(r.URL.Query().Get("deliveries") != "false"))
}

type faultsRequest struct {
	Admin *struct {
		Status            int `json:"status"`
		Count             int `json:"count"`
		RetryAfterSeconds int `json:"retry_after_seconds"`
	} `json:"admin"`
	SES      *sesFault      `json:"ses"`
	Webhooks *webhookFaults `json:"webhooks"`
}

type faultsView struct {
	Admin    adminFault    `json:"admin"`
	SES      sesFault      `json:"ses"`
	Webhooks webhookFaults `json:"webhooks"`
}

// webhookFaults apply to the webhooks of Admin API mutations and of the
// trickle; a run's deliveries have their own drop_pct.
type webhookFaults struct {
	DropPct float64 `json:"drop_pct"`
}

// setFaults handles POST /_sim/faults. Each part present replaces that
// service's faults; count 0 or an empty fail_to clears them.
func (s *simulator) setFaults(w http.ResponseWriter, r *http.Request) {
	var req faultsRequest
	if !decodeStrict(w, r, &req) {
		return
	}
	if a := req.Admin; a != nil {
		switch {
		case a.Count < 0:
			badRequest(w, "admin.count must be >= 0")
			return
		case a.Count > 0 && a.Status != http.StatusTooManyRequests && (a.Status < 500 || a.Status > 599):
			badRequest(w, "admin.status must be 429 or 5xx")
			return
		case a.RetryAfterSeconds < 0:
			badRequest(w, "admin.retry_after_seconds must be >= 0")
			return
		}
		retry := a.RetryAfterSeconds
		if a.Status == http.StatusTooManyRequests && retry == 0 {
			retry = 2
		}
		s.admin.setFault(adminFault{Status: a.Status, Remaining: a.Count, RetryAfterSeconds: retry})
	}
	if f := req.SES; f != nil {
		if f.Status == 0 {
			f.Status = http.StatusBadRequest
		}
		if f.Status < 400 || f.Status > 599 {
			badRequest(w, "ses.status must be 4xx or 5xx")
			return
		}
		if f.FailTo == nil {
			f.FailTo = []string{}
		}
		s.ses.setFault(*f)
	}
	if f := req.Webhooks; f != nil {
		if !validPct(f.DropPct) {
			badRequest(w, "webhooks.drop_pct must be between 0 and 100")
			return
		}
		s.mu.Lock()
		s.dropPct = f.DropPct
		s.mu.Unlock()
	}
	s.mu.Lock()
	hooks := webhookFaults{DropPct: s.dropPct}
	s.mu.Unlock()
	s.log.Info("faults set", "admin", s.admin.faultState(), "ses", s.ses.faultState(), "webhooks", hooks)
	writeJSON(w, http.StatusOK, faultsView{Admin: s.admin.faultState(), SES: s.ses.faultState(), Webhooks: hooks})
}

// registerShop handles POST /_sim/shops.
func (s *simulator) registerShop(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Shop        string `json:"shop"`
		AccessToken string `json:"access_token"`
	}
	if !decodeStrict(w, r, &req) {
		return
	}
	if !validHost(req.Shop) || req.AccessToken == "" {
		badRequest(w, "shop (a shop domain) and access_token are required")
		return
	}
	s.admin.registerShop(req.Shop, req.AccessToken)
	w.WriteHeader(http.StatusNoContent)
}

// shopOrders handles GET /_sim/shops/{shop}/orders: every order as Shopify
// has it now (after runs and mutations), as a run's expected state lists them.
func (s *simulator) shopOrders(w http.ResponseWriter, r *http.Request) {
	list := s.orders.list(strings.ToLower(r.PathValue("shop")))
	out := make([]simexpect.Order, 0, len(list))
	for _, st := range list {
		out = append(out, st.expected)
	}
	slices.SortFunc(out, func(a, b simexpect.Order) int { return cmp.Compare(a.ShopifyID, b.ShopifyID) })
	writeJSON(w, http.StatusOK, map[string]any{"orders": out})
}

func (s *simulator) adminCalls(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"calls": s.admin.callLog()})
}

func (s *simulator) clearAdminCalls(w http.ResponseWriter, _ *http.Request) {
	s.admin.clearCalls()
	w.WriteHeader(http.StatusNoContent)
}

func (s *simulator) sesMessages(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"messages": s.ses.list()})
}

func (s *simulator) clearSESMessages(w http.ResponseWriter, _ *http.Request) {
	s.ses.clear()
	w.WriteHeader(http.StatusNoContent)
}
