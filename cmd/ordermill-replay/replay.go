package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ordermill/ordermill/audit"
	"github.com/ordermill/ordermill/projections"
)

// replayOutcome is one projector's rebuild, diff and swap, for --json.
type replayOutcome struct {
	projections.RebuildResult
	Diff    []projections.TableDiff `json:"diff"`
	Swapped bool                    `json:"swapped"`
}

func replayCmd(ctx context.Context, e *env, args []string) error {
	fs := e.flags("replay", "replay --projection <name>|all [--into shadow] [--swap] [--examples N] [--json]",
		"Rebuilds read models from the event store (never from Redis) into shadow tables in schema\n"+
			projections.ShadowSchema+", then compares them row by row with the live tables: rows added,\n"+
			"removed and changed, with examples. --swap then replaces the live tables in one short\n"+
			"transaction, after applying events that arrived meanwhile; readers keep answering.")
	name := fs.String("projection", "", "projector name, or all")
	into := fs.String("into", "shadow", "where to rebuild: shadow (the only target; live tables are replaced only by --swap)")
	swap := fs.Bool("swap", false, "replace the live tables with the rebuilt ones")
	examples := fs.Int("examples", 5, "example rows to show per kind of difference")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	if *into != "shadow" {
		return fmt.Errorf("--into %q: only shadow is supported", *into)
	}
	// No cache: shadow writes must not invalidate what live readers cached.
	all := projections.All(nil, "")
	var chosen []projections.Projector
	var names []string
	for _, p := range all {
		names = append(names, p.Name())
		if *name == "all" || p.Name() == *name {
			chosen = append(chosen, p)
		}
	}
	if len(chosen) == 0 {
		return fmt.Errorf("--projection %q: want one of %s, or all", *name, strings.Join(names, ", "))
	}
	store, err := e.store(ctx)
	if err != nil {
		return err
	}
	projections.WithCipher(store.Cipher(), chosen)
	shadow, err := projections.OpenShadow(ctx, store.Pool())
	if err != nil {
		return err
	}
	defer shadow.Close()
	var outcomes []replayOutcome
	for _, p := range chosen {
		m := e.meter("rebuild "+p.Name(), func() int64 { return counted(audit.New(store).CountEvents(ctx, p.Categories()...)) })
		res, err := shadow.Rebuild(ctx, p, m.update)
		m.done()
		if err != nil {
			return err
		}
		o := replayOutcome{RebuildResult: res}
		if o.Diff, err = shadow.Diff(ctx, p, *examples); err != nil {
			return err
		}
		if *swap {
			if err := shadow.Swap(ctx, p); err != nil {
				return err
			}
			o.Swapped = true
		}
		outcomes = append(outcomes, o)
		if !e.json {
			if err := printReplay(e, o); err != nil {
				return err
			}
		}
	}
	if e.json {
		return e.printJSON(outcomes)
	}
	return nil
}

func printReplay(e *env, o replayOutcome) error {
	rate := float64(o.Events) / max(o.Duration.Seconds(), 1e-9)
	fmt.Fprintf(e.stdout, "%s: rebuilt from %d events in %s (%.0f events/s), up to position %s\n",
		o.Projection, o.Events, o.Duration.Round(time.Millisecond), rate, o.Position)
	var rows [][]string
	for _, d := range o.Diff {
		rows = append(rows, []string{d.Table, strconv.FormatInt(d.LiveRows, 10), strconv.FormatInt(d.ShadowRows, 10),
			strconv.FormatInt(d.Added, 10), strconv.FormatInt(d.Removed, 10), strconv.FormatInt(d.Changed, 10)})
	}
	if err := e.table("TABLE\tLIVE_ROWS\tREBUILT_ROWS\tADDED\tREMOVED\tCHANGED", rows); err != nil {
		return err
	}
	for _, d := range o.Diff {
		for _, ex := range d.Examples {
			var cols []string
			for _, c := range ex.Columns {
				cols = append(cols, fmt.Sprintf("%s: %v -> %v", c.Column, c.Live, c.Shadow))
			}
			fmt.Fprintf(e.stdout, "  %s %s %v %s\n", d.Table, ex.Kind, ex.Key, strings.Join(cols, "; "))
		}
	}
	if o.Swapped {
		fmt.Fprintf(e.stdout, "%s: swapped in; the live tables are now the rebuilt ones\n", o.Projection)
	}
	_, err := fmt.Fprintln(e.stdout)
	return err
}
