package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minibitly/minibitly/actors"
	"github.com/minibitly/minibitly/actors/rawvisits"
	"github.com/minibitly/minibitly/cluster"
	"github.com/minibitly/minibitly/gateway"
	"github.com/minibitly/minibitly/storage/clickhouse"
	"github.com/minibitly/minibitly/storage/embedded"
	"github.com/minibitly/minibitly/storage/postgres"
)

// parseArgs parses serve's flags (and the environment) into a finished config.
func parseArgs(t *testing.T, args ...string) (*config, error) {
	t.Helper()
	return parseServe(args, new(bytes.Buffer))
}

// flagSets are the flag sets of every subcommand, each over a fresh config.
func flagSets() map[string]*flagSet {
	sets := map[string]*flagSet{}
	c := defaultConfig()
	sets["serve"] = newFlagSet("serve")
	serveFlags(sets["serve"], &c)
	for _, sub := range []string{"create", "list", "revoke"} {
		c, kf := defaultConfig(), keyFlags{}
		sets["keys "+sub] = keysFlags(sub, &c, &kf)
	}
	c = defaultConfig()
	sets["migrate"] = migrateFlags(&c)
	return sets
}

var clusterArgs = []string{"--gossip-addr", "127.0.0.1:7946", "--remote-addr", "127.0.0.1:8090",
	"--postgres-url", "postgres://x", "--clickhouse-url", "clickhouse://y"}

func TestConfig_Cluster(t *testing.T) {
	base := []string{"--postgres-url", "postgres://x", "--clickhouse-url", "clickhouse://y"}
	errs := map[string]struct {
		args []string
		want string
	}{
		"join without gossip": {[]string{"--join", "a:1"}, "need --gossip-addr"},
		"no remote":           {append([]string{"--gossip-addr", "127.0.0.1:0"}, base...), "needs --remote-addr"},
		"no postgres":         {[]string{"--gossip-addr", "127.0.0.1:0", "--remote-addr", "127.0.0.1:0"}, "needs --postgres-url"},
		"no clickhouse":       {[]string{"--gossip-addr", "127.0.0.1:0", "--remote-addr", "127.0.0.1:0", "--postgres-url", "p"}, "--clickhouse-url"},
		"wildcard remote":     {append([]string{"--gossip-addr", ":7946", "--remote-addr", "0.0.0.0:8090"}, base...), "--remote-advertise"},
		"advertise with port": {append([]string{"--gossip-addr", ":7946", "--remote-addr", "0.0.0.0:8090", "--remote-advertise", "10.0.0.5:8090"}, base...), "host only"},
		"bad profile":         {append([]string{"--gossip-addr", ":7946", "--remote-addr", "10.0.0.1:8090", "--gossip-profile", "wan"}, base...), "lan or fast"},
		"bad gossip addr":     {append([]string{"--gossip-addr", ":7946", "--remote-addr", "10.0.0.1:8090"}, base...), "bind address"},
	}
	for name, c := range errs {
		t.Run(name, func(t *testing.T) {
			_, err := parseArgs(t, c.args...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, c.want)
			}
		})
	}

	c, err := parseArgs(t, append([]string{"--gossip-addr", "0.0.0.0:7946", "--remote-addr", "0.0.0.0:8090",
		"--remote-advertise", "10.0.0.5", "--join", "seed-a, seed-b:7000", "--gossip-profile", "fast",
		"--gossip-probe-interval", "300ms"}, base...)...)
	if err != nil {
		t.Fatal(err)
	}
	if c.Cluster.RemoteAddr != "10.0.0.5:8090" || c.Actors.RemoteAdvertiseAddr != "10.0.0.5:8090" || c.Cluster.HTTPAddr != "10.0.0.5:8080" {
		t.Fatalf("advertised addresses: remote %q http %q", c.Cluster.RemoteAddr, c.Cluster.HTTPAddr)
	}
	if len(c.Cluster.Join) != 2 || c.Cluster.Join[1] != "seed-b:7000" {
		t.Fatalf("join = %q", c.Cluster.Join)
	}
	if c.Cluster.ProbeInterval.String() != "300ms" || c.Cluster.SuspicionMult != 2 {
		t.Fatalf("profile fast with an override: %+v", c.Cluster)
	}
}

func TestConfig_SingleNodeDefaults(t *testing.T) {
	c, err := parseArgs(t)
	if err != nil {
		t.Fatal(err)
	}
	if c.Gateway.BaseURL != "http://localhost:8080" || c.GossipAddr != "" || c.Actors.NearCache.TTL != 5*time.Minute {
		t.Fatalf("defaults: base %q gossip %q ttl %s", c.Gateway.BaseURL, c.GossipAddr, c.Actors.NearCache.TTL)
	}
	c, err = parseArgs(t, "--http-addr", "127.0.0.1:9090")
	if err != nil || c.Gateway.BaseURL != "http://127.0.0.1:9090" {
		t.Fatalf("base URL from --http-addr: %q, %v", c.Gateway.BaseURL, err)
	}
}

// TestConfig_DefaultsArePackageDefaults: a node started with no flags runs
// with exactly the packages' DefaultConfig values, apart from the fields
// the binary derives (node name, base URL, self hosts, cluster addresses).
func TestConfig_DefaultsArePackageDefaults(t *testing.T) {
	c, err := parseArgs(t)
	if err != nil {
		t.Fatal(err)
	}
	wantActors := actors.DefaultConfig()
	wantActors.NodeName = hostname()
	if !reflect.DeepEqual(c.Actors, wantActors) {
		t.Errorf("actors config\n got %+v\nwant %+v", c.Actors, wantActors)
	}
	wantGateway := gateway.DefaultConfig()
	wantGateway.SelfHosts = c.Gateway.SelfHosts
	if !reflect.DeepEqual(c.Gateway, wantGateway) {
		t.Errorf("gateway config\n got %+v\nwant %+v", c.Gateway, wantGateway)
	}
	if want := postgres.DefaultConfig(); c.Postgres != want {
		t.Errorf("postgres config\n got %+v\nwant %+v", c.Postgres, want)
	}
	if want := clickhouse.DefaultConfig(); c.ClickHouse != want {
		t.Errorf("clickhouse config\n got %+v\nwant %+v", c.ClickHouse, want)
	}
	if want := rawvisits.DefaultConfig(); c.RawVisits != want { // Interval is --flush-interval's, the same by default
		t.Errorf("raw visits config\n got %+v\nwant %+v", c.RawVisits, want)
	}
	if got, want := filepath.Join(c.DataDir, filepath.Base(embedded.DefaultConfig().Path)), embedded.DefaultConfig().Path; got != want {
		t.Errorf("embedded store %q, embedded.DefaultConfig's %q", got, want)
	}

	for profile, want := range map[string]cluster.Config{"lan": cluster.DefaultConfig(), "fast": cluster.FastConfig()} {
		c, err := parseArgs(t, append(clusterArgs, "--gossip-profile", profile)...)
		if err != nil {
			t.Fatal(err)
		}
		got := c.Cluster
		got.NodeName, got.BindAddr, got.AdvertiseAddr, got.Join, got.HTTPAddr, got.RemoteAddr, got.Logger =
			want.NodeName, want.BindAddr, want.AdvertiseAddr, want.Join, want.HTTPAddr, want.RemoteAddr, want.Logger
		if !reflect.DeepEqual(got, want) {
			t.Errorf("cluster config of profile %s\n got %+v\nwant %+v", profile, got, want)
		}
	}
}

// TestFlag_Defaults: every flag's default (as --help shows it) is the
// DefaultConfig value of the field it binds to, so a package default that
// changes changes the flag, and a literal that drifts fails here.
func TestFlag_Defaults(t *testing.T) {
	a, g, n := actors.DefaultConfig(), gateway.DefaultConfig(), actors.DefaultConfig().NearCache
	pg, ch := postgres.DefaultConfig(), clickhouse.DefaultConfig()
	rv := rawvisits.DefaultConfig()
	lan, fast := cluster.DefaultConfig(), cluster.FastConfig()
	d := fmtDuration
	each := func(f func(cluster.Config) any) string {
		s := func(v any) string {
			if x, ok := v.(time.Duration); ok {
				return d(x)
			}
			return fmt.Sprint(v)
		}
		return s(f(lan)) + " with lan, " + s(f(fast)) + " with fast"
	}
	want := map[string]string{
		// Defined by the binary (defaultConfig).
		"http-addr":            ":8080",
		"https-addr":           ":8443",
		"data-dir":             "./data",
		"log-level":            "info",
		"shutdown-timeout":     "25s",
		"gossip-profile":       "lan",
		"visit-journal":        "true",
		"visit-sync-interval":  "1s",
		"visit-journal-max-mb": "512",
		// Derived at run time.
		"base-url":  "http://localhost:<port of --http-addr>",
		"node-name": "the host name",
		// Off unless given.
		"postgres-url": "", "postgres-read-url": "", "clickhouse-url": "", "clickhouse-cluster": "", "country-header": "",
		"tls-cert": "", "tls-key": "", "metrics-addr": "", "pprof-addr": "", "metrics-token": "", "blocklist": "",
		"gossip-advertise": "the bind address",
		"gossip-addr":      "", "join": "", "remote-addr": "", "remote-advertise": "",
		"allow-local-visits": "false", "allow-private-destinations": fmt.Sprint(g.AllowPrivateDestinations),
		// The packages' DefaultConfig.
		"postgres-max-conns":               fmt.Sprint(pg.MaxConns),
		"postgres-read-your-writes-window": d(pg.ReadYourWritesWindow),
		"postgres-query-timeout":           d(pg.QueryTimeout),
		"clickhouse-query-timeout":         d(ch.QueryTimeout),
		"http-read-timeout":                d(g.ReadTimeout),
		"http-write-timeout":               d(g.WriteTimeout),
		"http-idle-timeout":                d(g.IdleTimeout),
		"max-body-bytes":                   fmt.Sprint(g.MaxBodyBytes),
		"cache-max-age":                    fmt.Sprint(g.DefaultCacheMaxAge),
		"api-rate":                         fmt.Sprint(g.APIRate),
		"max-conns":                        fmt.Sprint(g.MaxConns),
		"proxy-header":                     g.ProxyHeader,
		"max-conns-per-ip":                 fmt.Sprint(g.MaxConnsPerIP),
		"api-burst":                        fmt.Sprint(g.APIBurst),
		"redirect-rate-limit":              g.RedirectRateLimit.String(),
		"miss-rate-limit":                  g.MissRateLimit.String(),
		"trusted-proxies":                  g.TrustedProxies,
		"cors-origins":                     g.CORSOrigins,
		"redirects-refresh":                d(g.RedirectsRefresh),
		"shards":                           fmt.Sprint(a.Shards),
		"flush-interval":                   d(a.FlushInterval),
		"batch-interval":                   d(a.BatchInterval),
		"flush-buffer-rows":                fmt.Sprint(a.Flush.MaxBufferedRows),
		"referrers-per-minute":             fmt.Sprint(a.ReferrersPerMinute),
		"owner-cache-size":                 fmt.Sprint(a.OwnerCacheSize),
		"near-cache-size":                  fmt.Sprint(n.MaxEntries),
		"near-cache-ttl":                   d(n.TTL),
		"near-cache-negative-ttl":          d(n.NegativeTTL),
		"near-cache-negative-size":         fmt.Sprint(n.NegativeEntries),
		"remote-timeout":                   d(a.RemoteTimeout),
		"visit-ack-timeout":                d(a.VisitAckTimeout),
		"gossip-probe-interval":            each(func(c cluster.Config) any { return c.ProbeInterval }),
		"gossip-probe-timeout":             each(func(c cluster.Config) any { return c.ProbeTimeout }),
		"gossip-suspicion-mult":            each(func(c cluster.Config) any { return c.SuspicionMult }),
		"gossip-interval":                  each(func(c cluster.Config) any { return c.GossipInterval }),
		"gossip-rejoin-interval":           each(func(c cluster.Config) any { return c.RejoinInterval }),
		"raw-visits":                       fmt.Sprint(rv.Enabled),
		"raw-visits-ttl":                   d(rv.TTL),
		// keys create
		"name": "", "scope": "", "expires": "", "own-links-only": "false",
	}
	seen := map[string]bool{}
	for set, fs := range flagSets() {
		fs.VisitAll(func(f *flag.Flag) {
			seen[f.Name] = true
			w, ok := want[f.Name]
			if !ok {
				t.Errorf("%s --%s: not in this test's table; add it with the DefaultConfig value it binds to", set, f.Name)
				return
			}
			if got := fs.defaultText(f); got != w {
				t.Errorf("%s --%s: default %q, want %q", set, f.Name, got, w)
			}
		})
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("--%s is in the table but no subcommand has it", name)
		}
	}
	if fs := flagSets()["serve"]; fs.Lookup("node-name").DefValue != hostname() {
		t.Errorf("--node-name defaults to %q, want the host name %q", fs.Lookup("node-name").DefValue, hostname())
	}
}

// envSample is a valid value for f other than its default, and the
// String() the flag has once set to it.
func envSample(t *testing.T, f *flag.Flag) (set, want string) {
	switch v := f.Value.(flag.Getter).Get().(type) {
	case string:
		return "from-env", "from-env"
	case bool:
		s := fmt.Sprint(!v)
		return s, s
	case time.Duration:
		return "7s", "7s"
	case int, int32:
		return "7", "7"
	case float64:
		return "7.5", "7.5"
	case []string:
		return "links:read, stats:read", "links:read,stats:read"
	case gateway.Rate:
		return "7/m", "7/m"
	default:
		t.Fatalf("--%s: no sample for %T", f.Name, v)
		return "", ""
	}
}

// TestFlag_Env: every flag of every subcommand is read from its MINIBITLY_*
// variable when not given, and the command line wins.
func TestFlag_Env(t *testing.T) {
	for set := range flagSets() {
		flagSets()[set].VisitAll(func(f *flag.Flag) {
			t.Run(set+"/"+f.Name, func(t *testing.T) {
				fs := flagSets()[set] // fresh: applyEnv sets the config
				f := fs.Lookup(f.Name)
				v, want := envSample(t, f)
				t.Setenv(envName(f.Name), v)
				if err := fs.Parse(nil); err != nil {
					t.Fatal(err)
				}
				if err := applyEnv(fs); err != nil {
					t.Fatal(err)
				}
				if got := f.Value.String(); got != want {
					t.Fatalf("%s=%s: flag value %q, want %q", envName(f.Name), v, got, want)
				}
			})
		})
	}

	t.Setenv("MINIBITLY_SHARDS", "16")
	t.Setenv("MINIBITLY_FLUSH_INTERVAL", "250ms")
	t.Setenv("MINIBITLY_GOSSIP_SUSPICION_MULT", "3")
	c, err := parseArgs(t, append(clusterArgs, "--shards", "8")...)
	if err != nil {
		t.Fatal(err)
	}
	if c.Actors.Shards != 8 || c.Actors.FlushInterval != 250*time.Millisecond || c.Cluster.SuspicionMult != 3 {
		t.Fatalf("shards %d (flag 8 wins over env 16), flush %s (env), suspicion %d (env)",
			c.Actors.Shards, c.Actors.FlushInterval, c.Cluster.SuspicionMult)
	}
	t.Setenv("MINIBITLY_SHARDS", "many")
	if _, err := parseArgs(t); err == nil || !strings.Contains(err.Error(), "MINIBITLY_SHARDS") {
		t.Fatalf("bad env value: %v, want an error naming MINIBITLY_SHARDS", err)
	}
}

// helpFlag is one flag as --help lists it.
type helpFlag struct {
	group, def, usage, env string
}

// parseHelp reads --help output: "Group:" lines, then per flag
// "  --name (default X)", "      usage", "      env VAR".
func parseHelp(t *testing.T, out string) map[string]helpFlag {
	t.Helper()
	flagLine := regexp.MustCompile(`^  --([a-z0-9-]+)(?: \(default (.*)\))?$`)
	got := map[string]helpFlag{}
	group := ""
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if m := flagLine.FindStringSubmatch(l); m != nil {
			if i+2 >= len(lines) {
				t.Fatalf("help ends inside --%s", m[1])
			}
			if _, dup := got[m[1]]; dup {
				t.Errorf("--%s listed twice", m[1])
			}
			got[m[1]] = helpFlag{group: group, def: m[2],
				usage: strings.TrimSpace(lines[i+1]), env: strings.TrimPrefix(lines[i+2], "      env ")}
			i += 2
			continue
		}
		if strings.HasSuffix(l, ":") && !strings.HasPrefix(l, " ") && l != "Usage:" && !strings.HasPrefix(l, "Flags of") {
			group = strings.TrimSuffix(l, ":")
		}
	}
	return got
}

// TestHelp_Groups: --help of every subcommand lists every flag once, under
// a group, with its default and its environment variable.
func TestHelp_Groups(t *testing.T) {
	groups := map[string][]string{
		"serve":   {"HTTP", "Storage", "Visits", "Caches", "Limits", "Node", "Cluster", "Logging"},
		"migrate": {"Storage", "Logging"},
	}
	for set, fs := range flagSets() {
		t.Run(set, func(t *testing.T) {
			var buf bytes.Buffer
			fs.setUsage(&buf, "Usage:\n  minibitly …\n\n")
			fs.Usage()
			help := parseHelp(t, buf.String())
			fs.VisitAll(func(f *flag.Flag) {
				h, ok := help[f.Name]
				switch {
				case !ok:
					t.Errorf("--%s is missing from --help", f.Name)
				case h.group == "":
					t.Errorf("--%s is listed under no group", f.Name)
				case h.env != envName(f.Name):
					t.Errorf("--%s: help says env %q, want %s", f.Name, h.env, envName(f.Name))
				case h.def != fs.defaultText(f):
					t.Errorf("--%s: help shows default %q, want %q", f.Name, h.def, fs.defaultText(f))
				case h.usage == "":
					t.Errorf("--%s has no description", f.Name)
				}
			})
			if len(help) != countFlags(fs) {
				t.Errorf("help lists %d flags, the set has %d", len(help), countFlags(fs))
			}
			if want, ok := groups[set]; ok {
				var got []string
				for _, g := range fs.groups {
					got = append(got, g.title)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("groups %q, want %q", got, want)
				}
			}
		})
	}
}

func countFlags(fs *flagSet) int {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n
}

// TestHelp_Commands: `minibitly --help`, `help`, `keys --help` and
// `migrate --help` succeed (ErrHelp: exit status 0).
func TestHelp_Commands(t *testing.T) {
	if _, err := parseServe([]string{"--help"}, new(bytes.Buffer)); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("serve --help: %v, want flag.ErrHelp", err)
	}
	stderr := os.Stderr
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	os.Stderr = null // keys and migrate print their help there
	defer func() { os.Stderr = stderr }()
	for _, args := range [][]string{{"help"}, {"keys", "--help"}, {"keys", "create", "--help"}, {"migrate", "--help"}} {
		if err := run(args); !errors.Is(err, flag.ErrHelp) {
			t.Errorf("minibitly %s: %v, want flag.ErrHelp", strings.Join(args, " "), err)
		}
	}
}

// TestHelp_README: the README's flag tables (the configuration section and
// the cluster section) list every flag of serve under its --help group with
// the default --help shows ("–" for none).
func TestHelp_README(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	caption := regexp.MustCompile(`^\*\*([A-Za-z]+)\*\*$`)
	row := regexp.MustCompile("^\\| `--([a-z0-9-]+)` \\| ([^|]*) \\|")
	type doc struct{ group, def string }
	docs := map[string]doc{}
	group := ""
	for _, l := range strings.Split(string(readme), "\n") {
		if m := caption.FindStringSubmatch(l); m != nil {
			group = m[1]
		}
		if strings.HasPrefix(l, "#") {
			group = ""
		}
		if m := row.FindStringSubmatch(l); m != nil {
			def := strings.ReplaceAll(strings.TrimSpace(m[2]), "`", "")
			if def == "–" {
				def = ""
			}
			docs[m[1]] = doc{group, def}
		}
	}
	fs := flagSets()["serve"]
	groupOf := map[string]string{}
	for _, g := range fs.groups {
		for _, n := range g.names {
			groupOf[n] = g.title
		}
	}
	fs.VisitAll(func(f *flag.Flag) {
		d, ok := docs[f.Name]
		switch {
		case !ok:
			t.Errorf("README: no row for --%s", f.Name)
		case d.group != groupOf[f.Name]:
			t.Errorf("README: --%s is under %q, --help has it under %q", f.Name, d.group, groupOf[f.Name])
		case d.def != fs.defaultText(f):
			t.Errorf("README: --%s default %q, --help shows %q", f.Name, d.def, fs.defaultText(f))
		}
		delete(docs, f.Name)
	})
	for name := range docs {
		t.Errorf("README lists --%s, which serve does not have", name)
	}
}

// TestConfig_ZeroIsAValue: a zero is never read as "the default". Where it
// has a documented meaning it is kept; elsewhere it is refused.
func TestConfig_ZeroIsAValue(t *testing.T) {
	c, err := parseArgs(t, "--http-read-timeout", "0", "--http-write-timeout", "0", "--api-rate", "0", "--cache-max-age", "0")
	if err != nil {
		t.Fatal(err)
	}
	if c.Gateway.ReadTimeout != 0 || c.Gateway.WriteTimeout != 0 || c.Gateway.APIRate != 0 || c.Gateway.DefaultCacheMaxAge != 0 {
		t.Fatalf("documented zeros not kept: %+v", c.Gateway)
	}
	refused := map[string][]string{
		"shutdown timeout": {"--shutdown-timeout", "0"},
		"postgres conns":   {"--postgres-url", "postgres://x", "--postgres-max-conns", "0"},
		"postgres timeout": {"--postgres-url", "postgres://x", "--postgres-query-timeout", "0"},
		"clickhouse":       {"--clickhouse-url", "clickhouse://x", "--clickhouse-query-timeout", "0"},
		"cluster name":     {"--clickhouse-url", "clickhouse://x", "--clickhouse-cluster", "a b"},
		"flush buffer":     {"--flush-buffer-rows", "0"},
		"near-cache size":  {"--near-cache-size", "0"},
		"near-cache ttl":   {"--near-cache-ttl", "500ms"},
		"owner cache":      {"--owner-cache-size", "8", "--shards", "16"},
		"flush interval":   {"--flush-interval", "1ms"},
		"shards":           {"--shards", "0"},
		"remote timeout":   {"--remote-timeout", "0"},
	}
	// Errors name the flag, not the Go field behind it.
	if _, err := parseArgs(t, "--api-burst", "0"); err == nil || !strings.Contains(err.Error(), "--api-burst must be at least 1 when --api-rate is set") {
		t.Fatalf("--api-burst 0: %v, want an error naming the flags", err)
	}
	if _, err := parseArgs(t, "--max-body-bytes", "0"); err == nil || !strings.Contains(err.Error(), "--max-body-bytes must be positive") {
		t.Fatalf("--max-body-bytes 0: %v, want an error naming the flag", err)
	}
	for name, c := range map[string]struct {
		args []string
		want string
	}{
		"cert without key":   {[]string{"--tls-cert", "c.pem"}, "--tls-cert and --tls-key go together"},
		"key without cert":   {[]string{"--tls-key", "k.pem"}, "--tls-cert and --tls-key go together"},
		"https is http":      {[]string{"--tls-cert", "c.pem", "--tls-key", "k.pem", "--https-addr", ":8080"}, "its own address"},
		"bad https addr":     {[]string{"--tls-cert", "c.pem", "--tls-key", "k.pem", "--https-addr", "nope"}, "--https-addr"},
		"cors not an origin": {[]string{"--cors-origins", "app.example"}, "--cors-origins"},
		"cors with a path":   {[]string{"--cors-origins", "https://app.example/ui"}, "--cors-origins"},
	} {
		if _, err := parseArgs(t, c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error containing %q", name, err, c.want)
		}
	}
	if c, err := parseArgs(t, "--tls-cert", "c.pem", "--tls-key", "k.pem", "--https-addr", "127.0.0.1:9443"); err != nil || !slices.Contains(c.Gateway.SelfHosts, "127.0.0.1:9443") {
		t.Errorf("TLS listener: %v; self hosts %v, want 127.0.0.1:9443 among them", err, c)
	}
	for name, args := range refused {
		t.Run(name, func(t *testing.T) {
			if _, err := parseArgs(t, args...); err == nil {
				t.Fatalf("%q accepted", args)
			}
		})
	}
	// The gossip overrides showed "default 0s" in --help before: 0 keeps
	// the profile's value, as it always did.
	c, err = parseArgs(t, append([]string{"--gossip-probe-interval", "0", "--gossip-suspicion-mult", "0", "--gossip-profile", "fast"}, clusterArgs...)...)
	if err != nil {
		t.Fatal(err)
	}
	if fast := cluster.FastConfig(); c.Cluster.ProbeInterval != fast.ProbeInterval || c.Cluster.SuspicionMult != fast.SuspicionMult {
		t.Fatalf("gossip override 0: probe %s mult %d, want the fast profile's %s and %d", c.Cluster.ProbeInterval, c.Cluster.SuspicionMult, fast.ProbeInterval, fast.SuspicionMult)
	}
}

// TestConfig_GossipOverrides: an override not given keeps the profile's
// value, one given replaces it, from the command line or the environment.
func TestConfig_GossipOverrides(t *testing.T) {
	c, err := parseArgs(t, append(clusterArgs, "--gossip-profile", "fast", "--gossip-rejoin-interval", "3s", "--gossip-interval", "20ms")...)
	if err != nil {
		t.Fatal(err)
	}
	fast := cluster.FastConfig()
	if c.Cluster.ProbeInterval != fast.ProbeInterval || c.Cluster.ProbeTimeout != fast.ProbeTimeout ||
		c.Cluster.SuspicionMult != fast.SuspicionMult || c.Cluster.RejoinInterval != 3*time.Second ||
		c.Cluster.GossipInterval != 20*time.Millisecond {
		t.Fatalf("fast with rejoin 3s and gossip 20ms: %+v", c.Cluster)
	}
	t.Setenv("MINIBITLY_GOSSIP_PROBE_TIMEOUT", "400ms")
	if c, err = parseArgs(t, clusterArgs...); err != nil || c.Cluster.ProbeTimeout != 400*time.Millisecond ||
		c.Cluster.ProbeInterval != cluster.DefaultConfig().ProbeInterval {
		t.Fatalf("lan with probe timeout from the environment: %+v, %v", c.Cluster, err)
	}
}

// TestConfig_Destinations: --allow-private-destinations reaches the
// gateway, and the listen address is a self host even without a host
// (":8080", the default: the gateway expands it to every address).
func TestConfig_Destinations(t *testing.T) {
	c, err := parseArgs(t)
	if err != nil {
		t.Fatal(err)
	}
	if c.Gateway.AllowPrivateDestinations || !slices.Contains(c.Gateway.SelfHosts, ":8080") {
		t.Errorf("defaults: private %v, self hosts %v; want false and :8080 among them", c.Gateway.AllowPrivateDestinations, c.Gateway.SelfHosts)
	}
	if c, err = parseArgs(t, "--allow-private-destinations", "--http-addr", "0.0.0.0:9090"); err != nil {
		t.Fatal(err)
	}
	if !c.Gateway.AllowPrivateDestinations || !slices.Contains(c.Gateway.SelfHosts, "0.0.0.0:9090") {
		t.Errorf("private %v, self hosts %v; want true and 0.0.0.0:9090 among them", c.Gateway.AllowPrivateDestinations, c.Gateway.SelfHosts)
	}
}

// TestConfig_RateLimitFlags: the rate limits parse N/s, N/m and off, and
// bad values name the flag.
func TestConfig_RateLimitFlags(t *testing.T) {
	c, err := parseArgs(t, "--redirect-rate-limit", "20/s", "--miss-rate-limit", "off", "--trusted-proxies", "10.0.0.0/8, 2001:db8::/32")
	if err != nil {
		t.Fatal(err)
	}
	if g := c.Gateway; g.RedirectRateLimit != (gateway.Rate{N: 20, Per: time.Second}) || !g.MissRateLimit.Off() || g.TrustedProxies != "10.0.0.0/8, 2001:db8::/32" {
		t.Fatalf("parsed %+v %+v %q", g.RedirectRateLimit, g.MissRateLimit, g.TrustedProxies)
	}
	if _, err := parseArgs(t, "--redirect-rate-limit", "20/h"); err == nil || !strings.Contains(err.Error(), "redirect-rate-limit") {
		t.Fatalf("--redirect-rate-limit 20/h: %v", err)
	}
	if _, err := parseArgs(t, "--trusted-proxies", "10.0.0.0/33"); err == nil || !strings.Contains(err.Error(), "--trusted-proxies") {
		t.Fatalf("--trusted-proxies 10.0.0.0/33: %v", err)
	}
}

// TestConfig_RawVisits: --raw-visits needs ClickHouse and a TTL of a day or
// more, and writes every --flush-interval.
func TestConfig_RawVisits(t *testing.T) {
	errs := map[string]struct {
		args []string
		want string
	}{
		"no clickhouse": {[]string{"--raw-visits"}, "--raw-visits needs --clickhouse-url"},
		"short ttl":     {[]string{"--raw-visits", "--clickhouse-url", "clickhouse://y", "--raw-visits-ttl", "23h"}, "--raw-visits-ttl must be at least 24h"},
	}
	for name, c := range errs {
		t.Run(name, func(t *testing.T) {
			_, err := parseArgs(t, c.args...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, c.want)
			}
		})
	}
	t.Setenv("MINIBITLY_RAW_VISITS_TTL", "48h")
	c, err := parseArgs(t, "--raw-visits", "--clickhouse-url", "clickhouse://y", "--flush-interval", "250ms")
	if err != nil {
		t.Fatal(err)
	}
	if !c.RawVisits.Enabled || c.RawVisits.TTL != 48*time.Hour || c.RawVisits.Interval != 250*time.Millisecond {
		t.Fatalf("raw visits config %+v", c.RawVisits)
	}
}
