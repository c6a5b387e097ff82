package main

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/minibitly/minibitly/internal/harness"
)

// chClusterShared is a replicated ClickHouse cluster (ZooKeeper, 2 shards ×
// 2 replicas of 18.16) for the cluster tests of this package.
var chClusterShared = harness.NewShared(func() (*harness.ClickHouseCluster, error) {
	return harness.LaunchClickHouseCluster(2, 2)
})

// clusterSum is sum(visits) FINAL through the Distributed visits table,
// asked of the first server that answers.
func clusterSum(t *testing.T, c *harness.ClickHouseCluster, db, code string) uint64 {
	t.Helper()
	var errs []string
	for _, srv := range c.All() {
		d := chDB{addr: srv.Addr(), name: db}
		var n uint64
		q := fmt.Sprintf("SELECT sum(visits) FROM %s.visits FINAL WHERE code = '%s'", db, code)
		if err := d.query(q, func(r interface{ Scan(...any) error }) error { return r.Scan(&n) }); err != nil {
			errs = append(errs, err.Error())
			continue
		}
		return n
	}
	t.Fatalf("no server answered: %s", strings.Join(errs, "; "))
	return 0
}

// TestClickHouseCluster_VisitsExact: a node writing to a 2×2 cluster
// (--clickhouse-url listing the four servers, --clickhouse-cluster) under a
// steady load of redirects: one replica of each shard (one of them the
// URL's first host) is stopped and started again, then the node is
// SIGKILLed and restarted (journal replay). Every answered redirect is
// counted once, in SQL through the Distributed table and in the stats API.
func TestClickHouseCluster_VisitsExact(t *testing.T) {
	pg := pgShared.Get(t)
	c := chClusterShared.Get(t)
	chURL, db := c.NewDatabase(t)
	down := []*harness.ClickHouse{c.Servers[0][0], c.Servers[1][1]}
	t.Cleanup(func() {
		for _, srv := range down {
			srv.Start(t) // no-op when running
		}
		if t.Failed() {
			t.Log(c.Logs())
		}
	})
	addr := fmt.Sprintf("127.0.0.1:%d", harness.FreePort(t, "127.0.0.1"))
	e := &extNode{base: "http://" + addr}
	e.Node = harness.StartNode(t, harness.NodeConfig{Name: "ch-cluster", HTTPAddr: addr, Args: []string{
		"--http-addr", addr, "--data-dir", t.TempDir(), "--shards", "8", "--flush-interval", "200ms",
		"--postgres-url", pg.NewDatabase(t), "--clickhouse-url", chURL,
		"--clickhouse-cluster", harness.ClusterName, "--clickhouse-query-timeout", "5s",
	}, Env: []string{"MINIBITLY_INITIAL_API_KEY=" + extKey}})
	codes := []string{e.create(t, ""), e.create(t, ""), e.create(t, ""), e.create(t, "")}

	l := startLoad(e, codes, 2*time.Millisecond)
	harness.Eventually(t, 30*time.Second, l.atLeast(0, 300))
	l.phase.Store(1)
	harness.StopAll(t, down...)
	harness.Eventually(t, 30*time.Second, l.atLeast(1, 500))
	harness.Eventually(t, 10*time.Second, e.isReady) // another host answers
	l.phase.Store(2)
	for _, srv := range down {
		srv.Start(t)
	}
	harness.Eventually(t, 30*time.Second, l.atLeast(2, 300))
	l.finish()
	if err := l.failures(); err != nil {
		t.Fatal(err)
	}
	e.Kill() // visits of the last flush interval are only in the journal
	e.StartWith(t, "--flush-interval", "200ms")

	var sent uint64
	for _, code := range codes {
		want := l.ok[code]
		sent += want
		harness.Eventually(t, 30*time.Second, func() error {
			got := clusterSum(t, c, db, code)
			if got > want {
				t.Fatalf("%s: sum(visits) = %d > %d redirects answered: counted twice", code, got, want)
			}
			if got != want {
				return fmt.Errorf("%s: sum(visits) = %d, want %d", code, got, want)
			}
			if api := e.apiTotal(t, code); api != want {
				return fmt.Errorf("%s: stats API total %d, want %d", code, api, want)
			}
			return nil
		})
	}
	t.Logf("%d redirects (%d with a replica of each shard down), each counted once", sent, l.count(1))
}

// TestClickHouseCluster_Migrate: `minibitly migrate --clickhouse-cluster`
// creates the replicated and Distributed tables on every server, and runs
// again.
func TestClickHouseCluster_Migrate(t *testing.T) {
	c := chClusterShared.Get(t)
	chURL, db := c.NewDatabase(t)
	bin := harness.Binary(t)
	for range 2 {
		out, err := exec.Command(bin, "migrate", "--clickhouse-url", chURL, "--clickhouse-cluster", harness.ClusterName).CombinedOutput()
		if err != nil {
			t.Fatalf("minibitly migrate: %v\n%s", err, out)
		}
	}
	for _, srv := range c.All() {
		d := chDB{addr: srv.Addr(), name: db}
		got := d.totals(t, fmt.Sprintf("SELECT engine, count() FROM system.tables WHERE database = '%s' GROUP BY engine", db))
		// visits, visits_hourly, visits_daily and visit_events.
		if got["Distributed"] != 4 || got["ReplicatedReplacingMergeTree"] != 4 {
			t.Fatalf("%s: tables by engine %v, want 4 Distributed over 4 ReplicatedReplacingMergeTree", srv.Addr(), got)
		}
	}
}
