package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// privatePostgres is a PostgreSQL server of the bench's own, started with
// pg_stat_statements loaded, which a shared server often does not (it needs
// a restart): scenario 2 counts statements per webhook from it. It takes
// the configured server's settings that change what a write costs, so that
// its figures stay comparable with the other scenarios'. It keeps its data
// in a temporary directory and is removed by stop.
type privatePostgres struct {
	url      string
	bin, dir string
	settings []string // name=value as copied
}

// costSettings are the settings copied from the configured server.
var costSettings = []string{"fsync", "synchronous_commit", "full_page_writes", "wal_level", "shared_buffers",
	"autovacuum", "max_wal_size", "checkpoint_timeout", "wal_buffers", "commit_delay", "jit"}

// errNoPostgres means this machine cannot start a server of its own: no
// initdb, or running as root without a postgres user to run it as.
var errNoPostgres = errors.New("no PostgreSQL server binaries to start a server of its own")

func startPrivatePostgres(ctx context.Context, configured string) (*privatePostgres, error) {
	// Debian's server binaries (the last version directory listed), else PATH's.
	initdb, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if p, err := exec.LookPath("initdb"); err == nil && len(initdb) == 0 {
		initdb = append(initdb, p)
	}
	if len(initdb) == 0 {
		return nil, errNoPostgres
	}
	p := &privatePostgres{bin: filepath.Dir(initdb[len(initdb)-1])}
	var err error
	if p.dir, err = os.MkdirTemp("", "ordermill-bench-pg"); err != nil {
		return nil, err
	}
	if os.Geteuid() == 0 {
		// PostgreSQL will not run as root.
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(p.dir)
			return nil, errNoPostgres
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(p.dir, uid, gid); err != nil {
			os.RemoveAll(p.dir)
			return nil, err
		}
	}
	if p.settings, err = copiedSettings(ctx, configured); err != nil {
		os.RemoveAll(p.dir)
		return nil, err
	}
	data := filepath.Join(p.dir, "data")
	if out, err := p.command("initdb", "-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8").CombinedOutput(); err != nil {
		os.RemoveAll(p.dir)
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	addr, err := freeAddr()
	if err != nil {
		os.RemoveAll(p.dir)
		return nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	opts := []string{"-p " + port, "-k " + p.dir, "-c listen_addresses=127.0.0.1", "-c max_connections=200",
		"-c shared_preload_libraries=pg_stat_statements"}
	for _, s := range p.settings {
		opts = append(opts, "-c "+s)
	}
	if out, err := p.command("pg_ctl", "start", "-w", "-D", data, "-l", filepath.Join(p.dir, "server.log"),
		"-o", strings.Join(opts, " ")).CombinedOutput(); err != nil {
		p.stop()
		return nil, fmt.Errorf("start postgres: %v\n%s", err, out)
	}
	u, err := url.Parse(configured)
	if err != nil {
		p.stop()
		return nil, err
	}
	u.Host, u.User = addr, url.User("postgres")
	p.url = u.String()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		admin := *u
		admin.Path = "/postgres"
		conn, err := pgx.Connect(ctx, admin.String())
		if err == nil {
			conn.Close(ctx)
			return p, nil
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("postgres on %s did not answer: %w", addr, err)
		}
	}
}

// copiedSettings reads costSettings from the configured server, through
// its postgres database: the configured one may not exist yet.
func copiedSettings(ctx context.Context, configured string) ([]string, error) {
	u, err := url.Parse(configured)
	if err != nil {
		return nil, err
	}
	u.Path = "/postgres"
	conn, err := pgx.Connect(ctx, u.String())
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	var out []string
	for _, name := range costSettings {
		var v string
		if err := conn.QueryRow(ctx, `SELECT current_setting($1, true)`, name).Scan(&v); err != nil {
			return nil, err
		}
		if v != "" {
			out = append(out, name+"="+v)
		}
	}
	return out, nil
}

// command runs a server binary, as the postgres user when this is root.
func (p *privatePostgres) command(name string, args ...string) *exec.Cmd {
	path := filepath.Join(p.bin, name)
	if os.Geteuid() == 0 {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	}
	return exec.Command(path, args...)
}

func (p *privatePostgres) stop() {
	_ = p.command("pg_ctl", "stop", "-m", "immediate", "-D", filepath.Join(p.dir, "data")).Run()
	os.RemoveAll(p.dir)
}
