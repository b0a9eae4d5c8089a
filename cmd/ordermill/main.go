// Command ordermill runs the Ordermill platform: the server with any subset of
// its roles, schema migrations and demo data.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/ordermill/ordermill/internal/config"
)

type command struct {
	name, summary string
	run           func(args []string) error
}

func commands() []command {
	return []command{
		{"serve", "run the server with any subset of its roles (default: all)", serve},
		{"migrate", "apply database migrations (migrate up | migrate version)", migrateCmd},
		{"shops", "register a shop's credentials (shops add), or install the app on a shop through OAuth (shops install)", shopsCmd},
		{"users", "register a user of a shop (users add)", usersCmd},
		{"seed", "create the demo shop, its users, stock and a few orders (idempotent)", seedCmd},
		{"deadletters", "re-queue a shop's dead letters by filter, with a dry-run preview (deadletters requeue)", deadLettersCmd},
		{"verify", "operator: verify the whole log now, then sign and export a checkpoint (one scheduled audit round)", verifyCmd},
		{"health", "exit 0 when the server on ORDERMILL_METRICS_ADDR answers /healthz (container health checks)", healthCmd},
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: ordermill <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'ordermill <command> --help' for a command's flags.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Configuration (environment):")
	config.PrintVars(w)
}

func main() {
	if len(os.Args) < 2 {
		usage(os.Stderr)
		os.Exit(2)
	}
	name := os.Args[1]
	if name == "-h" || name == "--help" || name == "help" {
		usage(os.Stdout)
		return
	}
	for _, c := range commands() {
		if c.name == name {
			err := c.run(os.Args[2:])
			if errors.Is(err, flag.ErrHelp) {
				return
			}
			if err != nil {
				fmt.Fprintf(os.Stderr, "ordermill %s: %v\n", name, err)
				os.Exit(1)
			}
			return
		}
	}
	fmt.Fprintf(os.Stderr, "ordermill: unknown command %q\n\n", name)
	usage(os.Stderr)
	os.Exit(2)
}

// newFlagSet returns a flag set that reports errors instead of exiting, with
// a usage line naming the command.
func newFlagSet(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: ordermill %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}
