package testenv

import (
	"net"
	"os/exec"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisServer is a redis-server of the test's own on a free port, keeping
// nothing on disk: Restart loses every key, as a restart of a Redis without
// persistence does. Tests that restart Redis use one, never the shared one.
type RedisServer struct {
	Addr  string
	t     testing.TB
	dir   string   // "": a new empty directory at each start
	extra []string // further redis-server arguments
	cmd   *exec.Cmd
	done  chan struct{}
}

// StartRedis starts a private redis-server, stopped when the test ends.
func StartRedis(t testing.TB) *RedisServer {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not installed")
	}
	s := &RedisServer{Addr: FreeAddr(t), t: t}
	s.Start()
	t.Cleanup(s.Kill)
	return s
}

// URL is the server's redis:// URL.
func (s *RedisServer) URL() string { return "redis://" + s.Addr + "/0" }

// Start starts the server (after Kill) and waits until it answers.
func (s *RedisServer) Start() {
	s.t.Helper()
	_, port, _ := net.SplitHostPort(s.Addr)
	dir := s.dir
	if dir == "" {
		dir = s.t.TempDir()
	}
	s.cmd = exec.Command("redis-server", append([]string{"--port", port, "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "no", "--dir", dir, "--loglevel", "warning"}, s.extra...)...)
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("start redis-server: %v", err)
	}
	s.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); close(done) }(s.cmd, s.done)
	client := redis.NewClient(&redis.Options{Addr: s.Addr})
	defer client.Close()
	for deadline := time.Now().Add(30 * time.Second); client.Ping(s.t.Context()).Err() != nil; {
		if time.Now().After(deadline) {
			s.t.Fatalf("redis-server on %s did not answer", s.Addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Running reports whether the server was started and not killed since.
func (s *RedisServer) Running() bool { return s.cmd != nil }

// Kill stops the server with SIGKILL and waits for it to exit.
func (s *RedisServer) Kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

// Restart kills the server and starts an empty one on the same port.
func (s *RedisServer) Restart() {
	s.t.Helper()
	s.Kill()
	s.Start()
}

// FreeAddr returns a loopback address with a port nothing listens on now.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
