package main

import (
	"context"

	"github.com/ordermill/ordermill/audit"
)

func exportCmd(ctx context.Context, e *env, args []string) error {
	fs := e.flags("export", "export [--since T] [--until T] [--shop domain] [--format jsonl|csv]",
		"Streams events in commit order to stdout with positions, hashes (hex) and metadata. Data and\n"+
			"metadata are the exact stored text, so the hash chain can be recomputed from the export, except\n"+
			"for fields no reader may pass on (password hashes in user.registered events stored by earlier\n"+
			"versions): they are left out of data and named in the withheld column; verify checks those events.\n"+
			"Times bound recorded_at as [since, until); position tokens select events after --since up to\n"+
			"and including --until, so an export can resume from the last position it wrote.")
	since := fs.String("since", "", "RFC 3339 time or position token")
	until := fs.String("until", "", "RFC 3339 time or position token")
	shop := fs.String("shop", "", "only this shop's events")
	format := fs.String("format", audit.FormatJSONL, "jsonl or csv")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	filter := audit.ExportFilter{Shop: *shop}
	for _, b := range []struct {
		arg string
		dst **audit.Moment
	}{{*since, &filter.Since}, {*until, &filter.Until}} {
		if b.arg == "" {
			continue
		}
		m, err := audit.ParseMoment(b.arg)
		if err != nil {
			return err
		}
		*b.dst = &m
	}
	w, err := audit.NewExportWriter(e.stdout, *format)
	if err != nil {
		return err
	}
	store, err := e.store(ctx)
	if err != nil {
		return err
	}
	m := e.meter("export", func() int64 { return counted(audit.New(store).CountExport(ctx, filter)) })
	var n int64
	err = audit.New(store).Export(ctx, filter, func(ev audit.ExportedEvent) error {
		n++
		m.update(n)
		return w.Write(ev)
	})
	m.done()
	if err != nil {
		return err
	}
	return w.Flush()
}
