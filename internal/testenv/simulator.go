package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
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
