// Package deploy holds the deployment files' tests: there is no container
// engine on developer machines, so the compose file, the Prometheus and proxy
// configuration, the alert rules and the dashboard are checked here against
// the code they describe.
package deploy_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"

	"github.com/ordermill/ordermill/internal/platform"
)

const root = ".."

type composeFile struct {
	Services map[string]struct {
		Build       any               `yaml:"build"`
		Image       string            `yaml:"image"`
		Entrypoint  []string          `yaml:"entrypoint"`
		Command     []string          `yaml:"command"`
		Environment map[string]string `yaml:"environment"`
		Volumes     []string          `yaml:"volumes"`
		DependsOn   any               `yaml:"depends_on"`
		Restart     string            `yaml:"restart"`
		Healthcheck struct {
			Test    []string `yaml:"test"`
			Disable bool     `yaml:"disable"`
		} `yaml:"healthcheck"`
	} `yaml:"services"`
}

func readCompose(t *testing.T) composeFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	return c
}

// ordermillServices are the services running the ordermill binary.
func ordermillServices(c composeFile) map[string][]string {
	out := map[string][]string{}
	for name, s := range c.Services {
		if s.Image == "ordermill:local" && len(s.Entrypoint) == 0 {
			out[name] = s.Command
		}
	}
	return out
}

func build(t *testing.T, pkg string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), filepath.Base(pkg))
	if out, err := exec.Command("go", "build", "-o", bin, "../"+pkg).CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", pkg, err, out)
	}
	return bin
}

func TestComposeCommandsAndRoles(t *testing.T) {
	c := readCompose(t)
	help, _ := exec.Command(build(t, "cmd/ordermill"), "--help").CombinedOutput()
	var roles []string
	for name, cmd := range ordermillServices(c) {
		if len(cmd) == 0 {
			t.Errorf("%s: no command", name)
			continue
		}
		if !regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(cmd[0]) + ` `).Match(help) {
			t.Errorf("%s: ordermill has no command %q", name, cmd[0])
		}
		if cmd[0] != "serve" {
			continue
		}
		i := slices.Index(cmd, "--roles")
		if i < 0 || i+1 >= len(cmd) {
			t.Errorf("%s: serve without --roles runs every role; name them", name)
			continue
		}
		rs, err := platform.ParseRoles(cmd[i+1])
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
		roles = append(roles, rs...)
	}
	// The stack shows the production layout: every role, and more than one
	// process where the role scales out or fails over.
	for _, r := range platform.Roles {
		n := len(slices.DeleteFunc(slices.Clone(roles), func(x string) bool { return x != r }))
		if n == 0 || (r != "projectors" && n < 2) {
			t.Errorf("role %s runs in %d processes", r, n)
		}
	}

	simHelp, _ := exec.Command(build(t, "cmd/simulator"), "--help").CombinedOutput()
	for _, arg := range c.Services["simulator"].Command {
		if flag, ok := strings.CutPrefix(arg, "--"); ok && !strings.Contains(string(simHelp), "-"+flag+" ") {
			t.Errorf("simulator has no flag --%s", flag)
		}
	}
}

func TestComposeFilesExist(t *testing.T) {
	c := readCompose(t)
	for name, s := range c.Services {
		for _, v := range s.Volumes {
			src, _, _ := strings.Cut(v, ":")
			if strings.HasPrefix(src, "./") {
				if _, err := os.Stat(filepath.Join(root, src)); err != nil {
					t.Errorf("%s mounts %s: %v", name, src, err)
				}
			}
		}
	}
	// Everything the Dockerfile copies by name.
	dockerfile, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`(?m)^COPY (?:--chown=\S+ )?([^-\s]\S*) `).FindAllStringSubmatch(string(dockerfile), -1) {
		for _, src := range strings.Fields(m[1]) {
			if _, err := os.Stat(filepath.Join(root, src)); err != nil {
				t.Errorf("Dockerfile copies %s: %v", src, err)
			}
		}
	}
	for _, pkg := range regexp.MustCompile(`-o /out/bin/\S+ (\./cmd/\S+)`).FindAllStringSubmatch(string(dockerfile), -1) {
		if _, err := os.Stat(filepath.Join(root, pkg[1], "main.go")); err != nil {
			t.Errorf("Dockerfile builds %s: %v", pkg[1], err)
		}
	}
}

// TestScrapeAndProxyTargets checks that Prometheus scrapes every Ordermill
// process on its metrics address and that the proxy balances over the api
// services.
func TestScrapeAndProxyTargets(t *testing.T) {
	c := readCompose(t)
	prom, err := os.ReadFile(filepath.Join(root, "deploy/prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		ScrapeConfigs []struct {
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(prom, &cfg); err != nil {
		t.Fatalf("prometheus.yml: %v", err)
	}
	scraped := map[string]bool{}
	for _, sc := range cfg.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			for _, target := range st.Targets {
				host, port, _ := strings.Cut(target, ":")
				scraped[host] = true
				if _, ok := c.Services[host]; !ok {
					t.Errorf("prometheus scrapes %s, which is not a service", target)
				}
				if port != strings.TrimPrefix(c.Services[host].Environment["ORDERMILL_METRICS_ADDR"], ":") {
					t.Errorf("prometheus scrapes %s, but the service's metrics address is %q", target,
						c.Services[host].Environment["ORDERMILL_METRICS_ADDR"])
				}
			}
		}
	}
	for name, cmd := range ordermillServices(c) {
		if len(cmd) > 0 && cmd[0] == "serve" && !scraped[name] {
			t.Errorf("service %s runs roles but prometheus does not scrape it", name)
		}
	}

	nginx, err := os.ReadFile(filepath.Join(root, "deploy/nginx.conf"))
	if err != nil {
		t.Fatal(err)
	}
	var upstreams []string
	for _, m := range regexp.MustCompile(`(?m)^\s*server ([\w-]+):8080`).FindAllStringSubmatch(string(nginx), -1) {
		upstreams = append(upstreams, m[1])
	}
	var apis []string
	for name, cmd := range ordermillServices(c) {
		if slices.Contains(cmd, "serve") && strings.Contains(cmd[len(cmd)-1], "api") {
			apis = append(apis, name)
		}
	}
	slices.Sort(upstreams)
	slices.Sort(apis)
	if !slices.Equal(upstreams, apis) || len(apis) < 2 {
		t.Errorf("proxy balances over %v, api services are %v", upstreams, apis)
	}
}

// metricNames are the metric names the code registers; expressions may add
// the _bucket, _count and _sum series of histograms.
func metricNames(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{
		"up": true,
	}
	re := regexp.MustCompile(`"(ordermill_[a-z_]+)"`)
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, m := range re.FindAllStringSubmatch(string(b), -1) {
				names[m[1]] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// usedMetrics finds the metric names a PromQL text refers to.
func usedMetrics(expr string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`\b(ordermill_[a-z_]+|up)\b`).FindAllString(expr, -1) {
		for _, suffix := range []string{"_bucket", "_count", "_sum"} {
			m = strings.TrimSuffix(m, suffix)
		}
		out = append(out, m)
	}
	return out
}

func TestDashboardAndAlertsUseRealMetrics(t *testing.T) {
	known := metricNames(t)
	b, err := os.ReadFile(filepath.Join(root, "deploy/grafana/ordermill.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		UID    string `json:"uid"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	exprs, charted := 0, map[string]bool{}
	for _, p := range dash.Panels {
		for _, target := range p.Targets {
			exprs++
			for _, m := range usedMetrics(target.Expr) {
				charted[m] = true
				if !known[m] {
					t.Errorf("panel %q uses %s, which no code registers", p.Title, m)
				}
			}
		}
	}
	if dash.UID == "" || exprs < 20 {
		t.Errorf("dashboard uid %q with %d queries", dash.UID, exprs)
	}
	// How far each reader trails (relay, projectors, the read replica) is
	// what an operator looks for first.
	for m := range known {
		if strings.HasSuffix(m, "_lag_seconds") && !charted[m] {
			t.Errorf("the dashboard does not chart %s", m)
		}
	}
	rules, err := os.ReadFile(filepath.Join(root, "prometheus/alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range usedMetrics(string(rules)) {
		if !known[m] {
			t.Errorf("alerts.yml uses %s, which no code registers", m)
		}
	}
}

// TestAlertRules runs promtool: the rules parse, and the unit tests in
// prometheus/alerts_test.yml fire each paging alert on its situation.
func TestAlertRules(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (Debian: apt-get install prometheus)")
	}
	for _, args := range [][]string{{"check", "rules", "alerts.yml"}, {"test", "rules", "alerts_test.yml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = filepath.Join(root, "prometheus")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	if out, err := exec.Command(promtool, "check", "config", "--syntax-only", filepath.Join(root, "deploy/prometheus.yml")).CombinedOutput(); err != nil {
		t.Errorf("promtool check config: %v\n%s", err, out)
	}
}

// TestComposeHealthchecks: every long-running Ordermill service has a health
// check, and it runs a command the binary has; one-shot jobs have none.
func TestComposeHealthchecks(t *testing.T) {
	c := readCompose(t)
	help, _ := exec.Command(build(t, "cmd/ordermill"), "--help").CombinedOutput()
	for name := range ordermillServices(c) {
		s := c.Services[name]
		hc := s.Healthcheck
		if s.Restart == "no" {
			if !hc.Disable {
				t.Errorf("%s runs once: its health check should be disabled", name)
			}
			continue
		}
		if len(hc.Test) < 3 || hc.Test[0] != "CMD" || hc.Test[1] != "/usr/local/bin/ordermill" {
			t.Errorf("%s: health check %q does not run the ordermill binary", name, hc.Test)
			continue
		}
		if !regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(hc.Test[2]) + ` `).Match(help) {
			t.Errorf("%s: ordermill has no command %q for its health check", name, hc.Test[2])
		}
	}
}

// The CI workflow runs make test against real PostgreSQL and Redis
// services, then builds the Docker image once the tests passed.
func TestCIWorkflow(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root, ".github/workflows/ci.yml"))
	if err != nil {
		t.Fatal(err)
	}
	type step struct {
		Uses string `yaml:"uses"`
		Run  string `yaml:"run"`
	}
	var wf struct {
		Jobs map[string]struct {
			Needs    any `yaml:"needs"`
			Services map[string]struct {
				Image string `yaml:"image"`
			} `yaml:"services"`
			Env   map[string]string `yaml:"env"`
			Steps []step            `yaml:"steps"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal(b, &wf); err != nil {
		t.Fatal(err)
	}
	test, image := wf.Jobs["test"], wf.Jobs["image"]
	for service, want := range map[string]string{"postgres": "postgres:", "redis": "redis:"} {
		if !strings.HasPrefix(test.Services[service].Image, want) {
			t.Errorf("the test job has no %s service (%+v)", service, test.Services)
		}
	}
	for _, name := range []string{"ORDERMILL_DATABASE_URL", "ORDERMILL_REDIS_URL"} {
		if test.Env[name] == "" {
			t.Errorf("the test job does not set %s", name)
		}
	}
	if !slices.ContainsFunc(test.Steps, func(s step) bool { return strings.TrimSpace(s.Run) == "make test" }) {
		t.Errorf("the test job does not run make test: %+v", test.Steps)
	}
	if image.Needs != "test" || !slices.ContainsFunc(image.Steps, func(s step) bool { return strings.HasPrefix(s.Uses, "docker/build-push-action@") }) {
		t.Errorf("the image job does not build the image after the tests: needs %v, steps %+v", image.Needs, image.Steps)
	}
}
