package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minibitly/minibitly/internal/harness"
)

// TestCluster_RedirectRateLimitSplit: one client address hammering all
// three nodes round-robin gets about --redirect-rate-limit in total (each
// node allows a third), not three times it. It counts admitted requests
// against the documented bound limit × elapsed + max(burst, nodes), with
// generous slack, rather than timing anything.
func TestCluster_RedirectRateLimitSplit(t *testing.T) {
	c := newTestCluster(t)
	limit := []string{"--redirect-rate-limit", "30/s"}
	n1 := c.startWith("n1", limit)
	n2 := c.startWith("n2", limit, n1.gossip)
	n3 := c.startWith("n3", limit, n1.gossip)
	nodes := []*clusterNode{n1, n2, n3}
	waitAlive(t, 3, nodes...)
	// The split follows the membership within a second: wait for it.
	harness.Eventually(t, 10*time.Second, func() error {
		for _, n := range nodes {
			st, body, err := get(harness.Client, "GET", n.base+"/metrics", "", nil)
			if err != nil || st != 200 {
				return fmt.Errorf("%s /metrics: %d %v", n.name, st, err)
			}
			if !strings.Contains(string(body), "\nminibitly_gateway_rate_limit_members 3\n") {
				return fmt.Errorf("%s does not split the limits over 3 members yet", n.name)
			}
		}
		return nil
	})
	var l linkJSON
	if st := harness.Do(t, "POST", n1.base+"/api/v1/links", extKey, map[string]any{"url": "https://example.com/rl"}, &l); st != 201 {
		t.Fatalf("create: %d", st)
	}
	for _, n := range nodes { // fill each near-cache (one request of each node's burst)
		c.location(t, n.base, l.Code)
	}
	start := time.Now()
	admitted, limited := 0, 0
	for i := 0; i < 600; i++ {
		resp, err := harness.Client.Get(nodes[i%3].base + "/" + l.Code)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusFound:
			admitted++
		case http.StatusTooManyRequests:
			limited++
			if resp.Header.Get("Retry-After") == "" || resp.Header.Get("RateLimit-Limit") != "30" {
				t.Fatalf("429 without its headers: %v", resp.Header)
			}
		default:
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	elapsed := time.Since(start).Seconds()
	bound := 30*elapsed + 30 + 3
	t.Logf("admitted %d, limited %d in %.2fs; bound %.0f (n× the limit would be %.0f)", admitted, limited, elapsed, bound, 3*bound)
	if float64(admitted) > bound*1.2+5 {
		t.Fatalf("admitted %d over %.2fs: more than the limit's bound %.0f", admitted, elapsed, bound)
	}
	if admitted < 30 {
		t.Fatalf("admitted %d: less than the burst", admitted)
	}
}
