package main

import (
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
// the full timeout (≈ 6 of them, 6.7 s for the 30).
//
// It asserts on the count of slow requests, not on wall time.
func TestCluster_FailoverWithoutStalls(t *testing.T) {
	const remoteTimeout = time.Second // the default --remote-timeout
	c := newTestCluster(t)
	extra := []string{"--gossip-profile", "lan", "--remote-timeout", remoteTimeout.String()}
	n1 := c.startWith("n1", extra)
	n2 := c.startWith("n2", extra, n1.gossip)
	n3 := c.startWith("n3", extra, n1.gossip)
	waitAlive(t, 3, n1, n2, n3)

	// 30 links owned by n3, never visited anywhere.
	var codes []string
	for i := 0; len(codes) < 30; i++ {
		if i > 300 {
			t.Fatalf("n3 owns only %d of %d links", len(codes), i)
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
		if o.Owner.Name == "n3" {
			codes = append(codes, l.Code)
		}
	}

	n3.Kill()
	killed := time.Now()
	var took []time.Duration
	slow := 0
	for _, code := range codes {
		start := time.Now()
		st, _, err := c.redirect(n1.base, code)
		d := time.Since(start)
		took = append(took, d)
		if err != nil || st != http.StatusFound {
			t.Fatalf("n1 /%s %s after the SIGKILL of its owner: %d %v, want 302", code, time.Since(killed).Round(time.Millisecond), st, err)
		}
		if d >= remoteTimeout {
			slow++
		}
	}
	all := time.Since(killed)
	// Whether gossip had declared n3 dead by then (it usually has not).
	dead := n1.sees("n3", "dead") == nil
	sorted := slices.Clone(took)
	slices.Sort(sorted)
	t.Logf("failover without stalls: %d of %d fresh links of the SIGKILLed owner took >= %s on a survivor; all %d resolved in %s (median %s, max %s; n3 declared dead by then: %v)",
		slow, len(codes), remoteTimeout, len(codes), all.Round(time.Millisecond),
		sorted[len(sorted)/2].Round(10*time.Microsecond), sorted[len(sorted)-1].Round(time.Millisecond), dead)
	if slow > 1 {
		t.Fatalf("%d requests waited the remote timeout for the dead owner, want at most 1 (per-request times: %v)", slow, took)
	}
	trips := metric(t, n1, "minibitly_actors_peer_trips_total")
	skips := metric(t, n1, "minibitly_actors_peer_skips_total")
	t.Logf("n1: peer trips %d, requests routed around a down peer %d", trips, skips)
}
