package deploy

// Static checks of the deployment files, for a machine without a Docker
// engine: docker-compose.yml, deploy/prometheus/prometheus.yml, the Grafana
// provisioning and dashboard, and docs/operations.md. Run:
//
//	go test ./deploy/
//
// When promtool is on PATH (Debian: apt-get install -y prometheus) the rules,
// their unit test and the Prometheus configuration are checked by it too, and
// docker-compose (apt-get install -y docker-compose) checks the compose file;
// without them those tests are skipped.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// root is the repository root, seen from this package's directory.
const root = ".."

type composeService struct {
	Image       string            `yaml:"image"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	Volumes     []string          `yaml:"volumes"`
	Ports       []string          `yaml:"ports"`
}

type composeFile struct {
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

// mount is one bind mount of a service: host path relative to the
// repository root (cleaned), container path, read-only or not.
type mount struct {
	host, container string
	ro              bool
}

func readFile(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readYAML(t *testing.T, rel string, v any) {
	t.Helper()
	if err := yaml.Unmarshal(readFile(t, rel), v); err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	var c composeFile
	readYAML(t, "docker-compose.yml", &c)
	if len(c.Services) == 0 {
		t.Fatal("docker-compose.yml: no services")
	}
	return c
}

// bindMounts returns the bind mounts (host paths starting with ./) of svc.
func bindMounts(t *testing.T, c composeFile, svc string) []mount {
	t.Helper()
	s, ok := c.Services[svc]
	if !ok {
		t.Fatalf("docker-compose.yml has no service %q", svc)
	}
	var out []mount
	for _, v := range s.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) < 2 {
			continue
		}
		if !strings.HasPrefix(parts[0], "./") {
			if _, named := c.Volumes[parts[0]]; !named {
				t.Errorf("service %s: volume %q is neither a bind mount (./…) nor a named volume of the file", svc, v)
			}
			continue
		}
		m := mount{host: path.Clean(parts[0]), container: path.Clean(parts[1])}
		m.ro = len(parts) > 2 && strings.Contains(parts[2], "ro")
		out = append(out, m)
	}
	return out
}

// hostPath maps a container path of svc to the repository file behind it
// (a mount of that path, or of a directory above it), "" if none.
func hostPath(mounts []mount, container string) (string, mount) {
	container = path.Clean(container)
	for _, m := range mounts {
		if container == m.container {
			return m.host, m
		}
		if strings.HasPrefix(container, m.container+"/") {
			return path.Join(m.host, strings.TrimPrefix(container, m.container+"/")), m
		}
	}
	return "", mount{}
}

func exists(rel string) bool {
	_, err := os.Stat(filepath.Join(root, filepath.FromSlash(rel)))
	return err == nil
}

type promConfig struct {
	RuleFiles     []string `yaml:"rule_files"`
	ScrapeConfigs []struct {
		JobName       string `yaml:"job_name"`
		MetricsPath   string `yaml:"metrics_path"`
		StaticConfigs []struct {
			Targets []string `yaml:"targets"`
		} `yaml:"static_configs"`
	} `yaml:"scrape_configs"`
}

// promSetup is the Prometheus service's configuration as the container sees it.
type promSetup struct {
	mounts     []mount
	configHost string // repository path of the mounted prometheus.yml
	cfg        promConfig
}

func loadProm(t *testing.T, c composeFile) promSetup {
	t.Helper()
	p := promSetup{mounts: bindMounts(t, c, "prometheus")}
	cfgPath := "/etc/prometheus/prometheus.yml" // the image's default
	for _, a := range c.Services["prometheus"].Command {
		if v, ok := strings.CutPrefix(a, "--config.file="); ok {
			cfgPath = v
		}
	}
	p.configHost, _ = hostPath(p.mounts, cfgPath)
	if p.configHost != "deploy/prometheus/prometheus.yml" {
		t.Fatalf("prometheus: %s should be ./deploy/prometheus/prometheus.yml mounted, is %q", cfgPath, p.configHost)
	}
	readYAML(t, p.configHost, &p.cfg)
	return p
}

// metricsPort is the port a node's /metrics is on: --metrics-addr when set,
// else --http-addr (the flags' environment variables in the compose file).
func metricsPort(t *testing.T, name string, s composeService) string {
	t.Helper()
	addr := s.Environment["MINIBITLY_METRICS_ADDR"]
	if addr == "" {
		addr = s.Environment["MINIBITLY_HTTP_ADDR"]
	}
	if addr == "" {
		addr = ":8080" // --http-addr's default
	}
	i := strings.LastIndexByte(addr, ':')
	if i < 0 || i == len(addr)-1 {
		t.Fatalf("service %s: cannot read a port from %q", name, addr)
	}
	return addr[i+1:]
}

func TestPrometheusScrapesEveryNode(t *testing.T) {
	c := loadCompose(t)
	p := loadProm(t, c)
	targets := map[string]bool{}
	found := false
	for _, sc := range p.cfg.ScrapeConfigs {
		if sc.JobName != "minibitly" { // rules.yml selects up{job="minibitly"}
			continue
		}
		found = true
		if sc.MetricsPath != "" && sc.MetricsPath != "/metrics" {
			t.Errorf("job minibitly: metrics_path %q, the nodes serve /metrics", sc.MetricsPath)
		}
		for _, st := range sc.StaticConfigs {
			for _, tg := range st.Targets {
				targets[tg] = true
			}
		}
	}
	if !found {
		t.Fatal(`prometheus.yml has no scrape job "minibitly" (rules.yml assumes it)`)
	}
	var nodes []string
	for name, s := range c.Services {
		if !strings.HasPrefix(name, "minibitly-") {
			continue
		}
		nodes = append(nodes, name)
		want := name + ":" + metricsPort(t, name, s)
		if !targets[want] {
			t.Errorf("compose service %s is not scraped: target %s missing from job minibitly (has %v)", name, want, keys(targets))
		}
		delete(targets, want)
	}
	if len(nodes) == 0 {
		t.Fatal("docker-compose.yml has no minibitly-* service")
	}
	for tg := range targets {
		t.Errorf("job minibitly scrapes %s, which is no minibitly-* service of the compose file", tg)
	}
}

func TestPrometheusLoadsTheMountedRules(t *testing.T) {
	c := loadCompose(t)
	p := loadProm(t, c)
	if len(p.cfg.RuleFiles) == 0 {
		t.Fatal("prometheus.yml loads no rule file")
	}
	loaded := map[string]bool{}
	for _, rf := range p.cfg.RuleFiles {
		if !path.IsAbs(rf) {
			rf = path.Join("/etc/prometheus", rf) // relative to the config file's directory
		}
		host, m := hostPath(p.mounts, rf)
		if host == "" {
			t.Errorf("rule file %s is not mounted into the prometheus service", rf)
			continue
		}
		if !exists(host) {
			t.Errorf("rule file %s is mounted from %s, which does not exist", rf, host)
		}
		if !m.ro {
			t.Errorf("rule file %s: mount %s should be read-only", rf, m.host)
		}
		loaded[host] = true
	}
	if !loaded["deploy/prometheus/rules.yml"] {
		t.Errorf("prometheus.yml does not load deploy/prometheus/rules.yml (loads %v)", keys(loaded))
	}
}

type grafanaDatasources struct {
	Datasources []struct {
		Name      string `yaml:"name"`
		UID       string `yaml:"uid"`
		Type      string `yaml:"type"`
		URL       string `yaml:"url"`
		IsDefault bool   `yaml:"isDefault"`
	} `yaml:"datasources"`
}

type grafanaDashboards struct {
	Providers []struct {
		Name    string `yaml:"name"`
		Type    string `yaml:"type"`
		Options struct {
			Path string `yaml:"path"`
		} `yaml:"options"`
	} `yaml:"providers"`
}

// provisioning returns the repository directory mounted at Grafana's
// provisioning directory kind (datasources, dashboards) and its YAML files.
func provisioning(t *testing.T, mounts []mount, kind string) []string {
	t.Helper()
	dir, m := hostPath(mounts, "/etc/grafana/provisioning/"+kind)
	if dir == "" {
		t.Fatalf("grafana: /etc/grafana/provisioning/%s is not mounted", kind)
	}
	if !m.ro {
		t.Errorf("grafana: %s should be mounted read-only", m.host)
	}
	files, err := filepath.Glob(filepath.Join(root, filepath.FromSlash(dir), "*.y*ml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("grafana: no provisioning file in %s (%v)", dir, err)
	}
	var rel []string
	for _, f := range files {
		r, _ := filepath.Rel(root, f)
		rel = append(rel, filepath.ToSlash(r))
	}
	return rel
}

func TestGrafanaProvisionsTheDashboard(t *testing.T) {
	const dashboard = "deploy/grafana/minibitly.json"
	c := loadCompose(t)
	mounts := bindMounts(t, c, "grafana")
	found := false
	for _, f := range provisioning(t, mounts, "dashboards") {
		var d grafanaDashboards
		readYAML(t, f, &d)
		for _, p := range d.Providers {
			if p.Type != "" && p.Type != "file" {
				continue
			}
			dir := path.Clean(p.Options.Path)
			if !path.IsAbs(dir) {
				t.Errorf("%s: provider %s: path %q should be absolute", f, p.Name, p.Options.Path)
				continue
			}
			// The provider reads dir (a directory, or one file): the
			// dashboard is there when it is mounted at dir or into dir, or
			// dir is inside a mounted directory that holds it.
			for _, m := range mounts {
				if m.host == dashboard && (m.container == dir || path.Dir(m.container) == dir) {
					found = true
					if !m.ro {
						t.Errorf("grafana: %s should be mounted read-only", m.host)
					}
				}
			}
			if host, _ := hostPath(mounts, dir); host == dashboard || (host != "" && path.Join(host, "minibitly.json") == dashboard) {
				found = true
			}
		}
	}
	if !found {
		t.Errorf("no dashboard provider's path holds %s as the grafana service mounts it", dashboard)
	}
}

func TestDashboardDatasourceIsProvisioned(t *testing.T) {
	c := loadCompose(t)
	mounts := bindMounts(t, c, "grafana")
	byUID, byName, byType := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, f := range provisioning(t, mounts, "datasources") {
		var d grafanaDatasources
		readYAML(t, f, &d)
		for _, ds := range d.Datasources {
			byUID[ds.UID], byName[ds.Name], byType[ds.Type] = true, true, true
			if ds.Type == "prometheus" {
				checkPrometheusURL(t, c, f, ds.URL)
			}
		}
	}
	var dash map[string]any
	if err := json.Unmarshal(readFile(t, "deploy/grafana/minibitly.json"), &dash); err != nil {
		t.Fatalf("minibitly.json: %v", err)
	}
	// Datasource variables: name → plugin type (the variable's query).
	vars := map[string]string{}
	if tm, ok := dash["templating"].(map[string]any); ok {
		list, _ := tm["list"].([]any)
		for _, v := range list {
			v, _ := v.(map[string]any)
			if v["type"] == "datasource" {
				name, _ := v["name"].(string)
				q, _ := v["query"].(string)
				vars[name] = q
			}
		}
	}
	refs := 0
	walk(dash, func(ds any) {
		refs++
		switch ds := ds.(type) {
		case string: // old form: the data source's name, or a variable
			if v, ok := variable(ds); ok {
				checkVar(t, vars, byType, v)
			} else if !byName[ds] {
				t.Errorf("dashboard references data source %q, not provisioned", ds)
			}
		case map[string]any:
			uid, _ := ds["uid"].(string)
			typ, _ := ds["type"].(string)
			if typ != "" && !byType[typ] && typ != "grafana" && typ != "datasource" {
				t.Errorf("dashboard references a %q data source; none is provisioned", typ)
			}
			if v, ok := variable(uid); ok {
				checkVar(t, vars, byType, v)
			} else if uid != "" && uid != "-- Grafana --" && uid != "grafana" && !byUID[uid] {
				t.Errorf("dashboard references data source uid %q, not provisioned (have %v)", uid, keys(byUID))
			}
		}
	})
	if refs == 0 {
		t.Error("the dashboard references no data source: nothing checked")
	}
}

// checkPrometheusURL checks that a data source URL names the compose
// prometheus service and the port it listens on.
func checkPrometheusURL(t *testing.T, c composeFile, file, u string) {
	t.Helper()
	host, _ := strings.CutPrefix(u, "http://")
	host, _, _ = strings.Cut(host, "/")
	name, port, _ := strings.Cut(host, ":")
	if _, ok := c.Services[name]; !ok {
		t.Errorf("%s: data source URL %s names no compose service", file, u)
	}
	if port != "9090" {
		t.Errorf("%s: data source URL %s: Prometheus listens on 9090", file, u)
	}
}

var varRef = regexp.MustCompile(`^\$\{?([A-Za-z0-9_]+)(?::[a-z]+)?\}?$`)

func variable(s string) (string, bool) {
	m := varRef.FindStringSubmatch(s)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// checkVar: a reference through a variable works when the dashboard has a
// datasource variable of that name whose plugin type is provisioned. An
// __inputs placeholder (${DS_…}) is only replaced by a UI import, never by
// file provisioning.
func checkVar(t *testing.T, vars map[string]string, byType map[string]bool, name string) {
	t.Helper()
	typ, ok := vars[name]
	if !ok {
		t.Errorf("dashboard references ${%s}, which is no datasource variable of the dashboard (provisioning does not fill __inputs)", name)
		return
	}
	if !byType[typ] {
		t.Errorf("datasource variable %s selects %q data sources; none is provisioned", name, typ)
	}
}

// walk calls fn with the value of every "datasource" key in v.
func walk(v any, fn func(any)) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if k == "datasource" && x != nil {
				fn(x)
				continue
			}
			walk(x, fn)
		}
	case []any:
		for _, x := range v {
			walk(x, fn)
		}
	}
}

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert string `yaml:"alert"`
			Expr  string `yaml:"expr"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func alertNames(t *testing.T) []string {
	t.Helper()
	var rf ruleFile
	readYAML(t, "deploy/prometheus/rules.yml", &rf)
	var out []string
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" {
				out = append(out, r.Alert)
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("rules.yml has no alert")
	}
	return out
}

func TestEveryAlertIsInTheRunbook(t *testing.T) {
	doc := readFile(t, "docs/operations.md")
	headings := map[string]bool{}
	for _, line := range bytes.Split(doc, []byte("\n")) {
		if h, ok := bytes.CutPrefix(line, []byte("#")); ok {
			h = bytes.Trim(h, "# `")
			headings[string(h)] = true
		}
	}
	for _, a := range alertNames(t) {
		if !headings[a] {
			t.Errorf("alert %s has no subsection in docs/operations.md (a heading \"### %s\")", a, a)
		}
	}
}

func TestComposePublishesUIsOnLocalhost(t *testing.T) {
	c := loadCompose(t)
	for svc, port := range map[string]string{"prometheus": "9090", "grafana": "3000"} {
		want := fmt.Sprintf("127.0.0.1:%s:%s", port, port)
		ok := false
		for _, p := range c.Services[svc].Ports {
			if p == want {
				ok = true
			}
		}
		if !ok {
			t.Errorf("service %s should publish %s (has %v)", svc, want, c.Services[svc].Ports)
		}
	}
}

// TestPromtool runs promtool on the rules, their unit test and the
// Prometheus configuration (rule paths mapped from the container's to the
// repository's). Skipped when promtool is not installed.
func TestPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not on PATH (Debian: apt-get install -y prometheus)")
	}
	run := func(dir string, args ...string) {
		t.Helper()
		cmd := exec.Command(promtool, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	promDir := filepath.Join(root, "deploy", "prometheus")
	run(promDir, "check", "rules", "rules.yml")
	run(promDir, "test", "rules", "rules_test.yml")

	c := loadCompose(t)
	p := loadProm(t, c)
	var cfg map[string]any
	readYAML(t, p.configHost, &cfg)
	var files []any
	for _, rf := range p.cfg.RuleFiles {
		if !path.IsAbs(rf) {
			rf = path.Join("/etc/prometheus", rf)
		}
		host, _ := hostPath(p.mounts, rf)
		abs, err := filepath.Abs(filepath.Join(root, filepath.FromSlash(host)))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, abs)
	}
	cfg["rule_files"] = files
	b, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(t.TempDir(), "prometheus.yml")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	run(".", "check", "config", tmp)
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestComposeConfig runs `docker-compose config -q` (Debian: apt-get install
// -y docker-compose), which needs no engine. Skipped when it is absent.
func TestComposeConfig(t *testing.T) {
	bin, err := exec.LookPath("docker-compose")
	if err != nil {
		t.Skip("docker-compose not on PATH (Debian: apt-get install -y docker-compose)")
	}
	cmd := exec.Command(bin, "-f", "docker-compose.yml", "config", "-q")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("docker-compose config -q: %v\n%s", err, out)
	}
}
