package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/prometheus/client_golang/prometheus"
)

func TestConfig_Profiles(t *testing.T) {
	lan := memberlist.DefaultLANConfig()
	d := DefaultConfig()
	if d.ProbeInterval != lan.ProbeInterval || d.ProbeTimeout != lan.ProbeTimeout ||
		d.SuspicionMult != lan.SuspicionMult || d.GossipInterval != lan.GossipInterval ||
		d.RejoinInterval != 5*time.Second || d.BindAddr != "0.0.0.0:7946" {
		t.Errorf("DefaultConfig = %+v", d)
	}
	f := FastConfig()
	if f.ProbeInterval != 200*time.Millisecond || f.ProbeTimeout != 100*time.Millisecond ||
		f.SuspicionMult != 2 || f.GossipInterval != 50*time.Millisecond {
		t.Errorf("FastConfig = %+v", f)
	}
}

func TestConfig_Validate(t *testing.T) {
	for name, tc := range map[string]struct {
		edit func(*Config)
		ok   bool
	}{
		"valid":             {func(c *Config) {}, true},
		"seeds":             {func(c *Config) { c.Join = []string{"10.0.0.1:7946", "gossip.svc", "[fd00::1]", "[fd00::1]:7000"} }, true},
		"no name":           {func(c *Config) { c.NodeName = "" }, false},
		"bind without port": {func(c *Config) { c.BindAddr = "0.0.0.0" }, false},
		"bad port":          {func(c *Config) { c.BindAddr = "0.0.0.0:99999" }, false},
		"bad advertise":     {func(c *Config) { c.AdvertiseAddr = "10.0.0.1" }, false},
		"bad seed":          {func(c *Config) { c.Join = []string{"host:port"} }, false},
		"empty seed":        {func(c *Config) { c.Join = []string{""} }, false},
		"timeout >= probe":  {func(c *Config) { c.ProbeTimeout = c.ProbeInterval }, false},
		"zero rejoin":       {func(c *Config) { c.RejoinInterval = 0 }, false},
		"zero suspicion":    {func(c *Config) { c.SuspicionMult = 0 }, false},
	} {
		t.Run(name, func(t *testing.T) {
			c := DefaultConfig()
			c.NodeName = "n1"
			tc.edit(&c)
			_, err := New(c, nil)
			if (err == nil) != tc.ok {
				t.Fatalf("New: %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestNew_StartsNothing(t *testing.T) {
	cfg := FastConfig()
	cfg.NodeName = "n"
	cfg.HTTPAddr = "h:1"
	n, err := New(cfg, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	if p := n.Placement(); p.Len() != 1 || p.Owner("x").Name != "n" {
		t.Errorf("Placement before Start: %+v", p.Members())
	}
	if err := n.Leave(time.Second); err != ErrNotStarted {
		t.Errorf("Leave before Start = %v", err)
	}
	if err := n.Shutdown(); err != nil {
		t.Errorf("Shutdown before Start = %v", err)
	}
	if err := n.Start(context.Background()); err == nil {
		t.Error("Start after Shutdown succeeded")
	}
}

func TestNew_DuplicateMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	cfg := FastConfig()
	cfg.NodeName = "n"
	if _, err := New(cfg, reg); err != nil {
		t.Fatal(err)
	}
	if _, err := New(cfg, reg); err == nil {
		t.Fatal("second New on the same registry succeeded")
	}
}

func TestResolveSeeds(t *testing.T) {
	cfg := FastConfig()
	cfg.NodeName = "n"
	cfg.BindAddr = "127.0.0.1:7000"
	cfg.Join = []string{"localhost", "127.0.0.1:7001", "localhost:7001", "127.0.0.1:7000"}
	n, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	n.localIPs = localIPs()
	got, err := n.resolveSeeds(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// "localhost" gets port 7946 and only its IPv4 address; duplicates and this node's own
	// address (127.0.0.1:7000) are dropped.
	want := []string{"127.0.0.1:7946", "127.0.0.1:7001"}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("resolveSeeds = %v, want %v", got, want)
	}
	n.cfg.Join = []string{"no-such-host.invalid:7946"}
	if got, err := n.resolveSeeds(context.Background()); err == nil || len(got) != 0 {
		t.Fatalf("unresolvable seed: %v, %v", got, err)
	}
}
