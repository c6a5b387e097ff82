package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/minibitly/minibitly/internal/harness"
)

// testLogger logs warnings and errors to stderr (memberlist may log after a test ends, so
// not through t.Log).
var testLogger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

// newTestNode returns a started node on 127.0.0.1 with a random port, shut down at the
// end of the test.
func newTestNode(t *testing.T, cfg Config, name string, join ...string) *Node {
	t.Helper()
	n := newTestNodeUnstarted(t, cfg, name, "127.0.0.1:0", join...)
	if err := n.Start(context.Background()); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	return n
}

func newTestNodeUnstarted(t *testing.T, cfg Config, name, bind string, join ...string) *Node {
	t.Helper()
	cfg.NodeName = name
	cfg.BindAddr = bind
	cfg.Join = join
	cfg.HTTPAddr = "http-" + name + ":8080"
	cfg.RemoteAddr = "remote-" + name + ":8090"
	cfg.Logger = testLogger
	n, err := New(cfg, prometheus.NewRegistry())
	if err != nil {
		t.Fatalf("new %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := n.Shutdown(); err != nil {
			t.Errorf("shutdown %s: %v", name, err)
		}
	})
	return n
}

// gossipAddr returns the node's gossip host:port.
func gossipAddr(n *Node) string {
	a, _ := n.selfGossipAddr()
	return a
}

// statusOf returns the status n reports for name, "" if unknown.
func statusOf(n *Node, name string) string {
	for _, m := range n.Members() {
		if m.Name == name {
			return m.Status
		}
	}
	return ""
}

// hasStatus is a condition: every node in ns reports name with status.
func hasStatus(name, status string, ns ...*Node) func() error {
	return func() error {
		for _, n := range ns {
			if got := statusOf(n, name); got != status {
				return fmt.Errorf("%s sees %s %q, want %q", n.cfg.NodeName, name, got, status)
			}
		}
		return nil
	}
}

// allAlive is a condition: every node in ns sees want alive members.
func allAlive(want int, ns ...*Node) func() error {
	return func() error {
		for _, n := range ns {
			if got := aliveNames(n); len(got) != want {
				return fmt.Errorf("%s sees %v alive, want %d members", n.cfg.NodeName, got, want)
			}
		}
		return nil
	}
}

func aliveNames(n *Node) []string {
	var out []string
	for _, m := range n.Members() {
		if m.Status == StatusAlive {
			out = append(out, m.Name)
		}
	}
	return out
}

// startThree starts a, b and c; b and c join a. It waits until all see 3 alive members.
func startThree(t *testing.T, cfg Config) []*Node {
	t.Helper()
	a := newTestNode(t, cfg, "a")
	b := newTestNode(t, cfg, "b", gossipAddr(a))
	c := newTestNode(t, cfg, "c", gossipAddr(a))
	nodes := []*Node{a, b, c}
	harness.Eventually(t, 10*time.Second, func() error {
		if err := allAlive(3, nodes...)(); err != nil {
			return err
		}
		for _, n := range nodes {
			if got := n.Placement().Len(); got != 3 {
				return fmt.Errorf("%s places codes on %d members, want 3", n.cfg.NodeName, got)
			}
		}
		return nil
	})
	return nodes
}

func drain(ch <-chan struct{}) {
	select {
	case <-ch:
	default:
	}
}

func TestNode_ThreeNodes(t *testing.T) {
	nodes := startThree(t, FastConfig())
	for _, n := range nodes {
		ms := n.Members()
		if len(ms) != 3 {
			t.Fatalf("%s: Members = %+v", n.cfg.NodeName, ms)
		}
		for _, m := range ms {
			want := Member{Name: m.Name, HTTPAddr: "http-" + m.Name + ":8080", RemoteAddr: "remote-" + m.Name + ":8090", Status: StatusAlive}
			if m != want {
				t.Errorf("%s sees %+v, want %+v", n.cfg.NodeName, m, want)
			}
		}
		if self := n.Self(); self.Name != n.cfg.NodeName || self.Status != StatusAlive || self.HTTPAddr != n.cfg.HTTPAddr {
			t.Errorf("Self = %+v", self)
		}
		if got := testutil.ToFloat64(n.metrics.members); got != 3 {
			t.Errorf("%s: minibitly_cluster_members = %v, want 3", n.cfg.NodeName, got)
		}
		if got := testutil.ToFloat64(n.metrics.changes); got < 3 {
			t.Errorf("%s: minibitly_cluster_member_changes_total = %v, want >= 3", n.cfg.NodeName, got)
		}
	}
	for _, code := range randomCodes(10000) {
		want := nodes[0].Placement().Owner(code)
		for _, n := range nodes[1:] {
			if got := n.Placement().Owner(code); got != want {
				t.Fatalf("Owner(%q): %s says %s, a says %s", code, n.cfg.NodeName, got.Name, want.Name)
			}
		}
	}
}

// TestNode_Failure shuts a node down without Leave and measures how long the others take
// to declare it dead, with the fast and the default profile (figures in docs/cluster.md).
func TestNode_Failure(t *testing.T) {
	profiles := map[string]struct {
		cfg      Config
		deadline time.Duration
	}{
		"fast":    {FastConfig(), 10 * time.Second},
		"default": {DefaultConfig(), 30 * time.Second},
	}
	for name, p := range profiles {
		t.Run(name, func(t *testing.T) {
			if name == "default" && testing.Short() {
				t.Skip("default timings take ~5 s; skipped with -short")
			}
			nodes := startThree(t, p.cfg)
			a, b, c := nodes[0], nodes[1], nodes[2]
			drain(a.Changes())
			drain(b.Changes())
			if err := c.Shutdown(); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			harness.Eventually(t, p.deadline, hasStatus("c", StatusDead, a, b))
			took := time.Since(start)
			t.Logf("%s profile: killed node declared dead by both survivors after %v", name, took.Round(time.Millisecond))
			for _, n := range []*Node{a, b} {
				select {
				case <-n.Changes():
				case <-time.After(5 * time.Second):
					t.Fatalf("%s: Changes did not fire after c died", n.cfg.NodeName)
				}
				if pl := n.Placement(); pl.Len() != 2 {
					t.Errorf("%s: placement has %d members after c died, want 2", n.cfg.NodeName, pl.Len())
				}
				if got := testutil.ToFloat64(n.metrics.members); got != 2 {
					t.Errorf("%s: minibitly_cluster_members = %v, want 2", n.cfg.NodeName, got)
				}
			}
			for _, code := range randomCodes(1000) {
				if o := a.Placement().Owner(code); o.Name == "c" || o != b.Placement().Owner(code) {
					t.Fatalf("Owner(%q) = %s on a, %s on b", code, o.Name, b.Placement().Owner(code).Name)
				}
			}
		})
	}
}

func TestNode_Leave(t *testing.T) {
	nodes := startThree(t, FastConfig())
	a, b, c := nodes[0], nodes[1], nodes[2]
	drain(a.Changes())
	start := time.Now()
	if err := c.Leave(2 * time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("Leave took %v", time.Since(start).Round(time.Millisecond))
	start = time.Now()
	harness.Eventually(t, 5*time.Second, hasStatus("c", StatusLeft, a, b))
	t.Logf("leave seen by both after %v", time.Since(start).Round(time.Millisecond))
	select {
	case <-a.Changes():
	case <-time.After(5 * time.Second):
		t.Fatal("Changes did not fire after c left")
	}
	if got := c.Self().Status; got != StatusLeft {
		t.Errorf("c.Self().Status = %q after Leave, want left", got)
	}
	for _, n := range nodes {
		harness.Eventually(t, 5*time.Second, func() error {
			if pl := n.Placement(); pl.Len() != 2 || pl.Members()[0].Name != "a" || pl.Members()[1].Name != "b" {
				return fmt.Errorf("%s places codes on %v, want a and b", n.cfg.NodeName, pl.Members())
			}
			return nil
		})
	}
	if err := c.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if err := c.Shutdown(); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
	if err := c.Leave(time.Second); err != ErrNotStarted {
		t.Fatalf("Leave after Shutdown = %v, want ErrNotStarted", err)
	}
	// A node that left is not re-joined by the others' re-join loop.
	harness.Consistently(t, 3*FastConfig().RejoinInterval, func() error {
		if err := hasStatus("c", StatusLeft, a)(); err != nil {
			return err
		}
		if got := testutil.ToFloat64(a.metrics.rejoins); got != 0 {
			return fmt.Errorf("a made %v re-join rounds for a member that left", got)
		}
		return nil
	})
}

// freePort returns a loopback port that was free for TCP and UDP a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		l.Close()
		if err == nil {
			u.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

// TestNode_SeedStartsLater starts a node whose seed is not up yet: Start succeeds, and the
// re-join loop joins the seed once it runs.
func TestNode_SeedStartsLater(t *testing.T) {
	cfg := FastConfig()
	cfg.RejoinInterval = 100 * time.Millisecond
	seedAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t)))
	b := newTestNode(t, cfg, "b", seedAddr)
	if got := aliveNames(b); len(got) != 1 {
		t.Fatalf("b alone sees %v", got)
	}
	if b.Placement().Len() != 1 || b.Placement().Owner("x").Name != "b" {
		t.Fatalf("placement of a lone node: %+v", b.Placement().Members())
	}
	a := newTestNodeUnstarted(t, cfg, "a", seedAddr)
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	harness.Eventually(t, 10*time.Second, allAlive(2, a, b))
	t.Logf("joined %v after the seed started", time.Since(start).Round(time.Millisecond))
	if got := testutil.ToFloat64(b.metrics.rejoins); got < 1 {
		t.Errorf("minibitly_cluster_rejoins_total = %v, want >= 1", got)
	}
}

// TestNode_DNSSeed joins a seed named by a DNS name and port.
func TestNode_DNSSeed(t *testing.T) {
	a := newTestNode(t, FastConfig(), "a")
	_, port := a.selfGossipAddr()
	b := newTestNode(t, FastConfig(), "b", fmt.Sprintf("localhost:%d", port))
	harness.Eventually(t, 10*time.Second, allAlive(2, a, b))
	seeds, err := b.resolveSeeds(context.Background())
	if err != nil || len(seeds) != 1 || seeds[0] != gossipAddr(a) {
		t.Errorf("resolveSeeds = %v, %v; want [%s]", seeds, err, gossipAddr(a))
	}
}
