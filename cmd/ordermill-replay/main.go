// Command ordermill-replay is the auditor's tool: it proves from the event
// store alone what happened to every webhook and order. It verifies the hash
// chains and signed checkpoints, shows histories and past states, traces
// webhooks, rebuilds read models into shadow tables and exports events.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/config"
	"github.com/ordermill/ordermill/internal/privacy"
	"github.com/ordermill/ordermill/internal/secrets"
)

// Exit codes, as grep has them: scripts can tell findings from failures.
const (
	exitFindings = 1 // verify found tampering, or a webhook's signature does not match
	exitFailure  = 2 // bad usage, or the command could not run
)

// errFindings makes a command exit with exitFindings after printing its report.
var errFindings = errors.New("findings")

type command struct {
	name, summary string
	run           func(ctx context.Context, env *env, args []string) error
}

func commands() []command {
	return []command{
		{"verify", "check every hash chain, stream order and the newest signed checkpoint", verifyCmd},
		{"checkpoint", "sign the chain heads (checkpoint sign) or make a key pair (checkpoint keygen)", checkpointCmd},
		{"history", "list an order's or a stream's events (history order <id> | history stream <stream>)", historyCmd},
		{"state", "an order's state at a time or position (state order <id> --at ...)", stateCmd},
		{"replay", "rebuild read models into shadow tables, diff with live, optionally swap", replayCmd},
		{"webhook", "trace a stored webhook: payload, signature, events it caused, order before and after", webhookCmd},
		{"redeliver", "process a stored webhook again (--dry-run shows what it would append)", redeliverCmd},
		{"export", "stream events with positions, hashes and metadata as JSON lines or CSV", exportCmd},
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: ordermill-replay <command> [flags] [args]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-11s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'ordermill-replay <command> --help' for a command's flags.")
	fmt.Fprintln(w, "Exit status: 0 success, 1 findings (tampering, a bad signature), 2 any failure.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "The tool reads ORDERMILL_DATABASE_URL (default "+config.Vars[0].Default+").")
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) < 1 {
		usage(stderr)
		return exitFailure
	}
	name := args[0]
	if name == "-h" || name == "--help" || name == "help" {
		usage(stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name != name {
			continue
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		defer stop()
		e := &env{stdout: stdout, stderr: stderr}
		defer e.close()
		err := c.run(ctx, e, args[1:])
		switch {
		case err == nil, errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errFindings):
			return exitFindings
		default:
			fmt.Fprintf(stderr, "ordermill-replay %s: %v\n", name, err)
			return exitFailure
		}
	}
	fmt.Fprintf(stderr, "ordermill-replay: unknown command %q\n\n", name)
	usage(stderr)
	return exitFailure
}

// env is what every command shares: output streams, output options and a
// lazily opened database connection.
type env struct {
	stdout, stderr io.Writer
	json           bool
	progress       bool
	pool           *pgxpool.Pool
}

// flags returns a flag set for a command with the shared --json and
// --progress flags.
func (e *env) flags(name, synopsis, about string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.BoolVar(&e.json, "json", false, "print JSON instead of tables")
	fs.BoolVar(&e.progress, "progress", false, "show progress on stderr even when it is not a terminal")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: ordermill-replay %s\n\n%s\n\nFlags:\n", synopsis, about)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args and checks the number of positional arguments.
func parse(fs *flag.FlagSet, args []string, positional int) error {
	if err := fs.Parse(interleave(fs, args)); err != nil {
		return err
	}
	if fs.NArg() != positional {
		fs.Usage()
		return fmt.Errorf("want %d arguments, got %d", positional, fs.NArg())
	}
	return nil
}

// interleave moves flags after positional arguments to the front, so that
// "state order <id> --at T" works as well as "state --at T order <id>".
func interleave(fs *flag.FlagSet, args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		if f := fs.Lookup(name); f != nil && !isBool(f) && i+1 < len(args) {
			flags = append(flags, args[i+1])
			i++
		}
	}
	return append(flags, pos...)
}

func isBool(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// store connects to the event store. It never creates a database: an
// auditor pointing at the wrong one should hear so.
func (e *env) store(ctx context.Context) (*eventstore.Store, error) {
	if e.pool == nil {
		cfg, err := config.Load()
		if err != nil {
			return nil, err
		}
		pool, err := pgxpool.New(ctx, cfg.DatabaseURL)
		if err != nil {
			return nil, fmt.Errorf("ORDERMILL_DATABASE_URL: %w", err)
		}
		if err := pool.Ping(ctx); err != nil {
			pool.Close()
			return nil, fmt.Errorf("connect to postgres: %w", err)
		}
		e.pool = pool
	}
	store := eventstore.New(e.pool)
	keys, err := dataKeys(e.pool)
	if err != nil {
		return nil, err
	}
	if keys != nil {
		store.SetCipher(privacy.NewCipher(keys))
	}
	return store, nil
}

// dataKeys opens the data keys with the configured master key, so personal
// fields read in clear (or as [erased]); without a master key they are shown
// sealed, as stored. An auditor's copy never generates a key.
func dataKeys(pool *pgxpool.Pool) (*privacy.Keyring, error) {
	cfg, err := config.Load()
	if err != nil {
		return nil, err
	}
	if cfg.MasterKey == "" {
		if _, err := os.Stat(filepath.Join(cfg.DataDir, "master.key")); err != nil {
			return nil, nil
		}
	}
	key, err := secrets.LoadKey(cfg.MasterKey, cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("ORDERMILL_MASTER_KEY: %w", err)
	}
	return privacy.NewKeyring(pool, key), nil
}

func (e *env) close() {
	if e.pool != nil {
		e.pool.Close()
	}
}

// printJSON writes v indented.
func (e *env) printJSON(v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table writes rows under a header, aligned.
func (e *env) table(header string, rows [][]string) error {
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// meter reports progress of a long run on stderr, only when stderr is a
// terminal or --progress asks for it, at most a few times a second.
type meter struct {
	w     io.Writer
	what  string
	total int64
	start time.Time
	last  time.Time
	n     int64
}

// meter starts a progress report; total is only counted when it is shown.
func (e *env) meter(what string, total func() int64) *meter {
	if !e.progress && !isTerminal(e.stderr) {
		return nil
	}
	return &meter{w: e.stderr, what: what, total: total(), start: time.Now()}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// update is safe to call on a nil meter, which reports nothing.
func (m *meter) update(n int64) {
	if m == nil {
		return
	}
	m.n = n
	if time.Since(m.last) < 200*time.Millisecond {
		return
	}
	m.last = time.Now()
	m.print("\r")
}

func (m *meter) print(prefix string) {
	fmt.Fprintf(m.w, "%s%s: %s   ", prefix, m.what, progressLine(m.n, m.total, time.Since(m.start)))
}

// progressLine is done/total with the percentage and the time left at the
// rate so far; without a total (it could not be counted) the count and rate.
// Events written while the tool runs can take done past total.
func progressLine(done, total int64, elapsed time.Duration) string {
	rate := float64(done) / max(elapsed.Seconds(), 1e-9)
	if total <= 0 {
		return fmt.Sprintf("%d events, %.0f events/s", done, rate)
	}
	left := "unknown"
	switch {
	case done >= total:
		left = "0s"
	case rate > 0:
		left = time.Duration(float64(total-done) / rate * float64(time.Second)).Round(time.Second).String()
	}
	return fmt.Sprintf("%d/%d events (%.0f%%), %.0f events/s, %s left", done, total,
		100*float64(min(done, total))/float64(total), rate, left)
}

// counted is a count for a progress report: 0 (no total shown) when it
// could not be counted.
func counted(n int64, err error) int64 {
	if err != nil {
		return 0
	}
	return n
}

func (m *meter) done() {
	if m == nil {
		return
	}
	m.print("\r")
	fmt.Fprintln(m.w)
}
