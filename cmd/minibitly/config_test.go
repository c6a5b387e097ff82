package main

import (
	"flag"
	"io"
	"strings"
	"testing"
	"time"
)

func parseServe(t *testing.T, args ...string) (*config, error) {
	t.Helper()
	var c config
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	serveFlags(fs, &c)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return &c, c.finish()
}

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
		"bad profile":         {append([]string{"--gossip-addr", ":7946", "--remote-addr", "10.0.0.1:8090", "--gossip-profile", "wan"}, base...), "lan or fast"},
	}
	for name, c := range errs {
		t.Run(name, func(t *testing.T) {
			_, err := parseServe(t, c.args...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, c.want)
			}
		})
	}

	c, err := parseServe(t, append([]string{"--gossip-addr", "0.0.0.0:7946", "--remote-addr", "0.0.0.0:8090",
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
	c, err := parseServe(t)
	if err != nil {
		t.Fatal(err)
	}
	if c.Gateway.BaseURL != "http://localhost:8080" || c.GossipAddr != "" || c.Actors.NearCache.TTL != 5*time.Minute {
		t.Fatalf("defaults: base %q gossip %q ttl %s", c.Gateway.BaseURL, c.GossipAddr, c.Actors.NearCache.TTL)
	}
}
