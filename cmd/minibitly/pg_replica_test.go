package main

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/minibitly/minibitly/internal/harness"
)

// Two nodes write to the primary and read from a real streaming replica
// (--postgres-read-url); a third reaches the primary through PgBouncer in
// transaction-pooling mode. A create redirects at once on every node; with
// replay paused, an edit on one node redirects to the new URL on both
// within the invalidation bound (their reloads read the primary for the
// read-your-writes window); with the replica stopped, uncached redirects
// and lists answer from the primary, never 5xx.
func TestCluster_PostgresReplicaAndPooler(t *testing.T) {
	c := newTestCluster(t)
	pg, _ := extServers(t)
	r := pg.StartReplica(t)
	r.WaitCaughtUp(t) // the test's database
	const window = 3 * time.Second
	extra := []string{"--postgres-read-url", r.URLOf(t, c.pgURL),
		"--postgres-read-your-writes-window", window.String()}
	a := c.startWith("a", extra)
	b := c.startWith("b", extra, a.gossip)
	waitAlive(t, 2, a, b)
	r.WaitCaughtUp(t) // the schema and the initial key

	create := func(n *clusterNode, code, url string) {
		t.Helper()
		if st := harness.Do(t, "POST", n.base+"/api/v1/links", extKey, map[string]any{"code": code, "url": url}, nil); st != http.StatusCreated {
			t.Fatalf("create %s on %s: %d", code, n.name, st)
		}
	}
	wantRedirect := func(n *clusterNode, code, url string) {
		t.Helper()
		if st, loc := c.location(t, n.base, code); st != http.StatusFound || loc != url {
			t.Fatalf("%s: GET /%s = %d %q, want 302 %q", n.name, code, st, loc, url)
		}
	}
	// Links nobody redirects to until the replica is down.
	var cold []string
	for i := range 6 {
		code := fmt.Sprintf("cold%d", i)
		create(a, code, "https://example.com/"+code)
		cold = append(cold, code)
	}

	// Create, redirect at once on both nodes.
	create(a, "rep", "https://example.com/old")
	wantRedirect(a, "rep", "https://example.com/old")
	wantRedirect(b, "rep", "https://example.com/old")

	// Lag: replay paused, edit on a; both nodes redirect to the new URL.
	r.WaitCaughtUp(t)
	r.PauseReplay(t)
	if st := harness.Do(t, "PATCH", a.base+"/api/v1/links/rep", extKey, map[string]any{"url": "https://example.com/new"}, nil); st != 200 {
		t.Fatalf("PATCH: %d", st)
	}
	edited := time.Now()
	// Correctness, not speed: with replay paused a stale answer would last
	// (the replica keeps the old row), so a generous deadline still fails
	// on one; how fast the invalidation travels is not asserted here.
	for _, n := range []*clusterNode{a, b} {
		harness.Eventually(t, 30*time.Second, func() error {
			if st, loc := c.location(t, n.base, "rep"); st != http.StatusFound || loc != "https://example.com/new" {
				return fmt.Errorf("%s: GET /rep = %d %q", n.name, st, loc)
			}
			return nil
		})
	}
	// The replica really lags: it still has the old URL.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	rc, err := pgx.Connect(ctx, r.URLOf(t, c.pgURL))
	if err != nil {
		t.Fatal(err)
	}
	var onReplica string
	if err := rc.QueryRow(ctx, "SELECT url FROM links WHERE code = 'rep'").Scan(&onReplica); err != nil || onReplica != "https://example.com/old" {
		t.Fatalf("replica row = %q, %v; want the old URL (replay paused)", onReplica, err)
	}
	// Lookups use the replica: the nodes hold connections to it.
	var conns int
	if err := rc.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'minibitly'").Scan(&conns); err != nil || conns == 0 {
		t.Fatalf("minibitly connections on the replica = %d, %v; want some", conns, err)
	}
	rc.Close(ctx)
	r.ResumeReplay(t)
	r.WaitCaughtUp(t)

	// Replica stopped, past the read-your-writes window of every write
	// (the edit was the last): the cold codes' first redirects and the
	// lists are served by the fallback to the primary.
	time.Sleep(time.Until(edited.Add(window + 100*time.Millisecond)))
	r.Stop(t)
	for i, code := range cold {
		n := []*clusterNode{a, b}[i%2]
		wantRedirect(n, code, "https://example.com/"+code)
	}
	for _, n := range []*clusterNode{a, b} {
		if st, body, err := get(harness.Client, "GET", n.base+"/ready", "", nil); err != nil || st != 200 {
			t.Fatalf("%s: /ready with only the replica down: %d %s %v, want 200", n.name, st, body, err)
		}
		var page struct {
			Links []struct{} `json:"links"`
		}
		if st := harness.Do(t, "GET", n.base+"/api/v1/links?limit=100", extKey, nil, &page); st != 200 || len(page.Links) != len(cold)+1 {
			t.Fatalf("%s: list with the replica down: %d, %d links; want 200, %d", n.name, st, len(page.Links), len(cold)+1)
		}
	}

	// The fallback, not a read-your-writes window, answered them; and
	// before the stop the replica served reads.
	var fallbacks, down, replicaReads uint64
	for _, n := range []*clusterNode{a, b} {
		fallbacks += metric(t, n, "minibitly_postgres_read_fallbacks_total")
		down += metric(t, n, "minibitly_postgres_replica_down")
		replicaReads += metric(t, n, `minibitly_postgres_reads_total{pool="replica"}`)
	}
	if fallbacks == 0 || down == 0 || replicaReads == 0 {
		t.Fatalf("fallbacks %d, nodes skipping the replica %d, replica reads %d: want each > 0", fallbacks, down, replicaReads)
	}

	// A node through PgBouncer (transaction pooling, exec mode in the URL).
	pb := harness.StartPgBouncer(t, pg.Port())
	p := c.startWith("p", []string{"--postgres-url", pb.URLOf(t, c.pgURL)}, a.gossip)
	waitAlive(t, 3, a, b, p)
	for i := range 5 {
		code := fmt.Sprintf("pool%d", i)
		create(p, code, "https://example.com/"+code)
		wantRedirect(p, code, "https://example.com/"+code)
		wantRedirect(a, code, "https://example.com/"+code)
	}
	wantRedirect(p, "rep", "https://example.com/new")
}
