package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/ordermill/ordermill/audit"
	"github.com/ordermill/ordermill/internal/config"
	"github.com/ordermill/ordermill/internal/platform"
)

// verifyCmd runs one round of the scheduled audit now: verify the whole log
// and the checkpoint export, record the run, and if nothing was found sign
// and export a checkpoint (with ORDERMILL_CHECKPOINT_KEY_FILE). The platform
// operator's command: it reads every shop's events.
func verifyCmd(args []string) error {
	fs := newFlagSet("verify", "verify [--json]")
	asJSON := fs.Bool("json", false, "print the round as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	ctx := context.Background()
	p, err := platform.Open(ctx, cfg, platform.NewLogger(cfg.LogLevel), cfg.AutoMigrate)
	if err != nil {
		return err
	}
	defer p.Close()
	auditor, err := p.Auditor()
	if err != nil {
		return err
	}
	round, err := auditor.Round(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(round); err != nil {
			return err
		}
	} else {
		printRound(round)
	}
	if !round.Run.OK {
		return fmt.Errorf("the event log does not verify: %d findings", round.Run.FindingCount)
	}
	return nil
}

func printRound(r audit.AuditRound) {
	fmt.Printf("verify run %d: %d events in %d streams, %d findings\n", r.Run.ID, r.Run.Events, r.Run.Streams, r.Run.FindingCount)
	for _, f := range r.Run.Findings {
		fmt.Println("  " + f.String())
	}
	if cp := r.Checkpoint; cp != nil {
		fmt.Printf("signed checkpoint %d: %d streams, newest event %s, key %s\n", cp.ID, cp.Streams, cp.Position, audit.KeyID(cp.PublicKey))
	}
	if r.Exported > 0 {
		fmt.Printf("exported %d checkpoints\n", r.Exported)
	}
}
