package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ordermill/ordermill/audit"
)

// keyFiles collects repeated --pubkey flags.
type keyFiles []string

func (k *keyFiles) String() string     { return strings.Join(*k, ",") }
func (k *keyFiles) Set(s string) error { *k = append(*k, s); return nil }

func verifyCmd(ctx context.Context, e *env, args []string) error {
	fs := e.flags("verify", "verify [--pubkey key.pub]... [--record] [--json]",
		"Walks every stream's hash chain (altered, missing, unlinked or out-of-order events) and checks\n"+
			"the newest signed checkpoint: the heads it signed must still be the same events with the same\n"+
			"hashes, so even a rewritten chain is caught. Without --pubkey the key that signed the first\n"+
			"checkpoint is trusted. Exits 1 when anything is found.")
	var pubkeys keyFiles
	fs.Var(&pubkeys, "pubkey", "trusted checkpoint signer's public key file (PEM); repeat for several")
	record := fs.Bool("record", false, "store the outcome so the audit API shows it as the last run")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	opts := audit.AuditOptions{}
	for _, f := range pubkeys {
		k, err := audit.ReadPublicKeyFile(f)
		if err != nil {
			return err
		}
		opts.TrustedKeys = append(opts.TrustedKeys, k)
	}
	store, err := e.store(ctx)
	if err != nil {
		return err
	}
	m := e.meter("verify", func() int64 { return counted(audit.New(store).CountEvents(ctx)) })
	opts.Progress = m.update
	report, err := audit.New(store).Audit(ctx, opts)
	m.done()
	if err != nil {
		return err
	}
	if *record {
		if _, err := audit.New(store).RecordAudit(ctx, report); err != nil {
			return err
		}
	}
	if e.json {
		if err := e.printJSON(report); err != nil {
			return err
		}
	} else if err := printAudit(e, report); err != nil {
		return err
	}
	if !report.OK() {
		return errFindings
	}
	return nil
}

func printAudit(e *env, r audit.AuditReport) error {
	fmt.Fprintf(e.stdout, "events:      %d in %d streams\n", r.Events, r.Streams)
	switch cp := r.Checkpoint; {
	case cp != nil:
		trust := "a key you supplied"
		if r.TrustedFirstKey {
			trust = "the key that signed the first checkpoint (pass --pubkey to anchor trust)"
		}
		fmt.Fprintf(e.stdout, "checkpoint:  %d of %d, signed %s by key %s, trusted as %s\n", cp.ID, r.Checkpoints,
			cp.SignedAt.Format(time.RFC3339), audit.KeyID(cp.PublicKey), trust)
	case r.Checkpoints == 0:
		fmt.Fprintln(e.stdout, "checkpoint:  none signed yet: a wholesale rewrite of a chain would go unnoticed")
		fmt.Fprintln(e.stdout, "             to sign one: ordermill-replay checkpoint keygen --out signer.pem (once; keep it")
		fmt.Fprintln(e.stdout, "             away from the database), then ordermill-replay checkpoint sign --key signer.pem,")
		fmt.Fprintln(e.stdout, "             and from then on verify --pubkey signer.pem.pub")
	default:
		fmt.Fprintf(e.stdout, "checkpoint:  none of %d has a trusted, valid signature\n", r.Checkpoints)
	}
	fmt.Fprintf(e.stdout, "took:        %s\n", r.FinishedAt.Sub(r.StartedAt).Round(time.Millisecond))
	if r.OK() {
		fmt.Fprintln(e.stdout, "result:      OK, nothing found")
		return nil
	}
	fmt.Fprintf(e.stdout, "result:      %d findings\n\n", len(r.Findings))
	rows := make([][]string, len(r.Findings))
	for i, f := range r.Findings {
		rows[i] = []string{f.Kind, dash(f.Stream), dashInt(f.Version), dashInt(f.Position), f.Detail}
	}
	return e.table("KIND\tSTREAM\tVERSION\tPOSITION\tDETAIL", rows)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func dashInt(n int64) string {
	if n == 0 {
		return "-"
	}
	return strconv.FormatInt(n, 10)
}

func checkpointCmd(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || (args[0] != "sign" && args[0] != "keygen") {
		fmt.Fprintln(e.stderr, "Usage: ordermill-replay checkpoint sign --key <private key file>")
		fmt.Fprintln(e.stderr, "       ordermill-replay checkpoint keygen --out <private key file>")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return nil
		}
		return errors.New("want sign or keygen")
	}
	if args[0] == "keygen" {
		return keygenCmd(e, args[1:])
	}
	fs := e.flags("checkpoint sign", "checkpoint sign --key <private key file> [--json]",
		"Verifies the whole log, then records an Ed25519 signature over every stream's chain head.\n"+
			"Refuses when the log does not verify: a signature must never bless tampering.")
	keyFile := fs.String("key", "", "Ed25519 private key file (PEM, PKCS #8), as made by checkpoint keygen")
	if err := parse(fs, args[1:], 0); err != nil {
		return err
	}
	if *keyFile == "" {
		return errors.New("--key is required")
	}
	key, err := audit.ReadPrivateKeyFile(*keyFile)
	if err != nil {
		return err
	}
	store, err := e.store(ctx)
	if err != nil {
		return err
	}
	m := e.meter("verify before signing", func() int64 { return counted(audit.New(store).CountEvents(ctx)) })
	cp, err := audit.New(store).SignCheckpoint(ctx, key, m.update)
	m.done()
	if err != nil {
		return err
	}
	if e.json {
		return e.printJSON(cp)
	}
	fmt.Fprintf(e.stdout, "signed checkpoint %d: %d streams, newest event %s, key %s\n",
		cp.ID, cp.Streams, cp.Position, audit.KeyID(cp.PublicKey))
	return nil
}

func keygenCmd(e *env, args []string) error {
	fs := e.flags("checkpoint keygen", "checkpoint keygen --out <private key file>",
		"Makes an Ed25519 key pair: the private key in the file given (mode 0600) and the public key\n"+
			"beside it with .pub appended. Keep the private key away from the database's administrators.")
	out := fs.String("out", "", "where to write the private key")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("--out is required")
	}
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return err
	}
	if err := writeNew(*out, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return err
	}
	if err := writeNew(*out+".pub", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "wrote %s and %s (key %s)\n", *out, *out+".pub", audit.KeyID(pub))
	return nil
}

// writeNew refuses to overwrite: losing a signing key is not undoable.
func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
