package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Simulator is cmd/simulator running as a subprocess: the real HTTP stand-in
// for Shopify and SES that tests drive through its /_sim/ control API.
type Simulator struct {
	URL string
}

// StartSimulator builds cmd/simulator, starts it on a free port with the
// given extra flags and stops it when the test ends.
func StartSimulator(t testing.TB, flags ...string) *Simulator {
	t.Helper()
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("locate module: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "simulator")
	build := exec.Command("go", "build", "-o", bin, "./cmd/simulator")
	build.Dir = filepath.Dir(strings.TrimSpace(string(gomod)))
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build simulator: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, append([]string{"--addr", addr}, flags...)...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start simulator: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
	sim := &Simulator{URL: "http://" + addr}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(sim.URL + "/_sim/admin/calls")
		if err == nil {
			resp.Body.Close()
			return sim
		}
		if time.Now().After(deadline) {
			t.Fatalf("simulator did not come up on %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Do sends a JSON request to the control API and decodes the JSON answer
// into out (when not nil). It returns the status code.
func (s *Simulator) Do(t testing.TB, method, path string, body, out any) int {
	t.Helper()
	var r bytes.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = *bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.URL+path, &r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("simulator %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if out != nil && resp.StatusCode/100 == 2 {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("simulator %s %s: decode: %v", method, path, err)
		}
	}
	return resp.StatusCode
}

// Play runs a scenario (POST /_sim/runs params) to the end and returns the
// run. Without a target, the webhooks go to a sink that only acknowledges
// them.
func (s *Simulator) Play(t testing.TB, params map[string]any) SimRun {
	t.Helper()
	if params["target"] == nil {
		sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.Copy(io.Discard, r.Body) }))
		t.Cleanup(sink.Close)
		params["target"] = sink.URL
	}
	if params["secret"] == nil {
		params["secret"] = "s"
	}
	var created struct{ ID string }
	if code := s.Do(t, "POST", "/_sim/runs", params, &created); code != http.StatusCreated {
		t.Fatalf("start run: %d", code)
	}
	var run SimRun
	deadline := time.Now().Add(60 * time.Second)
	for s.Do(t, "GET", "/_sim/runs/"+created.ID, nil, &run); run.Status != "done"; s.Do(t, "GET", "/_sim/runs/"+created.ID, nil, &run) {
		if time.Now().After(deadline) {
			t.Fatalf("simulator run %s not done after 60s", created.ID)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return run
}

// AdminCall is one Admin API call in the simulator's call log.
type AdminCall struct {
	Time       time.Time
	Status     int
	Throttled  bool
	Query      string
	APIVersion string `json:"api_version"`
}

// AdminCalls returns the simulator's Admin API call log.
func (s *Simulator) AdminCalls(t testing.TB) []AdminCall {
	t.Helper()
	var got struct{ Calls []AdminCall }
	s.Do(t, "GET", "/_sim/admin/calls", nil, &got)
	return got.Calls
}

// AdminPost sends one GraphQL request to the simulator's Admin API with a
// shop's access token and returns the HTTP status.
func AdminPost(t testing.TB, s *Simulator, token, query string, vars map[string]any) int {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, err := http.NewRequest("POST", s.URL+"/admin/api/2026-10/graphql.json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Shopify-Access-Token", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// Orders returns every order of shop as Shopify (the simulator) has it now,
// after runs and mutations.
func (s *Simulator) Orders(t testing.TB, shop string) []ExpectedOrder {
	t.Helper()
	var got struct{ Orders []ExpectedOrder }
	if code := s.Do(t, http.MethodGet, "/_sim/shops/"+shop+"/orders", nil, &got); code != http.StatusOK {
		t.Fatalf("simulator orders of %s: %d", shop, code)
	}
	return got.Orders
}

// MutationDeliveries returns the webhooks the simulator's Admin API
// mutations caused for shop, oldest first; Status is 0 while one is on its
// way (or was dropped).
func (s *Simulator) MutationDeliveries(t testing.TB, shop string) []SimDelivery {
	t.Helper()
	var got struct{ Deliveries []SimDelivery }
	s.Do(t, http.MethodGet, "/_sim/deliveries?shop="+shop, nil, &got)
	return got.Deliveries
}
