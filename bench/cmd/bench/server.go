package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// server is `ordermill serve` as a subprocess, so its memory is its own.
type server struct {
	cmd     *exec.Cmd
	url     string
	metrics string // base URL of its operators' address (/debug/pprof)
}

// serverBinary builds cmd/ordermill into dir: always from the working tree,
// never a stale bin/ordermill.
func serverBinary(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "ordermill")
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/ordermill").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("build ordermill: %v\n%s", err, out)
	}
	return bin, nil
}

func startServer(ctx context.Context, bin string, e *env, roles string) (*server, error) {
	return startProcess(ctx, exec.Command(bin, "serve", "--roles", roles), e)
}

// startProcess starts cmd with e's server configuration and waits until it
// answers on its HTTP address.
func startProcess(ctx context.Context, cmd *exec.Cmd, e *env) (*server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	metricsAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cmd.Env = append(e.environ(addr, metricsAddr), cmd.Env...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, url: "http://" + addr, metrics: "http://" + metricsAddr}
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get(s.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			s.stop()
			return nil, fmt.Errorf("server did not come up on %s: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// freeAddr is a loopback address with a port nothing listens on now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// cpuProfile writes a CPU profile of the server's next d to path.
func (s *server) cpuProfile(ctx context.Context, d time.Duration, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", s.metrics, int(d.Seconds())), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := statusError(resp, http.StatusOK); err != nil {
		return fmt.Errorf("server CPU profile: %w", err)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// stop asks for a graceful shutdown, then kills.
func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
}

// memoryMB reads a field of /proc/<pid>/status: VmRSS (resident now) or
// VmHWM (peak resident since start).
func (s *server) memoryMB(field string) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, s.cmd.Process.Pid)
}

// cpuSeconds is the user plus system CPU time the server has used, from
// /proc/<pid>/stat (in USER_HZ ticks, 100 per second on Linux).
func (s *server) cpuSeconds() (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", s.cmd.Process.Pid)
	}
	utime, err1 := strconv.ParseFloat(f[11], 64)
	stime, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: utime %q stime %q", s.cmd.Process.Pid, f[11], f[12])
	}
	return (utime + stime) / 100, nil
}
