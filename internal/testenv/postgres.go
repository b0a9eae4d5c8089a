package testenv

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresServer is a throwaway PostgreSQL cluster of the test's own, on a
// free port, that the test may stop abruptly and start again. Tests that
// restart Postgres use one, never the shared server.
type PostgresServer struct {
	Addr string
	t    testing.TB
	dir  string
	bin  string
}

// StartPostgres creates a cluster with initdb in a temporary directory and
// starts it; it is stopped and removed when the test ends. PostgreSQL will
// not run as root, so as root it runs as the postgres user.
func StartPostgres(t testing.TB) *PostgresServer {
	t.Helper()
	initdb, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(initdb) == 0 {
		if p, err := exec.LookPath("initdb"); err == nil {
			initdb = []string{p}
		} else {
			t.Skip("initdb is not installed")
		}
	}
	s := &PostgresServer{Addr: FreeAddr(t), t: t, dir: serverDir(t), bin: filepath.Dir(initdb[len(initdb)-1])}
	s.run("initdb", "-D", s.dir, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8")
	s.Start()
	t.Cleanup(func() { s.pgctl("stop", "-m", "immediate") })
	return s
}

// StartReplica makes a streaming replica of s (pg_basebackup -R: a copy of
// the running server that keeps following it) on a port of its own; it is
// stopped and removed when the test ends.
func (s *PostgresServer) StartReplica() *PostgresServer {
	s.t.Helper()
	r := &PostgresServer{Addr: FreeAddr(s.t), t: s.t, dir: serverDir(s.t), bin: s.bin}
	host, port, _ := net.SplitHostPort(s.Addr)
	r.run("pg_basebackup", "-D", r.dir, "-R", "-X", "stream", "-h", host, "-p", port, "-U", "postgres", "--no-sync", "--checkpoint=fast")
	r.Start()
	s.t.Cleanup(func() { r.pgctl("stop", "-m", "immediate") })
	return r
}

// serverDir is a new directory for a cluster's data, owned by the user
// PostgreSQL runs as.
func serverDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "ordermill-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Skip("running as root without a postgres user")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "data")
}

// URL is the connection URL of database name on this server.
func (s *PostgresServer) URL(name string) string {
	return fmt.Sprintf("postgres://postgres@%s/%s?sslmode=disable", s.Addr, name)
}

// Start starts the server and waits until it accepts connections.
func (s *PostgresServer) Start() {
	s.t.Helper()
	_, port, _ := net.SplitHostPort(s.Addr)
	s.run("pg_ctl", "start", "-w", "-D", s.dir, "-l", filepath.Join(filepath.Dir(s.dir), "server.log"),
		"-o", "-p "+port+" -k "+filepath.Dir(s.dir)+" -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300")
	for deadline := time.Now().Add(30 * time.Second); ; {
		conn, err := pgx.Connect(context.Background(), s.URL("postgres"))
		if err == nil {
			conn.Close(context.Background())
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("postgres on %s did not come up: %v", s.Addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Crash stops the server at once, as a power cut would (-m immediate:
// crash recovery runs at the next start).
func (s *PostgresServer) Crash() { s.pgctl("stop", "-m", "immediate") }

// Restart crashes the server and starts it again.
func (s *PostgresServer) Restart() {
	s.t.Helper()
	s.Crash()
	s.Start()
}

func (s *PostgresServer) pgctl(args ...string) {
	cmd := s.command("pg_ctl", append(args, "-D", s.dir)...)
	_ = cmd.Run()
}

func (s *PostgresServer) run(name string, args ...string) {
	s.t.Helper()
	if out, err := s.command(name, args...).CombinedOutput(); err != nil {
		s.t.Fatalf("%s: %v\n%s", name, err, out)
	}
}

func (s *PostgresServer) command(name string, args ...string) *exec.Cmd {
	path := filepath.Join(s.bin, name)
	if os.Geteuid() == 0 {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	}
	return exec.Command(path, args...)
}
