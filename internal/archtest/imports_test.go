package archtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/ordermill/ordermill"

// layers lists the packages from the bottom up. A package may import the
// packages of the layers below its own and the shared helpers, nothing of
// its own layer or above. Commands (package main), the benchmarks under
// bench/ and the test harness sit on top and may import anything; only they
// import the composition root, internal/platform.
var layers = []struct {
	name     string
	packages []string
}{
	{"the domain", []string{"domain"}},
	{"the event store and the Shopify adapter", []string{"eventstore", "shopify"}},
	{"the relay, the audit features and the shops' credentials", []string{"relay", "audit", "internal/shops"}},
	{"the consumer runtime", []string{"bus"}},
	{"the use cases", []string{"app"}},
	{"personal data (keys, sealing, erasure)", []string{"internal/privacy"}},
	{"the read models", []string{"projections"}},
	{"the ports", []string{"api", "workers"}},
	{"the composition root", []string{"internal/platform"}},
}

// shared are helpers any layer may import; they import none of the layers.
var shared = []string{"internal/config", "internal/database", "internal/secrets", "internal/telemetry",
	"migrations", "web"}

// onTop are packages besides commands that may import anything.
var onTop = []string{"internal/testenv", "internal/simexpect", "internal/testenv/apitest", "internal/testenv/webhooktest", "internal/chaos", "internal/archtest", "deploy", "bench/load"}

type pkg struct {
	ImportPath string
	Name       string
	Imports    []string
}

// modulePackages lists the module's packages with their imports (test files
// excluded: tests may use the harness above them).
func modulePackages(t *testing.T) []pkg {
	cmd := exec.Command("go", "list", "-json=ImportPath,Name,Imports", module+"/...")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		p.ImportPath = strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found only %d packages of %s", len(pkgs), module)
	}
	return pkgs
}

// level is a package's layer index; len(layers) for the top, -1 for shared.
func level(p pkg) (int, bool) {
	if p.Name == "main" || slices.Contains(onTop, p.ImportPath) {
		return len(layers), true
	}
	if slices.Contains(shared, p.ImportPath) {
		return -1, true
	}
	for i, l := range layers {
		if slices.Contains(l.packages, p.ImportPath) {
			return i, true
		}
	}
	return 0, false
}

func describe(i int) string {
	switch {
	case i < 0:
		return "the shared helpers"
	case i == len(layers):
		return "the commands"
	}
	return fmt.Sprintf("layer %d (%s)", i, layers[i].name)
}

// Dependencies point one way. A failure names the import and the layers; the
// fix is to move what is shared down, or to hand it in from internal/platform
// as a function or a small interface defined where it is used.
func TestImportsPointDown(t *testing.T) {
	pkgs := modulePackages(t)
	byPath := map[string]pkg{}
	for _, p := range pkgs {
		byPath[p.ImportPath] = p
	}
	for _, p := range pkgs {
		from, ok := level(p)
		if !ok {
			t.Errorf("%s is in no layer: add it to layers (or shared) in internal/archtest and to the package map in docs/architecture.md", p.ImportPath)
			continue
		}
		for _, imp := range p.Imports {
			path, ok := strings.CutPrefix(imp, module+"/")
			if !ok {
				continue
			}
			to, known := level(byPath[path])
			if !known || from == len(layers) {
				continue // reported as a package of its own; the top may import anything
			}
			upward := to >= from
			if from < 0 {
				upward = to >= 0 // shared helpers import no layer
			}
			if !upward {
				continue
			}
			t.Errorf("%s imports %s, which points up: %s is in %s and may only import the layers below it; %s is in %s",
				p.ImportPath, path, p.ImportPath, describe(from), path, describe(to))
		}
	}
}
