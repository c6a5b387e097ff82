package main

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/minibitly/minibitly/internal/harness"
)

// TestCluster_FailoverWithoutStalls: with the default lan gossip profile
// (a SIGKILLed node is declared dead only ≈ 6 s later), 30 links owned by
// the killed node and never visited are asked on a survivor one after the
// other right after the kill. Each lookup asks the owner first; the first
// one to time out marks the owner down, and the others go straight to the
// link store. At most one request may take --remote-timeout (1 s) or more:
// before the per-peer breaker every request until gossip's verdict waited
// the full timeout (6 of the 30, 6.1 s for all).
//
// Then, with n3 declared dead, n2 is killed too and nothing is asked until
// n1's gossip probe of n2 has failed (memberlist suspects it, before it is
// declared dead): n2 is marked down by the suspicion alone, and none of 30
// fresh links it owns waits the remote timeout.
//
// It asserts on counts of slow requests, not on wall time.
func TestCluster_FailoverWithoutStalls(t *testing.T) {
	const remoteTimeout = time.Second // the default --remote-timeout
	c := newTestCluster(t)
	extra := []string{"--gossip-profile", "lan", "--remote-timeout", remoteTimeout.String()}
	n1 := c.startWith("n1", extra)
	n2 := c.startWith("n2", extra, n1.gossip)
	n3 := c.startWith("n3", extra, n1.gossip)
	waitAlive(t, 3, n1, n2, n3)

	// 30 links owned by n3 and 30 owned by n2, never visited anywhere.
	owned := map[string][]string{}
	for i := 0; len(owned["n3"]) < 30 || len(owned["n2"]) < 30; i++ {
		if i > 500 {
			t.Fatalf("of %d links n2 owns %d and n3 %d", i, len(owned["n2"]), len(owned["n3"]))
		}
		var l linkJSON
		if st := harness.Do(t, "POST", n1.base+"/api/v1/links", extKey,
			map[string]any{"url": fmt.Sprintf("https://example.com/f%d", i)}, &l); st != 201 {
			t.Fatalf("create %d: %d", i, st)
		}
		var o struct {
			Owner memberJSON `json:"owner"`
		}
		harness.Do(t, "GET", n1.base+"/api/v1/cluster/owner/"+l.Code, extKey, nil, &o)
		if len(owned[o.Owner.Name]) < 30 {
			owned[o.Owner.Name] = append(owned[o.Owner.Name], l.Code)
		}
	}
	// ask GETs every code on n1 one after the other and returns how many
	// took the remote timeout or more.
	ask := func(what string, codes []string, since time.Time) int {
		var took []time.Duration
		slow := 0
		for _, code := range codes {
			start := time.Now()
			st, _, err := c.redirect(n1.base, code)
			d := time.Since(start)
			took = append(took, d)
			if err != nil || st != http.StatusFound {
				t.Fatalf("n1 /%s %s after %s: %d %v, want 302", code, time.Since(since).Round(time.Millisecond), what, st, err)
			}
			if d >= remoteTimeout {
				slow++
			}
		}
		all := time.Since(since)
		sorted := slices.Clone(took)
		slices.Sort(sorted)
		t.Logf("%s: %d of %d fresh links of the owner took >= %s on a survivor; all resolved %s after it (median %s, max %s)",
			what, slow, len(codes), remoteTimeout, all.Round(time.Millisecond),
			sorted[len(sorted)/2].Round(10*time.Microsecond), sorted[len(sorted)-1].Round(time.Millisecond))
		if slow > 0 {
			t.Logf("per-request times: %v", took)
		}
		return slow
	}
	peers := func() string {
		return fmt.Sprintf("peer_down %d, trips %d, skips %d, suspicions %d", metric(t, n1, "minibitly_actors_peer_down"),
			metric(t, n1, "minibitly_actors_peer_trips_total"), metric(t, n1, "minibitly_actors_peer_skips_total"),
			metric(t, n1, "minibitly_cluster_suspicions_total"))
	}

	n3.Kill()
	killed := time.Now()
	slow := ask("SIGKILL of n3", owned["n3"], killed)
	t.Logf("n1 after the SIGKILL of n3 (declared dead yet: %v): %s", n1.sees("n3", "dead") == nil, peers())
	if slow > 1 {
		t.Fatalf("%d requests waited the remote timeout for the dead owner, want at most 1", slow)
	}

	// n3 declared dead and forgotten; then n2 dies and is only suspected.
	harness.Eventually(t, 20*time.Second, func() error {
		if err := n1.sees("n3", "dead"); err != nil {
			return err
		}
		if d := metric(t, n1, "minibitly_actors_peer_down"); d != 0 {
			return fmt.Errorf("n1 routes around %d members after n3 was declared dead, want 0", d)
		}
		return nil
	})
	trips := metric(t, n1, "minibitly_actors_peer_trips_total")
	n2.Kill()
	killed = time.Now()
	harness.Eventually(t, 10*time.Second, func() error {
		if metric(t, n1, "minibitly_actors_peer_trips_total") == trips {
			return errors.New("n1 has not marked n2 down yet")
		}
		return nil
	})
	suspected := time.Since(killed)
	dead := n1.sees("n2", "dead") == nil
	t.Logf("n1 marked n2 down %s after its SIGKILL, with no request sent to it (declared dead yet: %v)", suspected.Round(time.Millisecond), dead)
	slow = ask("SIGKILL of n2, suspected", owned["n2"], killed)
	t.Logf("n1 after the SIGKILL of n2: %s", peers())
	if slow > 0 {
		t.Fatalf("%d requests waited the remote timeout for an owner gossip suspects, want none", slow)
	}
}
