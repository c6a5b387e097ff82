package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minibitly/minibitly/internal/harness"
)

// clusterNode is one minibitly process of a multi-process cluster on
// 127.0.0.x.
type clusterNode struct {
	*harness.Node
	name   string
	base   string
	gossip string
}

// testCluster is one test's cluster: its databases, its nodes, and the 302s
// it received.
type testCluster struct {
	t      testing.TB
	pgURL  string
	chURL  string
	db     chDB
	nextIP int
	nodes  map[string]*clusterNode
	// redirected counts every 302 this test received: each is a visit the
	// cluster must store exactly once.
	redirected atomic.Uint64
}

// newTestCluster is a cluster on fresh databases of the shared servers.
func newTestCluster(t testing.TB) *testCluster {
	pg, ch := extServers(t)
	return newClusterOn(t, pg, ch)
}

// newClusterOn is a cluster on fresh databases of pg and ch.
func newClusterOn(t testing.TB, pg *harness.Postgres, ch *harness.ClickHouse) *testCluster {
	c := &testCluster{t: t, pgURL: pg.NewDatabase(t), chURL: ch.NewDatabase(t), nextIP: 1, nodes: map[string]*clusterNode{}}
	c.db = newCHDB(t, ch, c.chURL)
	return c
}

// start runs a node on the next 127.0.0.x address, joining seeds.
func (c *testCluster) start(name string, seeds ...string) *clusterNode {
	return c.startWith(name, nil, seeds...)
}

// startWith is start with extra flags.
func (c *testCluster) startWith(name string, extra []string, seeds ...string) *clusterNode {
	t := c.t
	t.Helper()
	ip := fmt.Sprintf("127.0.0.%d", c.nextIP)
	c.nextIP++
	hp := func() string { return fmt.Sprintf("%s:%d", ip, harness.FreePort(t, ip)) }
	httpAddr, gossip, remote := hp(), hp(), hp()
	args := []string{
		"--node-name", name, "--http-addr", httpAddr, "--data-dir", t.TempDir(),
		"--gossip-addr", gossip, "--remote-addr", remote, "--gossip-profile", "fast",
		"--postgres-url", c.pgURL, "--clickhouse-url", c.chURL,
		"--flush-interval", "200ms", "--batch-interval", "50ms", "--shards", "8",
		"--near-cache-ttl", "30s", "--api-rate", "0",
		// The test is one client address asking for many uncached codes.
		"--miss-rate-limit", "off",
	}
	if len(seeds) > 0 {
		args = append(args, "--join", strings.Join(seeds, ","))
	}
	args = append(args, extra...)
	n := &clusterNode{name: name, base: "http://" + httpAddr, gossip: gossip}
	n.Node = harness.StartNode(t, harness.NodeConfig{Name: name, HTTPAddr: httpAddr, Args: args,
		Env: []string{"MINIBITLY_INITIAL_API_KEY=" + extKey}})
	c.nodes[name] = n
	return n
}

type clusterJSON struct {
	Self    memberJSON   `json:"self"`
	Members []memberJSON `json:"members"`
	Alive   int          `json:"alive"`
}

func (n *clusterNode) view(t *testing.T) clusterJSON {
	var v clusterJSON
	if st := harness.Do(t, "GET", n.base+"/api/v1/cluster", extKey, nil, &v); st != 200 {
		t.Fatalf("%s: GET /api/v1/cluster: %d", n.name, st)
	}
	return v
}

// sees is nil when n lists member name with status.
func (n *clusterNode) sees(name, status string) error {
	st, body, err := get(harness.Client, "GET", n.base+"/api/v1/cluster", extKey, nil)
	if err != nil {
		return err
	}
	var v clusterJSON
	if err := json.Unmarshal(body, &v); err != nil || st != 200 {
		return fmt.Errorf("%s: GET /api/v1/cluster: %d %q", n.name, st, body)
	}
	for _, m := range v.Members {
		if m.Name == name {
			if m.Status != status {
				return fmt.Errorf("%s lists %s as %s, not %s", n.name, name, m.Status, status)
			}
			return nil
		}
	}
	return fmt.Errorf("%s does not list %s", n.name, name)
}

// waitAlive polls until every node in ns sees exactly want alive members.
func waitAlive(t *testing.T, want int, ns ...*clusterNode) time.Duration {
	t.Helper()
	start := time.Now()
	harness.Eventually(t, 30*time.Second, func() error {
		for _, n := range ns {
			if got := n.view(t).Alive; got != want {
				return fmt.Errorf("%s sees %d alive members, want %d", n.name, got, want)
			}
		}
		return nil
	})
	return time.Since(start)
}

// location GETs /code on base without following the redirect, and counts a
// 302 in c.redirected. It fails t on a transport error.
func (c *testCluster) location(t *testing.T, base, code string) (int, string) {
	t.Helper()
	st, loc, err := c.redirect(base, code)
	if err != nil {
		t.Fatal(err)
	}
	return st, loc
}

// redirect is location returning the transport error, for goroutines.
func (c *testCluster) redirect(base, code string) (int, string, error) {
	resp, err := harness.Client.Get(base + "/" + code)
	if err != nil {
		return 0, "", err
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusFound {
		c.redirected.Add(1)
	}
	return resp.StatusCode, resp.Header.Get("Location"), nil
}

// sum is the exact total of the cluster's visits in ClickHouse.
func (c *testCluster) sum(t *testing.T) uint64 { return c.db.sum(t) }

// hits makes n redirects of codes round-robin over nodes.
func (c *testCluster) hits(t *testing.T, n int, codes []string, nodes ...*clusterNode) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for w, node := range nodes {
		wg.Add(1)
		go func(w int, node *clusterNode) {
			defer wg.Done()
			for i := w; i < n; i += len(nodes) {
				if st, _, err := c.redirect(node.base, codes[i%len(codes)]); err != nil || st != 302 {
					errs <- fmt.Sprintf("%s /%s: %d %v", node.name, codes[i%len(codes)], st, err)
				}
			}
		}(w, node)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}

// TestCluster_MembershipVisitsEditsFailover runs real processes on
// 127.0.0.1-5 with real PostgreSQL and ClickHouse: three nodes form one
// cluster; links made on one resolve on all; visits spread over all nodes,
// then a graceful leave and a join, add up exactly in ClickHouse; edits and
// deletes are seen on other nodes within the documented bound; after a
// SIGKILL the survivors serve every link again.
func TestCluster_MembershipVisitsEditsFailover(t *testing.T) {
	c := newTestCluster(t)
	n1 := c.start("n1")
	n2 := c.start("n2", n1.gossip)
	n3 := c.start("n3", n1.gossip)
	t.Logf("3 members seen by all after %s", waitAlive(t, 3, n1, n2, n3).Round(time.Millisecond))

	// Links made on one node resolve on all.
	var codes []string
	for i := 0; i < 30; i++ {
		var l linkJSON
		if st := harness.Do(t, "POST", n1.base+"/api/v1/links", extKey,
			map[string]any{"url": fmt.Sprintf("https://example.com/%d", i)}, &l); st != 201 {
			t.Fatalf("create %d: %d", i, st)
		}
		codes = append(codes, l.Code)
	}
	for _, n := range []*clusterNode{n1, n2, n3} {
		for i, code := range codes {
			if st, loc := c.location(t, n.base, code); st != 302 || loc != fmt.Sprintf("https://example.com/%d", i) {
				t.Fatalf("%s /%s: %d %q", n.name, code, st, loc)
			}
		}
	}
	owners := map[string]bool{}
	for _, code := range codes {
		var o struct {
			Owner memberJSON `json:"owner"`
		}
		harness.Do(t, "GET", n2.base+"/api/v1/cluster/owner/"+code, extKey, nil, &o)
		owners[o.Owner.Name] = true
	}
	if len(owners) != 3 {
		t.Fatalf("30 codes owned by %d nodes, want all 3: %v", len(owners), owners)
	}

	// Visits over all nodes, a graceful leave, a join, more visits: exact.
	// Every 302 the test receives is a visit (redirected counts them).
	c.hits(t, 600, codes, n1, n2, n3)
	n2.Stop(t)
	waitAlive(t, 2, n1, n3)
	c.hits(t, 300, codes, n1, n3)
	n4 := c.start("n4", n3.gossip)
	waitAlive(t, 3, n1, n3, n4)
	c.hits(t, 600, codes, n1, n3, n4)
	want := c.redirected.Load()
	start := time.Now()
	harness.Eventually(t, 30*time.Second, func() error {
		if got := c.sum(t); got < want {
			return fmt.Errorf("sum(visits) = %d, want %d", got, want)
		}
		return nil
	})
	t.Logf("sum(visits) reached %d %s after the last redirect", want, time.Since(start).Round(time.Millisecond))
	if got := c.sum(t); got != want {
		t.Fatalf("sum(visits) = %d, want exactly %d", got, want)
	}

	// An edit on one node is seen on another within the documented bound.
	code := codes[0]
	if st := harness.Do(t, "PATCH", n1.base+"/api/v1/links/"+code, extKey, map[string]any{"url": "https://example.org/new"}, nil); st != 200 {
		t.Fatalf("patch: %d", st)
	}
	start = time.Now()
	harness.Eventually(t, 5*time.Second, func() error {
		if _, loc := c.location(t, n3.base, code); loc != "https://example.org/new" {
			return fmt.Errorf("n3 redirects /%s to %q, want the edited URL", code, loc)
		}
		return nil
	})
	t.Logf("edit visible on another node after %s", time.Since(start).Round(time.Millisecond))
	// An admin disables the link on one node: every node answers 410 within
	// the same bound; enabling it restores the redirect everywhere.
	for _, dis := range []bool{true, false} {
		if st := harness.Do(t, "PATCH", n1.base+"/api/v1/links/"+code, extKey, map[string]any{"disabled": dis}, nil); st != 200 {
			t.Fatalf("patch disabled=%v: %d", dis, st)
		}
		want := map[bool]int{true: http.StatusGone, false: http.StatusFound}[dis]
		harness.Eventually(t, 5*time.Second, func() error {
			for _, n := range []*clusterNode{n1, n3, n4} {
				if st, _ := c.location(t, n.base, code); st != want {
					return fmt.Errorf("%s answers %d for /%s with disabled=%v, want %d", n.name, st, code, dis, want)
				}
			}
			return nil
		})
	}
	if st := harness.Do(t, "DELETE", n3.base+"/api/v1/links/"+codes[1], extKey, nil, nil); st != 204 {
		t.Fatalf("delete: %d", st)
	}
	start = time.Now()
	harness.Eventually(t, 5*time.Second, func() error {
		if st, _ := c.location(t, n4.base, codes[1]); st != 404 {
			return fmt.Errorf("n4 answers %d for the deleted /%s, want 404", st, codes[1])
		}
		return nil
	})
	t.Logf("delete visible on another node after %s", time.Since(start).Round(time.Millisecond))
	live := append([]string{codes[0]}, codes[2:]...)

	// SIGKILL right after visits that n4 owns: the survivors serve every link
	// again; what n4 had counted or acknowledged is in its visit journal, so
	// once it restarts on its data dir every visit is counted exactly once.
	c.hits(t, 300, live, n1, n3)
	n4.Kill()
	start = time.Now()
	harness.Eventually(t, 30*time.Second, func() error {
		for _, n := range []*clusterNode{n1, n3} {
			if got := n.view(t).Alive; got != 2 {
				return fmt.Errorf("%s sees %d alive members, want 2", n.name, got)
			}
			for _, code := range live {
				if st, _ := c.location(t, n.base, code); st != 302 {
					return fmt.Errorf("%s /%s: %d, want 302", n.name, code, st)
				}
			}
		}
		return nil
	})
	t.Logf("after SIGKILL every link served again by the survivors in %s (fast gossip profile)", time.Since(start).Round(time.Millisecond))
	want = c.redirected.Load()
	before := settle(t, 10*time.Second, 500*time.Millisecond, "sum(visits)", func() uint64 { return c.sum(t) })
	n4.Start(t)
	start = time.Now()
	harness.Eventually(t, 30*time.Second, func() error {
		if got := c.sum(t); got != want {
			return fmt.Errorf("sum(visits) %d after n4's restart, want the %d redirects made", got, want)
		}
		return nil
	})
	t.Logf("n4's journal held %d of %d visits; all counted %s after its restart", want-before, want, time.Since(start).Round(time.Millisecond))
	if got := settle(t, 10*time.Second, 500*time.Millisecond, "sum(visits)", func() uint64 { return c.sum(t) }); got != want {
		t.Fatalf("sum(visits) = %d after the restart settled, want exactly %d", got, want)
	}
	c.db.checkRollups(t)
}

// settle polls read until it has returned the same value for quiet, and
// returns that value: a sum that flushes no longer change.
func settle(t *testing.T, timeout, quiet time.Duration, what string, read func() uint64) uint64 {
	t.Helper()
	var last uint64
	var since time.Time
	harness.Eventually(t, timeout, func() error {
		v := read()
		if since.IsZero() || v != last {
			last, since = v, time.Now()
		}
		if d := time.Since(since); d < quiet {
			return fmt.Errorf("%s = %d, changed %s ago; want it unchanged for %s", what, v, d.Round(time.Millisecond), quiet)
		}
		return nil
	})
	return last
}

// metric reads one counter from a node's /metrics.
func metric(t *testing.T, n *clusterNode, name string) uint64 {
	t.Helper()
	resp, err := harness.Client.Get(n.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %q", name, line)
			}
			return uint64(f)
		}
	}
	t.Fatalf("%s: no metric %s", n.name, name)
	return 0
}

// TestCluster_FailoverTime measures, per gossip profile, how long links
// whose owner was SIGKILLed stay unavailable on the survivors. A limited
// link (max_visits) needs its owner on every hit, so it is the strictest
// case: it answers 503 until gossip declares the owner dead and the code
// moves. (Plain links keep redirecting from the near-cache, or fail over to
// PostgreSQL after --remote-timeout.)
//
// Each profile reports one line, all times since the SIGKILL:
//
//	failover: profile=fast owner_dead=1.02s served_again=1.1s plain_redirect=1s
//
// owner_dead: n1 lists the owner as dead; served_again: the first 302 of the
// limited link on n1, asked one request at a time (a request sent while n1
// still places the code on the dead owner waits up to --remote-timeout, 1 s,
// so this is up to 1 s later than owner_dead); plain_redirect: an uncached
// plain link of the dead owner, asked on n2 right after the kill, redirected
// (failover to PostgreSQL after --remote-timeout). The test fails, printing
// no figures, when the limited link is not served again within 30 s, or is
// served again while n1 still lists its owner as alive (then nothing failed
// over).
func TestCluster_FailoverTime(t *testing.T) {
	for _, profile := range []string{"fast", "lan"} {
		t.Run("profile="+profile, func(t *testing.T) {
			c := newTestCluster(t)
			extra := []string{"--gossip-profile", profile}
			n1 := c.startWith("n1", extra)
			n2 := c.startWith("n2", extra, n1.gossip)
			n3 := c.startWith("n3", extra, n1.gossip)
			waitAlive(t, 3, n1, n2, n3)
			var limited, plain string
			for i := 0; limited == "" || plain == ""; i++ {
				body := map[string]any{"url": fmt.Sprintf("https://example.com/%d", i)}
				if limited == "" {
					body["max_visits"] = 1_000_000
				}
				var l linkJSON
				if st := harness.Do(t, "POST", n1.base+"/api/v1/links", extKey, body, &l); st != 201 {
					t.Fatalf("create: %d", st)
				}
				var o struct {
					Owner memberJSON `json:"owner"`
				}
				harness.Do(t, "GET", n1.base+"/api/v1/cluster/owner/"+l.Code, extKey, nil, &o)
				if o.Owner.Name != "n3" {
					continue
				}
				if limited == "" {
					limited = l.Code
				} else {
					plain = l.Code
				}
			}
			if st, _ := c.location(t, n1.base, limited); st != 302 {
				t.Fatalf("limited link before the kill: %d", st)
			}
			n3.Kill()
			killed := time.Now()

			// Each figure is polled on its own, so a slow answer to one
			// (a lookup waiting --remote-timeout for the dead owner) does not
			// delay another.
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			var wg sync.WaitGroup
			defer func() { cancel(); wg.Wait() }()
			var ownerDead, plainRedirect time.Duration
			var deadErr, plainErr error
			wg.Add(2)
			go func() {
				defer wg.Done()
				deadErr = harness.Until(ctx, func() error { return n1.sees("n3", "dead") })
				ownerDead = time.Since(killed)
			}()
			go func() {
				defer wg.Done()
				st, _, err := c.redirect(n2.base, plain)
				if err == nil && st != 302 {
					err = fmt.Errorf("status %d, want 302", st)
				}
				plainErr, plainRedirect = err, time.Since(killed)
			}()
			harness.Eventually(t, 30*time.Second, func() error {
				st, _, err := c.redirect(n1.base, limited)
				if err == nil && st != 302 {
					err = fmt.Errorf("limited link /%s of the SIGKILLed owner on n1: %d, want 302", limited, st)
				}
				if err != nil {
					return err
				}
				// n1 places the code on a survivor only after it has listed the
				// owner as dead, and the link cannot redirect without an owner.
				if err := n1.sees("n3", "dead"); err != nil {
					t.Fatalf("limited link served again %s after the SIGKILL, but %v: nothing failed over", time.Since(killed), err)
				}
				return nil
			})
			servedAgain := time.Since(killed)
			// Not cancelled here: n1 lists n3 as dead (checked above), so the
			// owner_dead poll ends on its next round; a cancel could cut it
			// mid-wait and fail the test for nothing.
			wg.Wait()
			if deadErr != nil {
				t.Fatalf("n1 never listed n3 as dead, yet served its limited link: %v", deadErr)
			}
			if plainErr != nil {
				t.Fatalf("plain link owned by the dead node, never cached on n2, %s after the SIGKILL: %v", plainRedirect, plainErr)
			}
			ms := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
			t.Logf("failover: profile=%s owner_dead=%s served_again=%s plain_redirect=%s",
				profile, ms(ownerDead), ms(servedAgain), ms(plainRedirect))
		})
	}
}
