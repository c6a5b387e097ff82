package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/minibitly/minibitly/internal/harness"
	"github.com/minibitly/minibitly/storage"
	"github.com/minibitly/minibitly/storage/storagetest"
)

// One replicated cluster per test binary for the cluster tests: ZooKeeper
// and 2 shards × 2 replicas of ClickHouse 18.16, started on first use.
// Tests that stop a replica start it again before they end.
var sharedCluster = harness.NewShared(func() (*harness.ClickHouseCluster, error) {
	return harness.LaunchClickHouseCluster(2, 2)
})

// openCluster opens a store on a fresh database of the cluster (every host
// in the URL) and migrates it.
func openCluster(t *testing.T) (*Store, *harness.ClickHouseCluster, string) {
	t.Helper()
	c := sharedCluster.Get(t)
	url, db := c.NewDatabase(t)
	cfg := config(url)
	cfg.Cluster = harness.ClusterName
	cfg.DialTimeout, cfg.QueryTimeout = time.Second, 15*time.Second
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(c.Logs())
		}
	})
	return openURL(t, cfg), c, db
}

// TestCluster_Migrate: Migrate creates the replicated and Distributed
// tables on every server, runs again, and refuses a single-server table.
func TestCluster_Migrate(t *testing.T) {
	s, c, db := openCluster(t)
	ctx := t.Context()
	for _, srv := range c.All() {
		for _, name := range []string{"visits", "visits_hourly", "visits_daily", "visit_events"} {
			for table, engine := range map[string]string{name: "Distributed", name + "_local": "ReplicatedReplacingMergeTree"} {
				var got string
				if err := srv.QueryRow(ctx, "SELECT engine FROM system.tables WHERE database = "+quote(db)+" AND name = "+quote(table), &got); err != nil || got != engine {
					t.Fatalf("%s: %s.%s has engine %q (%v), want %s", srv.Addr(), db, table, got, err, engine)
				}
			}
		}
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate again: %v", err)
	}
	// A database with a single-server visits table on the first server.
	srv := c.Servers[0][0]
	other := db + "_single"
	t.Cleanup(func() { _ = srv.Exec(context.Background(), "DROP DATABASE IF EXISTS "+other) })
	single := openURL(t, config("clickhouse://"+srv.Addr()+"/"+other))
	single.Close()
	cfg := config("clickhouse://" + srv.Addr() + "/" + other)
	cfg.Cluster = harness.ClusterName
	cs, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	if err := cs.Migrate(ctx); err == nil || !strings.Contains(err.Error(), "RENAME TABLE") {
		t.Fatalf("Migrate of a cluster over a single-server table: %v, want an error that says what to do", err)
	}
}

// TestCluster_Events: the raw visit events on a cluster: a retried batch
// read once, deletes, and the TTL's partition drops on every shard.
func TestCluster_Events(t *testing.T) {
	t.Run("write-read", func(t *testing.T) { s, _, _ := openCluster(t); testEvents(t, s) })
	t.Run("delete", func(t *testing.T) { s, _, _ := openCluster(t); testEventsDelete(t, s) })
	t.Run("expire", func(t *testing.T) { s, _, _ := openCluster(t); testEventsExpire(t, s) })
}

func TestCluster_VisitsConformance(t *testing.T) {
	storagetest.RunVisits(t, func(t *testing.T) (storage.VisitSink, storage.StatsReader) {
		s, _, _ := openCluster(t)
		return s, s
	})
}

// clusterBatches are batches of several nodes over many codes and buckets
// with running totals, retries (the same batch again), a late retry of an
// older flush and rows counted on their own.
func clusterBatches(seed uint64) []storage.VisitBatch {
	rng := rand.New(rand.NewPCG(seed, 1))
	refs := []string{"", "a.com", "b.org", "c.net"}
	totals := map[string]uint64{}
	var out []storage.VisitBatch
	for seq := uint64(1); seq <= 12; seq++ {
		for _, node := range []string{"n1", "n2"} {
			b := storage.VisitBatch{NodeID: node, Seq: seq}
			for range 1 + rng.IntN(6) {
				r := row(fmt.Sprintf("c%d", rng.IntN(12)), t0+int64(rng.IntN(200))*60, refs[rng.IntN(len(refs))], uint64(1+rng.IntN(9)))
				r.Bot = rng.IntN(5) == 0
				if rng.IntN(6) > 0 { // a tracked bucket: carries its running total
					k := node + "|" + fmt.Sprint(r.VisitKey)
					totals[k] += r.Visits
					r.Cumulative = totals[k]
				}
				b.Rows = append(b.Rows, r)
			}
			out = append(out, b)
			if rng.IntN(4) == 0 {
				out = append(out, b) // a retry
			}
		}
	}
	return append(out, out[len(out)/3]) // a late retry of an older flush
}

// TestCluster_SameAsSingleServer: the same batches written to one server
// and to the cluster read the same Stats, VisitTotal and VisitRows.
func TestCluster_SameAsSingleServer(t *testing.T) {
	cs, _, _ := openCluster(t)
	ss := openFresh(t)
	ctx := t.Context()
	for _, b := range clusterBatches(7) {
		for _, s := range []*Store{ss, cs} {
			if err := s.WriteVisits(ctx, b); err != nil {
				t.Fatal(err)
			}
		}
	}
	compareStores(t, ss, cs)
}

// compareStores fails t unless every read of the codes clusterBatches
// writes answers the same on a and b.
func compareStores(t *testing.T, a, b *Store) {
	t.Helper()
	ctx := t.Context()
	for i := range 12 {
		code := fmt.Sprintf("c%d", i)
		ta, err := a.VisitTotal(ctx, code)
		if err != nil {
			t.Fatal(err)
		}
		tb, err := b.VisitTotal(ctx, code)
		if err != nil {
			t.Fatal(err)
		}
		if ta != tb {
			t.Fatalf("VisitTotal(%s): single server %d, cluster %d", code, ta, tb)
		}
		for _, q := range []storage.StatsQuery{
			{Code: code, From: time.Unix(t0, 0), To: time.Unix(t0+200*60, 0), Interval: storage.Minute, TopN: 3},
			{Code: code, From: time.Unix(t0-86400, 0), To: time.Unix(t0+2*86400, 0), Interval: storage.Hour, TopN: 10},
			{Code: code, From: time.Unix(t0-5*86400, 0), To: time.Unix(t0+5*86400, 0), Interval: storage.Day, TopN: 10},
		} {
			sa, err := a.Stats(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			sb, err := b.Stats(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(sa, sb) {
				t.Fatalf("Stats(%+v):\nsingle server %+v\ncluster       %+v", q, sa, sb)
			}
		}
		rq := storage.VisitRowsQuery{Code: code, From: time.Unix(t0-3600, 0), To: time.Unix(t0+86400, 0), Limit: 1000}
		ra, err := a.VisitRows(ctx, rq)
		if err != nil {
			t.Fatal(err)
		}
		rb, err := b.VisitRows(ctx, rq)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(ra, rb) {
			t.Fatalf("VisitRows(%s): single server %d rows, cluster %d", code, len(ra), len(rb))
		}
	}
}

// TestCluster_RetriedInsert: a batch written three times counts once, on
// every replica (the replicated tables also drop the identical blocks).
func TestCluster_RetriedInsert(t *testing.T) {
	s, c, db := openCluster(t)
	ctx := t.Context()
	b := storage.VisitBatch{NodeID: "n1", Seq: 7, Rows: []storage.VisitCount{
		row("dup", t0, "a.com", 3), row("dup", t0+60, "", 4), row("other", t0, "a.com", 2),
	}}
	for range 3 {
		if err := s.WriteVisits(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.VisitTotal(ctx, "dup"); err != nil || n != 7 {
		t.Fatalf("VisitTotal = %d, %v; want 7", n, err)
	}
	checkUserSQL(t, s, "dup", 7)
	syncReplicas(t, c, db)
	var rows uint64
	for _, srv := range c.All() {
		var n uint64
		if err := srv.QueryRow(ctx, "SELECT count() FROM `"+db+"`.visits_local", &n); err != nil {
			t.Fatal(err)
		}
		rows += n
	}
	// Three rows, each on both replicas of its shard: the two retries were
	// dropped as identical blocks before any merge.
	if rows != 3*2 {
		t.Errorf("visits_local rows over all servers = %d, want 6 (3 rows × 2 replicas)", rows)
	}
}

// TestCluster_ReplicaDown: with one replica of each shard stopped (one of
// them the URL's first host) writes and reads go on and stay exact; the
// replicas catch up when they return.
func TestCluster_ReplicaDown(t *testing.T) {
	s, c, db := openCluster(t)
	ss := openFresh(t)
	ctx := t.Context()
	batches := clusterBatches(11)
	write := func(bs []storage.VisitBatch) {
		t.Helper()
		for _, b := range bs {
			for _, st := range []*Store{ss, s} {
				if err := st.WriteVisits(ctx, b); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	start := time.Now()
	lap := func(what string) { t.Logf("%s: %s", what, time.Since(start).Round(time.Millisecond)) }
	write(batches[:len(batches)/2])
	syncReplicas(t, c, db)
	lap("written and synced")
	down := []*harness.ClickHouse{c.Servers[0][0], c.Servers[1][1]}
	harness.StopAll(t, down...)
	lap("stopped")
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			for _, srv := range down {
				srv.Start(t)
			}
		}
	})
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping with one replica of each shard down: %v", err)
	}
	write(batches[len(batches)/2:])
	compareStores(t, ss, s)
	lap("written and read with the replicas down")
	for _, srv := range down {
		srv.Start(t)
	}
	restarted = true
	lap("restarted")
	syncReplicas(t, c, db)
	lap("synced")
	// Every replica holds its shard's visits.
	for sh, replicas := range c.Servers {
		var sums []uint64
		for _, srv := range replicas {
			var n uint64
			if err := srv.QueryRow(ctx, "SELECT sum(visits) FROM `"+db+"`.visits_daily_local FINAL WHERE dim = ''", &n); err != nil {
				t.Fatal(err)
			}
			sums = append(sums, n)
		}
		if sums[0] != sums[1] || sums[0] == 0 {
			t.Errorf("shard %d: the replicas' daily totals %v differ (or are empty)", sh+1, sums)
		}
	}
	compareStores(t, ss, s)
}

// syncReplicas waits until every replica has fetched what its shard holds.
func syncReplicas(t *testing.T, c *harness.ClickHouseCluster, db string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	for _, srv := range c.All() {
		for _, table := range []string{"visits_local", "visits_hourly_local", "visits_daily_local"} {
			if err := srv.Exec(ctx, "SYSTEM SYNC REPLICA `"+db+"`."+table); err != nil {
				t.Fatalf("%s: SYSTEM SYNC REPLICA %s: %v", srv.Addr(), table, err)
			}
		}
	}
}

// TestCluster_ShardDown: with both replicas of a shard stopped a write
// fails with ErrUnavailable (after writing the other shard's rows) and so
// does a read; the same batch retried once the shard is back counts once.
func TestCluster_ShardDown(t *testing.T) {
	s, c, db := openCluster(t)
	ss := openFresh(t)
	ctx := t.Context()
	batches := clusterBatches(13)
	for _, b := range batches {
		for _, st := range []*Store{ss, s} {
			if err := st.WriteVisits(ctx, b); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Every code, so both shards have rows in it.
	last := storage.VisitBatch{NodeID: "n3", Seq: 1}
	for i := range 12 {
		last.Rows = append(last.Rows, row(fmt.Sprintf("c%d", i), t0+3600, "z.io", 1))
	}
	if err := ss.WriteVisits(ctx, last); err != nil {
		t.Fatal(err)
	}
	harness.StopAll(t, c.Servers[1]...)
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			for _, srv := range c.Servers[1] {
				srv.Start(t)
			}
		}
	})
	if err := s.WriteVisits(ctx, last); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("WriteVisits with a shard down: %v, want ErrUnavailable", err)
	}
	q := storage.StatsQuery{Code: "c1", From: time.Unix(t0-86400, 0), To: time.Unix(t0+86400, 0), Interval: storage.Hour}
	if _, err := s.Stats(ctx, q); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("Stats with a shard down: %v, want ErrUnavailable", err)
	}
	for _, srv := range c.Servers[1] {
		srv.Start(t)
	}
	restarted = true
	harness.Eventually(t, 30*time.Second, func() error { return s.WriteVisits(ctx, last) })
	// The returned replicas may read without what the other one took
	// until they have fetched it (docs/clickhouse-cluster.md).
	syncReplicas(t, c, db)
	compareStores(t, ss, s)
}
