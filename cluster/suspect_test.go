package cluster

import (
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/minibitly/minibitly/internal/harness"
)

func TestSlogWriter_SuspectLine(t *testing.T) {
	var got []string
	l := newNodeLogger(slog.New(slog.DiscardHandler), func(name string) { got = append(got, name) })
	l.Println("[INFO] memberlist: Suspect n-3.example has failed, no acks received")
	l.Println("[INFO] memberlist: Marking n3 as failed, suspect timeout reached (0 peer confirmations)")
	l.Println("[DEBUG] memberlist: Suspect x has failed, no acks received") // not memberlist's level
	l.Println("[INFO] memberlist: Suspect  has failed, no acks received")
	if len(got) != 1 || got[0] != "n-3.example" {
		t.Fatalf("suspects seen: %q, want [n-3.example]", got)
	}
}

// TestNode_Suspected cuts one node off silently with a suspicion timeout long enough that
// it is not declared dead: the others report it suspected (alive, still placed) soon after
// their probe of it fails, and no longer once the cut heals and a probe succeeds.
func TestNode_Suspected(t *testing.T) {
	cfg := FastConfig()
	var cuts []*cutTransport
	start := func(name string, join ...string) *Node {
		n := newTestNodeUnstarted(t, cfg, name, "127.0.0.1:0", join...)
		ct := newCutTransport(t)
		cuts = append(cuts, ct)
		n.configHook = func(c *memberlist.Config) {
			c.Transport = ct
			c.SuspicionMult = 100 // ≈ 20 s before a suspect is declared dead
			c.SuspicionMaxTimeoutMult = 1
		}
		if err := n.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		return n
	}
	a := start("a")
	b := start("b", gossipAddr(a))
	c := start("c", gossipAddr(a))
	harness.Eventually(t, 10*time.Second, allAlive(3, a, b, c))
	for _, n := range []*Node{a, b, c} {
		for _, m := range []string{"a", "b", "c"} {
			if n.Suspected(m) {
				t.Fatalf("%s suspects %s before any fault", n.cfg.NodeName, m)
			}
		}
	}

	cuts[2].cut.Store(true)
	cutAt := time.Now()
	harness.Eventually(t, 5*time.Second, func() error {
		for _, n := range []*Node{a, b} {
			if !n.Suspected("c") {
				return errors.New(n.cfg.NodeName + " does not suspect c yet")
			}
		}
		return nil
	})
	t.Logf("c suspected by a and b %s after the cut", time.Since(cutAt).Round(time.Millisecond))
	if err := hasStatus("c", StatusAlive, a, b)(); err != nil {
		t.Fatalf("a suspect must stay alive (and placed) until declared dead: %v", err)
	}
	if a.Suspected("b") || b.Suspected("a") {
		t.Fatal("a and b suspect each other; only c was cut")
	}
	if got := testutil.ToFloat64(a.metrics.suspicions); got < 1 {
		t.Fatalf("a: suspicions_total = %v, want >= 1", got)
	}

	cuts[2].cut.Store(false)
	healed := time.Now()
	harness.Eventually(t, 5*time.Second, func() error {
		for _, n := range []*Node{a, b} {
			if n.Suspected("c") {
				return errors.New(n.cfg.NodeName + " still suspects c")
			}
		}
		return nil
	})
	t.Logf("suspicion of c cleared %s after healing", time.Since(healed).Round(time.Millisecond))
}
