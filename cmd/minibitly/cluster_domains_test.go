package main

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/minibitly/minibitly/internal/harness"
)

// TestCluster_DomainRedirects: redirects set through one node's Shlink
// API (PostgreSQL link store) are applied by the other node within
// --redirects-refresh, and at once by the node that took the PATCH.
func TestCluster_DomainRedirects(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real nodes and databases")
	}
	c := newTestCluster(t)
	extra := []string{"--redirects-refresh", "200ms"}
	n1 := c.startWith("n1", extra)
	n2 := c.startWith("n2", extra, n1.gossip)
	waitAlive(t, 2, n1, n2)
	loc := func(base, path string) (int, string, error) {
		resp, err := harness.Client.Get(base + path)
		if err != nil {
			return 0, "", err
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Location"), nil
	}
	var out struct {
		BaseURLRedirect *string `json:"baseUrlRedirect"`
	}
	if st := harness.Do(t, "PATCH", n1.base+"/rest/v3/domains/redirects", extKey,
		map[string]any{"domain": "DEFAULT", "baseUrlRedirect": "https://example.com/home", "invalidShortUrlRedirect": "https://example.com/invalid"}, &out); st != 200 ||
		out.BaseURLRedirect == nil || *out.BaseURLRedirect != "https://example.com/home" {
		t.Fatalf("PATCH on n1: %d %+v", st, out)
	}
	if st, l, err := loc(n1.base, "/"); err != nil || st != http.StatusFound || l != "https://example.com/home" {
		t.Fatalf("n1 GET / right after its PATCH: %d %q %v", st, l, err)
	}
	start := time.Now()
	harness.Eventually(t, 10*time.Second, func() error {
		for path, want := range map[string]string{"/": "https://example.com/home", "/nope": "https://example.com/invalid"} {
			st, l, err := loc(n2.base, path)
			if err != nil {
				return err
			}
			if st != http.StatusFound || l != want {
				return fmt.Errorf("n2 GET %s: %d %q, want 302 to %s", path, st, l, want)
			}
		}
		return nil
	})
	t.Logf("n2 applied n1's PATCH after %s", time.Since(start))
}
