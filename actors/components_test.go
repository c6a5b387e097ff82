package actors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/minibitly/minibitly/cluster"
	"github.com/minibitly/minibitly/internal/harness"
	"github.com/minibitly/minibitly/internal/useragent"
	"github.com/minibitly/minibitly/internal/visitlog"
	"github.com/minibitly/minibitly/proto/clusterpb"
	"github.com/minibitly/minibitly/storage"
	"github.com/minibitly/minibitly/storage/embedded"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// The components of the System, each tested alone: no actor system, only
// their narrow dependencies (funcs, a real embedded sink, their metrics).

func testMetrics(t testing.TB) *metrics {
	t.Helper()
	m, err := newMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func sumRows(rows []storage.VisitCount) (total uint64) {
	for _, r := range rows {
		total += r.Visits
	}
	return total
}

func TestRoutines_RefuseOnceClosingAndWait(t *testing.T) {
	var r routines
	release := make(chan struct{})
	var ran atomic.Int32
	if !r.start(func() { <-release; ran.Add(1) }) {
		t.Fatal("start refused before close")
	}
	r.close()
	if r.start(func() { ran.Add(1) }) {
		t.Fatal("start accepted after close")
	}
	var waited atomic.Bool
	done := make(chan struct{})
	go func() { r.wait(); waited.Store(true); close(done) }()
	harness.Consistently(t, 20*time.Millisecond, func() error {
		if waited.Load() {
			return errors.New("wait returned while a goroutine runs")
		}
		return nil
	})
	close(release)
	<-done
	if ran.Load() != 1 {
		t.Fatalf("ran %d goroutines, want 1", ran.Load())
	}
}

// batcherRig is a batcher over a real visit log, with the shards and the
// owners replaced by recorders.
type batcherRig struct {
	b       *batcher
	log     *visitlog.Log
	mu      sync.Mutex
	local   map[int][]storage.VisitCount
	remote  map[string][]storage.VisitCount
	metrics *metrics
}

func newBatcherRig(t *testing.T, members []cluster.Member, self string) *batcherRig {
	rig := &batcherRig{log: visitlog.New(1, 1024), local: map[int][]storage.VisitCount{}, remote: map[string][]storage.VisitCount{}, metrics: testMetrics(t)}
	d := batcherDeps{
		ring:    rig.log,
		shards:  4,
		shardOf: func(code string) int { return int(code[0]) % 4 },
		toShard: func(shard int, rows []storage.VisitCount) {
			rig.mu.Lock()
			rig.local[shard] = append(rig.local[shard], rows...)
			rig.mu.Unlock()
		},
		toOwner: func(p *remotePart) {
			if sumRows(p.rows) != p.visits {
				t.Errorf("batch to %s says %d visits, rows hold %d", p.owner.Name, p.visits, sumRows(p.rows))
			}
			rig.mu.Lock()
			rig.remote[p.owner.Name] = append(rig.remote[p.owner.Name], p.rows...)
			rig.mu.Unlock()
		},
		m: rig.metrics.batch,
	}
	if members != nil {
		p := cluster.NewPlacement(members)
		d.placement = func() (*cluster.Placement, string) { return p, self }
	}
	rig.b = newBatcher(d, time.Hour)
	return rig
}

func (rig *batcherRig) record(t *testing.T, code string, n int, ref string) {
	t.Helper()
	dims := useragent.Classify([]byte("curl/8.0")).Pack([2]byte{'D', 'E'})
	for i := 0; i < n; i++ {
		if !rig.log.Record(0, code, 600, dims, []byte(ref)) {
			t.Fatal("visit log full")
		}
	}
}

func TestBatcher_AggregatesPerShard(t *testing.T) {
	rig := newBatcherRig(t, nil, "")
	rig.record(t, "a", 5, "News.Example")
	rig.record(t, "a", 2, "news.example") // same referrer, lower-cased
	rig.record(t, "b", 3, "")
	rig.b.drainLog()
	rig.b.ship()
	a := rig.local[int('a')%4]
	if len(a) != 1 || a[0].Visits != 7 || a[0].Referrer != "news.example" || a[0].Country != "DE" || !a[0].Bot || a[0].Minute != 600 {
		t.Fatalf("shard of a got %+v, want one row of 7 visits", a)
	}
	if b := rig.local[int('b')%4]; len(b) != 1 || b[0].Visits != 3 {
		t.Fatalf("shard of b got %+v", b)
	}
	if v := testutil.ToFloat64(rig.metrics.batch.visitsBatched); v != 10 {
		t.Fatalf("visits_batched = %v, want 10", v)
	}
	rig.b.ship() // nothing new: nothing sent
	if len(rig.local[int('a')%4]) != 1 {
		t.Fatal("ship re-sent rows already shipped")
	}
}

func TestBatcher_SplitsByOwner(t *testing.T) {
	members := []cluster.Member{{Name: "n1"}, {Name: "n2"}, {Name: "n3"}}
	rig := newBatcherRig(t, members, "n1")
	p := cluster.NewPlacement(members)
	want := map[string]uint64{}
	for i := 0; i < 60; i++ {
		code := fmt.Sprintf("c%02d", i)
		rig.record(t, code, 1+i%3, "")
		want[p.Owner(code).Name] += uint64(1 + i%3)
	}
	rig.b.drainLog()
	rig.b.ship()
	var local uint64
	for _, rows := range rig.local {
		for _, r := range rows {
			if o := p.Owner(r.Code).Name; o != "n1" {
				t.Fatalf("code %s of %s counted locally", r.Code, o)
			}
			local += r.Visits
		}
	}
	if local != want["n1"] || sumRows(rig.remote["n2"]) != want["n2"] || sumRows(rig.remote["n3"]) != want["n3"] {
		t.Fatalf("local %d n2 %d n3 %d, want %v", local, sumRows(rig.remote["n2"]), sumRows(rig.remote["n3"]), want)
	}
	if len(rig.remote["n1"]) != 0 {
		t.Fatal("a batch was sent to this node itself")
	}
}

func TestBatcher_RunShipsOnFlushAndStop(t *testing.T) {
	rig := newBatcherRig(t, nil, "")
	rig.b.start()
	rig.record(t, "a", 4, "")
	rig.b.flush()
	rig.mu.Lock()
	got := sumRows(rig.local[int('a')%4])
	rig.mu.Unlock()
	if got != 4 {
		t.Fatalf("after flush the shard has %d visits, want 4", got)
	}
	rig.record(t, "a", 3, "")
	rig.b.stop()
	rig.b.stop() // idempotent
	if got := sumRows(rig.local[int('a')%4]); got != 7 {
		t.Fatalf("after stop the shard has %d visits, want 7", got)
	}
	rig.b.flush() // after stop: returns at once
}

// senderRig is a visit sender whose remote owner is a function.
type senderRig struct {
	s       *visitSender
	metrics *metrics
	mu      sync.Mutex
	local   []storage.VisitCount
	asks    atomic.Int32
	alive   atomic.Bool
}

func newSenderRig(t *testing.T, owner func(attempt int32, m *clusterpb.VisitBatch) (any, error)) *senderRig {
	rig := &senderRig{metrics: testMetrics(t)}
	rig.alive.Store(true)
	var lastSeq uint64
	rig.s = newVisitSender(senderDeps{
		ask: func(_ cluster.Member, msg any, _ time.Duration) (any, error) {
			b := msg.(*clusterpb.VisitBatch)
			n := rig.asks.Add(1)
			if n > 1 && b.Seq != lastSeq {
				t.Errorf("re-send under a new seq %d (first %d)", b.Seq, lastSeq)
			}
			lastSeq = b.Seq
			return owner(n, b)
		},
		alive: func(string) bool { return rig.alive.Load() },
		reroute: func(p *remotePart) {
			rig.mu.Lock()
			rig.local = append(rig.local, p.rows...)
			rig.mu.Unlock()
		},
		ackTimeout: time.Second,
		retryPause: 10 * time.Millisecond,
		now:        time.Now,
		m:          rig.metrics.send,
	})
	return rig
}

var someRows = []storage.VisitCount{{VisitKey: storage.VisitKey{Code: "a", Minute: 60}, Visits: 4}, {VisitKey: storage.VisitKey{Code: "b"}, Visits: 1}}

func somePart() *remotePart {
	return &remotePart{owner: cluster.Member{Name: "n2"}, from: "me#1", seq: 7, rows: someRows, visits: 5}
}

func (rig *senderRig) localVisits() uint64 {
	rig.mu.Lock()
	defer rig.mu.Unlock()
	return sumRows(rig.local)
}

func (rig *senderRig) acked() uint64 {
	return uint64(testutil.ToFloat64(rig.metrics.send.visitsSentRemote))
}

func TestVisitSender_AckedAfterResend(t *testing.T) {
	rig := newSenderRig(t, func(attempt int32, m *clusterpb.VisitBatch) (any, error) {
		if m.From != "me#1" || len(m.Rows) != 2 || m.DeadlineUnixMs <= time.Now().UnixMilli() {
			return nil, fmt.Errorf("bad batch %+v", m)
		}
		if attempt == 1 {
			return nil, errors.New("timeout") // the ack was lost
		}
		return &clusterpb.VisitAck{Seq: m.Seq, Applied: true}, nil
	})
	rig.s.send(somePart())
	rig.s.stop()
	if rig.acked() != 5 || len(rig.local) != 0 || rig.asks.Load() != 2 {
		t.Fatalf("acked %v, local %v, asks %d", rig.acked(), rig.local, rig.asks.Load())
	}
	if testutil.ToFloat64(rig.metrics.send.resends) != 1 || rig.s.unacknowledged("n2") != 0 {
		t.Fatal("resend / sent metrics wrong")
	}
}

func TestVisitSender_RefusedOrDeadOwnerCountsHere(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		rig := newSenderRig(t, func(_ int32, m *clusterpb.VisitBatch) (any, error) {
			return &clusterpb.VisitAck{Seq: m.Seq, Applied: false}, nil
		})
		rig.s.send(somePart())
		rig.s.stop()
		if sumRows(rig.local) != 5 || rig.asks.Load() != 1 {
			t.Fatalf("local %d asks %d: a refused batch is counted here at once", sumRows(rig.local), rig.asks.Load())
		}
	})
	t.Run("dead owner", func(t *testing.T) {
		var rig *senderRig
		rig = newSenderRig(t, func(int32, *clusterpb.VisitBatch) (any, error) {
			rig.alive.Store(false)
			return nil, errors.New("timeout")
		})
		rig.s.send(somePart())
		rig.s.stop()
		// No re-send while it is dead, only the last offer at stop.
		if sumRows(rig.local) != 5 || rig.asks.Load() != 2 {
			t.Fatalf("local %d asks %d: re-sent to a dead owner", sumRows(rig.local), rig.asks.Load())
		}
	})
	t.Run("never acked", func(t *testing.T) {
		rig := newSenderRig(t, func(int32, *clusterpb.VisitBatch) (any, error) { return nil, errors.New("timeout") })
		rig.s.send(somePart())
		rig.s.stop()
		if sumRows(rig.local) != 5 || rig.asks.Load() != maxSendAttempts+1 {
			t.Fatalf("local %d asks %d", sumRows(rig.local), rig.asks.Load())
		}
		if testutil.ToFloat64(rig.metrics.send.visitsRerouted) != 5 {
			t.Fatal("rerouted metric")
		}
	})
	t.Run("silent owner back within the window", func(t *testing.T) {
		// The owner journaled the part and died before its ack; restarted,
		// it acknowledges the re-sent part: counted there, not here too.
		var rig *senderRig
		rig = newSenderRig(t, func(n int32, m *clusterpb.VisitBatch) (any, error) {
			if n < 6 {
				rig.alive.Store(false)
				return nil, errors.New("timeout")
			}
			return &clusterpb.VisitAck{Seq: m.Seq, Applied: true}, nil
		})
		rig.s.send(somePart())
		harness.Eventually(t, 5*time.Second, func() error {
			if rig.acked() != 5 {
				return fmt.Errorf("acked %d", rig.acked())
			}
			return nil
		})
		rig.s.stop()
		if sumRows(rig.local) != 0 {
			t.Fatalf("counted here too: %d", sumRows(rig.local))
		}
	})
	t.Run("silent beyond the window", func(t *testing.T) {
		rig := newSenderRig(t, func(int32, *clusterpb.VisitBatch) (any, error) { return nil, errors.New("timeout") })
		rig.s.d.window = 50 * time.Millisecond
		rig.s.send(somePart())
		harness.Eventually(t, 5*time.Second, func() error {
			if rig.localVisits() != 5 {
				return fmt.Errorf("local %d", rig.localVisits())
			}
			return nil
		})
		rig.s.stop()
	})
	t.Run("stop with a slow owner that answers the last offer", func(t *testing.T) {
		var rig *senderRig
		rig = newSenderRig(t, func(n int32, m *clusterpb.VisitBatch) (any, error) {
			if n <= maxSendAttempts {
				return nil, errors.New("timeout")
			}
			return &clusterpb.VisitAck{Seq: m.Seq, Applied: true}, nil
		})
		rig.s.send(somePart())
		harness.Eventually(t, 5*time.Second, func() error {
			if rig.asks.Load() < maxSendAttempts {
				return fmt.Errorf("asks %d", rig.asks.Load())
			}
			return nil
		})
		rig.s.stop()
		if rig.acked() != 5 || sumRows(rig.local) != 0 {
			t.Fatalf("acked %d local %d", rig.acked(), sumRows(rig.local))
		}
	})
	t.Run("after stop", func(t *testing.T) {
		rig := newSenderRig(t, func(int32, *clusterpb.VisitBatch) (any, error) { return nil, errors.New("unreachable") })
		rig.s.stop()
		rig.s.send(somePart())
		if sumRows(rig.local) != 5 || rig.asks.Load() != 0 {
			t.Fatal("a batch handed over after stop must be counted here, not sent")
		}
	})
}

// flusherRig is a flusher over a real embedded sink behind a switch, with
// the shards replaced by a queue of rows.
type flusherRig struct {
	f       *flusher
	store   *embedded.Store
	sink    *faultySink
	metrics *metrics
	mu      sync.Mutex
	pending []storage.VisitCount
}

func newFlusherRig(t *testing.T, cfg FlushConfig) *flusherRig {
	st := openEmbedded(t)
	rig := &flusherRig{store: st, sink: &faultySink{VisitSink: st}, metrics: testMetrics(t)}
	rig.f = newFlusher(flusherDeps{
		nodeID: "me#1",
		collect: func(context.Context) ([]storage.VisitCount, uint64) {
			rig.mu.Lock()
			defer rig.mu.Unlock()
			rows := rig.pending
			rig.pending = nil
			return rows, 0
		},
		sink: rig.sink, m: rig.metrics.flush, log: slog.New(slog.DiscardHandler), now: time.Now,
	}, cfg, time.Hour)
	return rig
}

func (rig *flusherRig) add(code string, visits uint64) {
	rig.mu.Lock()
	rig.pending = append(rig.pending, storage.VisitCount{VisitKey: storage.VisitKey{Code: code, Minute: 1_700_000_040}, Visits: visits})
	rig.mu.Unlock()
}

func (rig *flusherRig) stored(t *testing.T, code string) uint64 {
	t.Helper()
	return storedVisits(t, rig.store, code)
}

func TestFlusher_RetriesTheSameBatchOnce(t *testing.T) {
	rig := newFlusherRig(t, DefaultFlushConfig())
	ctx := context.Background()
	rig.sink.down.Store(true)
	rig.add("a", 3)
	if rig.f.flushNow(ctx) == nil {
		t.Fatal("flush with the sink down succeeded")
	}
	rig.add("a", 2) // batch 1 was attempted: a new batch
	rig.f.collect(ctx)
	if len(rig.f.queue) != 2 || rig.f.buffered("a") != 5 {
		t.Fatalf("queue %d batches, buffered %d", len(rig.f.queue), rig.f.buffered("a"))
	}
	rig.add("a", 1) // merged into the unattempted batch 2
	rig.f.collect(ctx)
	if len(rig.f.queue) != 2 || len(rig.f.queue[1].b.Rows) != 1 || rig.f.queue[1].b.Rows[0].Visits != 3 {
		t.Fatalf("unattempted batch not merged: %+v", rig.f.queue[1].b)
	}
	rig.sink.down.Store(false)
	rig.sink.lostAck.Store(true) // batch 1 lands but looks failed
	if rig.f.flushNow(ctx) == nil {
		t.Fatal("lost ack not reported")
	}
	if err := rig.f.flushNow(ctx); err != nil {
		t.Fatal(err)
	}
	if got := rig.stored(t, "a"); got != 6 {
		t.Fatalf("stored %d, want exactly 6 (a retried batch applied once)", got)
	}
	if rig.f.buffered("a") != 0 || testutil.ToFloat64(rig.metrics.flush.visitsFlushed) != 6 {
		t.Fatal("buffer or flushed metric not settled")
	}
}

// totalsSink is a real sink that says it stores running totals, as the
// ClickHouse store does.
type totalsSink struct{ storage.VisitSink }

func (totalsSink) StoresRunningTotals() bool { return true }

// The embedded store keeps no rollups: the flusher spends nothing on
// running totals for it, and keeps them for a sink that stores them.
func TestFlusher_RunningTotalsOnlyForASinkThatStoresThem(t *testing.T) {
	ctx := context.Background()
	rig := newFlusherRig(t, DefaultFlushConfig())
	rig.sink.down.Store(true)
	rig.add("a", 3)
	rig.f.collect(ctx)
	if b := rig.f.queue[0].b; rig.f.cum != nil || b.Rows[0].Cumulative != 0 || b.Hourly != nil || b.Daily != nil {
		t.Fatalf("embedded sink: totals kept (%v), batch %+v", rig.f.cum != nil, b)
	}
	rig.f.cum = cumulativeFor(totalsSink{rig.sink})
	if rig.f.cum == nil {
		t.Fatal("no running totals for a sink that stores them")
	}
	rig.add("b", 2)
	rig.f.collect(ctx)
	b := rig.f.queue[len(rig.f.queue)-1].b
	if r := b.Rows[len(b.Rows)-1]; r.Code != "b" || r.Cumulative != 2 || len(b.Hourly) == 0 || len(b.Daily) == 0 {
		t.Fatalf("totals sink: batch %+v", b)
	}
}

func TestFlusher_BreakerOpensAndProbes(t *testing.T) {
	cfg := DefaultFlushConfig()
	cfg.BreakerThreshold, cfg.BreakerCooldown, cfg.BreakerMaxCooldown = 2, time.Hour, time.Hour
	rig := newFlusherRig(t, cfg)
	ctx := context.Background()
	rig.sink.down.Store(true)
	rig.add("a", 1)
	rig.f.collect(ctx)
	for i := 0; i < 2; i++ {
		if err := rig.f.deliver(ctx, false); err == nil || errors.Is(err, errBreakerOpen) {
			t.Fatalf("write %d: %v, want the sink's error", i, err)
		}
	}
	writes := rig.sink.writes.Load()
	if err := rig.f.deliver(ctx, false); !errors.Is(err, errBreakerOpen) || rig.sink.writes.Load() != writes {
		t.Fatalf("breaker open: %v, writes %d → %d", err, writes, rig.sink.writes.Load())
	}
	if testutil.ToFloat64(rig.metrics.flush.breakerOpen) != 1 {
		t.Fatal("breaker gauge not set")
	}
	rig.sink.down.Store(false)
	if err := rig.f.deliver(ctx, true); err != nil { // forced (shutdown) ignores the breaker
		t.Fatal(err)
	}
	if rig.stored(t, "a") != 1 || testutil.ToFloat64(rig.metrics.flush.breakerOpen) != 0 {
		t.Fatal("forced delivery did not write or close the breaker")
	}
}

func TestFlusher_StopDrainsOrCountsLoss(t *testing.T) {
	t.Run("drains", func(t *testing.T) {
		rig := newFlusherRig(t, DefaultFlushConfig())
		rig.f.start()
		rig.add("a", 9)
		if err := rig.f.stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		if rig.stored(t, "a") != 9 {
			t.Fatal("stop did not drain")
		}
	})
	t.Run("sink down", func(t *testing.T) {
		rig := newFlusherRig(t, DefaultFlushConfig())
		rig.f.start()
		rig.sink.down.Store(true)
		rig.add("a", 9)
		ctx, cancel := context.WithTimeout(context.Background(), 250*time.Millisecond)
		defer cancel()
		err := rig.f.stop(ctx)
		if err == nil || testutil.ToFloat64(rig.metrics.flush.visitsDropped) != 9 {
			t.Fatalf("stop with the sink down: %v, dropped %v", err, testutil.ToFloat64(rig.metrics.flush.visitsDropped))
		}
		if again := rig.f.stop(context.Background()); again == nil || again.Error() != err.Error() {
			t.Fatalf("second stop: %v, want the first error", again)
		}
	})
}

func TestInbox_AppliesOnceRefusesLateAndClosed(t *testing.T) {
	var in inbox
	now := time.Unix(1_700_000_000, 0)
	b := &clusterpb.VisitBatch{From: "n2#1", Seq: 7, DeadlineUnixMs: now.Add(time.Second).UnixMilli()}
	if v := in.judge(b, now); v != verdictApply {
		t.Fatalf("new batch: %v", v)
	}
	if v := in.judge(b, now.Add(5*time.Second)); v != verdictDuplicate {
		t.Fatalf("re-sent batch: %v, want duplicate (acknowledged, not applied)", v)
	}
	late := &clusterpb.VisitBatch{From: "n2#1", Seq: 8, DeadlineUnixMs: now.UnixMilli()}
	if v := in.judge(late, now.Add(time.Millisecond)); v != verdictRefuse {
		t.Fatalf("late batch: %v, want refused", v)
	}
	if v := in.judge(late, now.Add(time.Millisecond)); v != verdictRefuse {
		t.Fatal("a refused batch must stay refusable (never remembered as applied)")
	}
	other := &clusterpb.VisitBatch{From: "n3#1", Seq: 7, DeadlineUnixMs: b.DeadlineUnixMs}
	in.closed = true
	if v := in.judge(other, now); v != verdictRefuse {
		t.Fatalf("batch while closing: %v", v)
	}
	if v := in.judge(b, now); v != verdictDuplicate {
		t.Fatal("a duplicate is acknowledged even while closing")
	}
}

func TestInbox_ForgetsOldBatches(t *testing.T) {
	var in inbox
	start := time.Unix(1_700_000_000, 0)
	for i := 0; i < 2048; i++ {
		now := start.Add(time.Duration(i) * time.Second)
		in.judge(&clusterpb.VisitBatch{From: "n2", Seq: uint64(i), DeadlineUnixMs: now.Add(time.Second).UnixMilli()}, now)
	}
	if len(in.applied) >= 2048 {
		t.Fatalf("remembers %d batches: old ids are never forgotten", len(in.applied))
	}
}

// fakeMembership is a Membership whose view the test sets.
type fakeMembership struct {
	self    cluster.Member
	p       *cluster.Placement
	members []cluster.Member
	changes chan struct{}
}

func (f *fakeMembership) Self() cluster.Member          { return f.self }
func (f *fakeMembership) Members() []cluster.Member     { return f.members }
func (f *fakeMembership) Placement() *cluster.Placement { return f.p }
func (f *fakeMembership) Changes() <-chan struct{}      { return f.changes }

func (f *fakeMembership) set(alive []cluster.Member, dead ...cluster.Member) {
	f.p = cluster.NewPlacement(alive)
	f.members = append([]cluster.Member(nil), alive...)
	for _, d := range dead {
		d.Status = cluster.StatusDead
		f.members = append(f.members, d)
	}
}

func TestMembershipWatcher_DeathPartitionAndOwnership(t *testing.T) {
	n1 := cluster.Member{Name: "n1", RemoteAddr: "127.0.0.1:1", Status: cluster.StatusAlive}
	n2 := cluster.Member{Name: "n2", RemoteAddr: "127.0.0.1:2", Status: cluster.StatusAlive}
	n3 := cluster.Member{Name: "n3", RemoteAddr: "127.0.0.1:3", Status: cluster.StatusAlive}
	fm := &fakeMembership{self: n1, changes: make(chan struct{})}
	fm.set([]cluster.Member{n1, n2, n3})
	var shardMsgs []*ownershipMsg
	var dropped []string
	cleared := 0
	m := testMetrics(t)
	w := newMembershipWatcher(watcherDeps{
		cluster:        fm,
		toShards:       func(msg any) { shardMsgs = append(shardMsgs, msg.(*ownershipMsg)) },
		clearNearCache: func() { cleared++ },
		dropEndpoint:   func(addr string) { dropped = append(dropped, addr) },
		atRisk: func(member string) uint64 {
			if member == "n3" {
				return 11
			}
			return 0
		},
		log: slog.New(slog.DiscardHandler), m: m.watch,
	})
	w.snapshot() // what start does: n1, n2, n3 known alive

	fm.set([]cluster.Member{n1, n2}, n3) // n3 dies
	w.react()
	if len(shardMsgs) != 1 || shardMsgs[0].reset || shardMsgs[0].placement.Len() != 2 {
		t.Fatalf("shards told %+v, want one ownership change over 2 members", shardMsgs)
	}
	if len(dropped) != 1 || dropped[0] != n3.RemoteAddr || cleared != 0 {
		t.Fatalf("dropped %v cleared %d", dropped, cleared)
	}
	if v := testutil.ToFloat64(m.watch.visitsAtRisk); v != 11 {
		t.Fatalf("visits at risk = %v, want 11", v)
	}

	fm.set([]cluster.Member{n1, n2, n3}) // n3 is back: a healed partition
	w.react()
	if cleared != 1 || len(shardMsgs) != 3 || !shardMsgs[2].reset {
		t.Fatalf("re-merge: cleared %d, shard messages %+v", cleared, shardMsgs)
	}
	if v := testutil.ToFloat64(m.watch.visitsAtRisk); v != 11 {
		t.Fatal("at-risk visits counted twice")
	}

	w.start()
	fm.changes <- struct{}{} // the goroutine reacts to a change…
	w.stop()                 // …and stops
	w.stop()
	if len(shardMsgs) != 4 {
		t.Fatalf("running watcher sent %d shard messages, want 4", len(shardMsgs))
	}
}

func TestLoader_ReadsAndRefusesAfterStop(t *testing.T) {
	st := openEmbedded(t)
	now := time.Now().UTC()
	ctx := context.Background()
	if err := st.CreateLink(ctx, storage.Link{Code: "lim", URL: "https://example.com/l", MaxVisits: 5, RedirectStatus: 307, CacheMaxAge: -1, CreatedAt: now, UpdatedAt: now, Version: 1}); err != nil {
		t.Fatal(err)
	}
	if err := st.WriteVisits(ctx, storage.VisitBatch{NodeID: "n", Seq: 1, Rows: []storage.VisitCount{{VisitKey: storage.VisitKey{Code: "lim", Minute: 60}, Visits: 2}}}); err != nil {
		t.Fatal(err)
	}
	m := testMetrics(t)
	got := make(chan *loadedMsg, 4)
	l := newLoader(loaderDeps{links: st, stats: st, timeout: time.Second, loads: m.resolve.loads,
		report: func(_ *actor.PID, msg *loadedMsg) { got <- msg }})
	l.load(nil, "lim")
	msg := <-got
	if msg.err != nil || msg.entry == nil || msg.entry.Status != 307 || !msg.entry.Limited || msg.maxVisits != 5 || msg.used != 2 {
		t.Fatalf("loaded %+v (entry %+v)", msg, msg.entry)
	}
	l.load(nil, "none")
	if msg := <-got; msg.err != nil || msg.entry != nil {
		t.Fatalf("unknown code: %+v, want no entry and no error", msg)
	}
	l.stop()
	l.load(nil, "lim")
	if msg := <-got; !errors.Is(msg.err, storage.ErrUnavailable) {
		t.Fatalf("load after stop: %v, want ErrUnavailable at once", msg.err)
	}
	if v := testutil.ToFloat64(m.resolve.loads); v != 2 {
		t.Fatalf("loads metric = %v, want 2 (none after stop)", v)
	}
	st.Close()
	l2 := newLoader(loaderDeps{links: st, stats: st, timeout: time.Second, loads: m.resolve.loads,
		report: func(_ *actor.PID, msg *loadedMsg) { got <- msg }})
	l2.load(nil, "lim")
	if msg := <-got; !errors.Is(msg.err, storage.ErrUnavailable) {
		t.Fatalf("store closed: %v, want ErrUnavailable", msg.err)
	}
	l2.stop()
}
