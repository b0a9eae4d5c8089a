package deploy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ordermill/ordermill/internal/config"
	"github.com/ordermill/ordermill/internal/testenv"
	"github.com/ordermill/ordermill/shopify"
)

// listen holds a loopback port for the test; it returns the port.
func listen(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

// freePort returns a loopback port nothing listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestMakeRunReportsATakenPort: with the simulator's or the server's port
// taken, `make run` stops at once (before building) and says which port,
// who needs it and which variable moves it; so does scripts/run.sh itself.
func TestMakeRunReportsATakenPort(t *testing.T) {
	for _, tc := range []struct {
		name     string
		env      func(taken, free int) []string
		variable string
	}{
		{"simulator", func(taken, free int) []string {
			return []string{"SIMULATOR_PORT=" + strconv.Itoa(taken), "ORDERMILL_HTTP_ADDR=:" + strconv.Itoa(free)}
		}, "SIMULATOR_PORT="},
		{"server", func(taken, free int) []string {
			return []string{"SIMULATOR_PORT=" + strconv.Itoa(free), "ORDERMILL_HTTP_ADDR=:" + strconv.Itoa(taken)}
		}, "ORDERMILL_HTTP_ADDR=:"},
	} {
		taken, free := listen(t), freePort(t)
		for _, command := range [][]string{{"make", "--no-print-directory", "run"}, {"bash", "scripts/run.sh"}} {
			cmd := exec.Command(command[0], command[1:]...)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), tc.env(taken, free)...)
			cmd.Env = append(cmd.Env, "BIN_DIR="+t.TempDir()) // nothing may run: the check comes first
			start := time.Now()
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("%s %v with port %d taken succeeded:\n%s", tc.name, command, taken, out)
			}
			text := string(out)
			for _, want := range []string{"port " + strconv.Itoa(taken), "already in use", tc.variable} {
				if !strings.Contains(text, want) {
					t.Errorf("%s %v: output lacks %q:\n%s", tc.name, command, want, text)
				}
			}
			if strings.Contains(text, "Ordermill is starting") || strings.Contains(text, "go build") {
				t.Errorf("%s %v went on after the port check:\n%s", tc.name, command, text)
			}
			t.Logf("%s %v: refused in %v", tc.name, command, time.Since(start).Round(time.Millisecond))
		}
	}
}

// TestMakeRunSaysWhichPartStopped runs scripts/run.sh with the real binaries
// on a database of its own, then kills the simulator: the script stops the
// server too, names the part that stopped, shows its last log lines and
// says what to do.
func TestMakeRunSaysWhichPartStopped(t *testing.T) {
	bin := t.TempDir()
	for _, pkg := range []string{"ordermill", "simulator"} {
		build := exec.Command("go", "build", "-o", filepath.Join(bin, pkg), "./cmd/"+pkg)
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", pkg, err, out)
		}
	}
	_, prefix := testenv.Redis(t)
	httpPort, simPort := freePort(t), freePort(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "scripts/run.sh")
	cmd.Dir = root
	cmd.Env = append(os.Environ(),
		"BIN_DIR="+bin, "RUN_DIR="+t.TempDir(),
		"ORDERMILL_DATABASE_URL="+testenv.DatabaseURL(t), "ORDERMILL_DATABASE_READ_URL=",
		"ORDERMILL_REDIS_URL="+testenv.RedisURL(), "ORDERMILL_STREAM_PREFIX="+prefix,
		"ORDERMILL_DATA_DIR="+t.TempDir(), "ORDERMILL_HTTP_ADDR=127.0.0.1:"+strconv.Itoa(httpPort),
		"SIMULATOR_PORT="+strconv.Itoa(simPort), "DEMO_TRICKLE=0",
	)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	// Both parts up: the server answers, and the simulator is a child of the script.
	var sim int
	for sim == 0 {
		select {
		case err := <-done:
			t.Fatalf("run.sh stopped before it was up: %v\n%s", err, out.String())
		case <-time.After(200 * time.Millisecond):
		}
		conn, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(httpPort))
		if err != nil {
			continue
		}
		conn.Close()
		sim = child(t, cmd.Process.Pid, "simulator")
	}
	// The demo shop installs the app through the simulator's OAuth, which
	// subscribes it to the platform's webhooks.
	subscribed := func() bool {
		resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(simPort) + "/_sim/shops/demo.myshopify.com/subscriptions")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var got struct{ Subscriptions []struct{ Topic string } }
		return json.NewDecoder(resp.Body).Decode(&got) == nil && len(got.Subscriptions) == len(shopify.SubscribedTopics)
	}
	for deadline := time.Now().Add(90 * time.Second); !subscribed(); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the demo shop did not install the app through OAuth within 90 s")
		}
	}
	if err := syscall.Kill(sim, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Errorf("run.sh exited 0 after the simulator died")
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("run.sh still runs 30 s after the simulator died:\n%s", out.String())
	}
	text := out.String()
	for _, want := range []string{"the simulator stopped", "Its last lines", "  | ", "SIMULATOR_PORT=", "Everything else was stopped"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	if conn, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(httpPort)); err == nil {
		conn.Close()
		t.Errorf("the server still listens after run.sh stopped")
	}
}

// child finds the process named comm whose parent is ppid, or 0.
func child(t *testing.T, ppid int, comm string) int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatalf("no /proc to find the simulator in: %v", err)
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		open, close := bytes.IndexByte(stat, '('), bytes.LastIndexByte(stat, ')')
		if open < 0 || close < open {
			continue
		}
		fields := strings.Fields(string(stat[close+1:]))
		if string(stat[open+1:close]) == comm && len(fields) > 1 && fields[1] == strconv.Itoa(ppid) {
			return pid
		}
	}
	return 0
}

// TestReadmeListsEveryVariable: every variable `make run` reads, in its
// scripts and in the server's configuration, is in the README.
func TestReadmeListsEveryVariable(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, v := range config.Vars {
		names[v.Name] = true
	}
	for _, script := range []string{"scripts/run.sh", "scripts/stack.sh"} {
		b, err := os.ReadFile(filepath.Join(root, script))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`\$\{([A-Z][A-Z_]+)`).FindAllStringSubmatch(string(b), -1) {
			names[m[1]] = true
		}
	}
	if !names["SIMULATOR_PORT"] || len(names) < 25 {
		t.Fatalf("found only %v; the scan is broken", names)
	}
	for name := range names {
		if !strings.Contains(string(readme), "`"+name+"`") {
			t.Errorf("README.md does not list %s", name)
		}
	}
}
