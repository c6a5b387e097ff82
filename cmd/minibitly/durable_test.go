package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/minibitly/minibitly/internal/harness"
)

// The tests in this file pin the durability promise of the visit journal:
// every visit whose redirect was answered survives a SIGKILL of the process
// and is counted exactly once after the node restarts on the same
// --data-dir, with any flush interval, on the embedded store and on
// ClickHouse; and a visit batch another node sent to its owner is
// acknowledged only once it is in the owner's journal, so SIGKILL + restart
// of the owner loses nothing.
//
// "Answered" is strict: a redirect counts only when its 30x response was
// received in full. A request that got no (or a broken) response while the
// node died is "unknown": the node may or may not have recorded it, so a
// count may exceed the answered ones by at most the unknown ones.
//
// Stats (the API's total and SQL) read the store only; visits still in
// memory or in the journal are not added. So after a restart each test
// waits (bounded) for the replayed visits to be flushed, with the restart's
// --flush-interval of 200 ms (or 100 ms).

// durableClient opens a fresh connection per request: net/http re-sends an
// idempotent request on its own when a reused connection breaks, which
// would hide a request the dying node may have recorded.
var durableClient = &http.Client{
	Timeout:       10 * time.Second,
	Transport:     &http.Transport{DisableKeepAlives: true},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// tally counts redirects by outcome.
type tally struct {
	answered atomic.Uint64 // 30x received in full
	unknown  atomic.Uint64 // sent, no complete answer: maybe recorded
	refused  atomic.Uint64 // connection refused: never reached the node
	other    atomic.Uint64 // a complete answer that is not a 30x
}

// redirectOnce GETs base/code and records the outcome in tl; it reports
// whether the answer was a complete 30x.
func (tl *tally) redirectOnce(base, code string) bool {
	resp, err := durableClient.Get(base + "/" + code)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			tl.refused.Add(1)
		} else {
			tl.unknown.Add(1)
		}
		return false
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	switch {
	case err != nil:
		tl.unknown.Add(1)
		return false
	case resp.StatusCode < 300 || resp.StatusCode > 399:
		tl.other.Add(1)
		return false
	}
	tl.answered.Add(1)
	return true
}

// redirects makes n redirects of code from 4 goroutines and fails t unless
// every one was answered with a 30x.
func redirects(t *testing.T, base, code string, n int) uint64 {
	t.Helper()
	var tl tally
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < n; i += 4 {
				tl.redirectOnce(base, code)
			}
		}(w)
	}
	wg.Wait()
	if got := tl.answered.Load(); got != uint64(n) {
		t.Fatalf("%d of %d redirects answered 30x (unknown %d, refused %d, other %d)",
			got, n, tl.unknown.Load(), tl.refused.Load(), tl.other.Load())
	}
	return uint64(n)
}

// metricOf reads one counter from the /metrics of the node at base.
func metricOf(t *testing.T, base, name string) uint64 {
	t.Helper()
	return metric(t, &clusterNode{name: base, base: base}, name)
}

// batched is a condition: the node at base has taken at least n visits off
// its rings into its batcher (the visits left the request path, so today
// they live only in the process's memory until a flush).
func batched(t *testing.T, base string, n uint64) func() error {
	return func() error {
		if got := metricOf(t, base, "minibitly_actors_visits_batched_total"); got < n {
			return fmt.Errorf("%d visits batched, want %d", got, n)
		}
		return nil
	}
}

// exactly is a condition for Eventually and Consistently: read() is in
// [answered, answered+unknown]. Above that range a visit was counted twice
// and t fails at once; below it visits are (still) missing.
func exactly(t *testing.T, what string, answered, unknown uint64, read func() uint64) func() error {
	return func() error {
		got := read()
		if got > answered+unknown {
			t.Fatalf("%s = %d > %d answered + %d unknown: visits counted twice", what, got, answered, unknown)
		}
		if got < answered {
			return fmt.Errorf("%s = %d, want %d answered (+ up to %d unknown): %d visits lost", what, got, answered, unknown, answered-got)
		}
		return nil
	}
}

// TestDurable_SIGKILL_Embedded: embedded store, --flush-interval 30s, so no
// flush can run before the kill. 500 answered redirects, batched, then
// SIGKILL; after a restart on the same --data-dir the stats total is
// exactly 500 and stays 500 (the journal is replayed once); a second
// SIGKILL + restart after that flush counts nothing again.
func TestDurable_SIGKILL_Embedded(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the real binary")
	}
	addr := fmt.Sprintf("127.0.0.1:%d", harness.FreePort(t, "127.0.0.1"))
	base := "http://" + addr
	n := harness.StartNode(t, harness.NodeConfig{Name: "durable", HTTPAddr: addr,
		Args: []string{"--http-addr", addr, "--data-dir", t.TempDir(), "--flush-interval", "30s", "--shards", "8"},
		Env:  []string{"MINIBITLY_INITIAL_API_KEY=" + testKey}})
	var l linkJSON
	if st := harness.Do(t, "POST", base+"/api/v1/links", testKey, map[string]any{"url": "https://example.com/durable"}, &l); st != 201 {
		t.Fatalf("create: %d", st)
	}
	const total = 500
	answered := redirects(t, base, l.Code, total)
	harness.Eventually(t, 5*time.Second, batched(t, base, total))
	n.Kill()

	start := time.Now()
	n.StartWith(t, "--flush-interval", "200ms")
	stats := func() uint64 { return statsTotal(t, base, l.Code) }
	harness.Eventually(t, 10*time.Second, exactly(t, "stats total", answered, 0, stats))
	t.Logf("%d visits counted %s after the restart", answered, time.Since(start).Round(time.Millisecond))
	harness.Consistently(t, 1500*time.Millisecond, exactly(t, "stats total", answered, 0, stats))

	// Replayed visits, once flushed, are not replayed by the next crash.
	n.Kill()
	n.StartWith(t, "--flush-interval", "200ms")
	harness.Consistently(t, time.Second, exactly(t, "stats total after a second SIGKILL", answered, 0, stats))
}

// codeSum is the exact total of one code in the node's ClickHouse database,
// in the README's documented form (FINAL collapses retried flushes).
func (d chDB) codeSum(t *testing.T, code string) uint64 {
	t.Helper()
	return d.count(t, fmt.Sprintf("SELECT sum(visits) FROM %s.visits FINAL WHERE code = '%s'", d.name, code))
}

// TestDurable_SIGKILL_ClickHouse: PostgreSQL + ClickHouse.
//
// idle: --flush-interval 30s, 500 answered redirects, batched, SIGKILL,
// restart: the stats API and SQL both show exactly 500, and keep showing it.
//
// mid-stream: --flush-interval 100ms, 4 clients redirecting without pause;
// the node is SIGKILLed a few ms after a flush finished (more visits in
// memory, the next flush due) while requests are in flight. After the
// restart SQL and the stats API count every answered redirect, and at most
// the unknown ones (in flight at the kill) on top: nothing lost, nothing
// counted twice (a flush that reached ClickHouse is not replayed again).
func TestDurable_SIGKILL_ClickHouse(t *testing.T) {
	t.Run("idle", func(t *testing.T) {
		e := startExternal(t, "30s")
		code := e.create(t, "")
		const total = 500
		answered := redirects(t, e.base, code, total)
		harness.Eventually(t, 5*time.Second, batched(t, e.base, total))
		e.Kill()

		start := time.Now()
		e.StartWith(t, "--flush-interval", "200ms")
		sql := func() uint64 { return e.db.codeSum(t, code) }
		api := func() uint64 { return e.apiTotal(t, code) }
		harness.Eventually(t, 15*time.Second, exactly(t, "SQL sum(visits)", answered, 0, sql))
		t.Logf("%d visits in ClickHouse %s after the restart", answered, time.Since(start).Round(time.Millisecond))
		harness.Consistently(t, 1500*time.Millisecond, func() error {
			if err := exactly(t, "SQL sum(visits)", answered, 0, sql)(); err != nil {
				return err
			}
			return exactly(t, "stats API total", answered, 0, api)()
		})
	})

	t.Run("mid-stream", func(t *testing.T) {
		e := startExternal(t, "100ms")
		code := e.create(t, "")
		var tl tally
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					if !tl.redirectOnce(e.base, code) {
						time.Sleep(5 * time.Millisecond) // the node is gone: do not spin
					}
				}
			}()
		}
		defer func() {
			select {
			case <-stop:
			default:
				close(stop)
			}
			wg.Wait()
		}()
		// Some visits flushed already (so a replay could count them again),
		// and a flush just done: kill at once, with requests in flight.
		harness.Eventually(t, 10*time.Second, func() error {
			if got := metricOf(t, e.base, "minibitly_actors_flush_batches_total"); got < 3 {
				return fmt.Errorf("%d flushes, want 3", got)
			}
			if got := tl.answered.Load(); got < 1000 {
				return fmt.Errorf("%d redirects answered, want 1000", got)
			}
			return nil
		})
		b0 := metricOf(t, e.base, "minibitly_actors_flush_batches_total")
		harness.Eventually(t, 5*time.Second, func() error {
			if got := metricOf(t, e.base, "minibitly_actors_flush_batches_total"); got == b0 {
				return fmt.Errorf("no flush after the %d-th", b0)
			}
			return nil
		})
		e.Kill()
		flushedBefore := e.db.codeSum(t, code)
		close(stop)
		wg.Wait()
		answered, unknown := tl.answered.Load(), tl.unknown.Load()
		if tl.other.Load() > 0 {
			t.Fatalf("%d redirects answered with a status other than 30x", tl.other.Load())
		}
		t.Logf("killed mid-stream: %d answered, %d unknown (in flight), %d refused after the kill; %d in ClickHouse at the kill",
			answered, unknown, tl.refused.Load(), flushedBefore)

		start := time.Now()
		e.Start(t)
		sql := func() uint64 { return e.db.codeSum(t, code) }
		api := func() uint64 { return e.apiTotal(t, code) }
		harness.Eventually(t, 15*time.Second, exactly(t, "SQL sum(visits)", answered, unknown, sql))
		t.Logf("every answered visit in ClickHouse %s after the restart", time.Since(start).Round(time.Millisecond))
		got := settle(t, 10*time.Second, time.Second, "SQL sum(visits)", sql)
		if err := exactly(t, "SQL sum(visits)", answered, unknown, sql)(); err != nil {
			t.Fatal(err)
		}
		if a := api(); a != got {
			t.Fatalf("stats API total %d, SQL says %d", a, got)
		}
		t.Logf("counted %d = %d answered + %d of the %d unknown", got, answered, got-answered, unknown)
		e.db.checkRollups(t) // the replayed batches reached the hourly and daily tables once too
	})
}

// TestDurable_SIGKILL_ClusterOwner: three nodes on PostgreSQL + ClickHouse,
// each on its own --data-dir. A link owned by n3; 500 redirects sent to n1,
// so its visits travel n1 → n3 as visit batches. n3 flushes every 30 s, so
// once n1 has every batch acknowledged (visits_sent_remote_total, none
// rerouted) the visits are only in n3's hands. SIGKILL n3, restart it on its
// data dir: the ClickHouse total of the code reaches exactly 500 and stays
// there (nothing lost, nothing counted twice: n1 must not count an
// acknowledged batch itself).
func TestDurable_SIGKILL_ClusterOwner(t *testing.T) {
	c := newTestCluster(t)
	n1 := c.start("n1")
	n2 := c.start("n2", n1.gossip)
	n3 := c.startWith("n3", []string{"--flush-interval", "30s"}, n1.gossip)
	waitAlive(t, 3, n1, n2, n3)

	var code string
	for i := 0; code == ""; i++ {
		if i > 100 {
			t.Fatal("no code owned by n3 in 100 links")
		}
		var l linkJSON
		if st := harness.Do(t, "POST", n1.base+"/api/v1/links", extKey, map[string]any{"url": fmt.Sprintf("https://example.com/owner/%d", i)}, &l); st != 201 {
			t.Fatalf("create: %d", st)
		}
		var o struct {
			Owner memberJSON `json:"owner"`
		}
		harness.Do(t, "GET", n1.base+"/api/v1/cluster/owner/"+l.Code, extKey, nil, &o)
		if o.Owner.Name == "n3" {
			code = l.Code
		}
	}
	sent0 := metric(t, n1, "minibitly_actors_visits_sent_remote_total")
	const total = 500
	answered := redirects(t, n1.base, code, total)
	harness.Eventually(t, 10*time.Second, func() error {
		if got := metric(t, n1, "minibitly_actors_visits_sent_remote_total") - sent0; got < total {
			return fmt.Errorf("n1: %d visits acknowledged by n3, want %d", got, total)
		}
		return nil
	})
	if r := metric(t, n1, "minibitly_actors_visits_rerouted_total"); r != 0 {
		t.Fatalf("n1 counted %d visits itself: the test needs them all on n3", r)
	}
	n3.Kill()

	start := time.Now()
	n3.StartWith(t, "--flush-interval", "200ms")
	waitAlive(t, 3, n1, n2, n3)
	sql := func() uint64 { return c.db.codeSum(t, code) }
	harness.Eventually(t, 20*time.Second, exactly(t, "SQL sum(visits)", answered, 0, sql))
	t.Logf("%d visits acknowledged by the SIGKILLed owner in ClickHouse %s after its restart", answered, time.Since(start).Round(time.Millisecond))
	harness.Consistently(t, 2*time.Second, exactly(t, "SQL sum(visits)", answered, 0, sql))
	var s struct {
		Total uint64 `json:"total"`
	}
	from := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	if st := harness.Do(t, "GET", n2.base+"/api/v1/links/"+code+"/stats?interval=minute&from="+from, extKey, nil, &s); st != 200 || s.Total != answered {
		t.Fatalf("stats API on n2: %d total %d, want %d", st, s.Total, answered)
	}
}
