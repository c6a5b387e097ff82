package actors

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minibitly/minibitly/internal/clock"
	"github.com/minibitly/minibitly/internal/nearcache"
	"github.com/minibitly/minibitly/internal/useragent"
	"github.com/minibitly/minibitly/internal/visitlog"
	"github.com/minibitly/minibitly/storage"
	"github.com/minibitly/minibitly/storage/embedded"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// faultySink is the real embedded sink with a switch: while down, writes
// fail; with lostAck, a write lands but reports failure (a lost reply), so
// the flusher retries a batch the store already has.
type faultySink struct {
	storage.VisitSink
	down    atomic.Bool
	lostAck atomic.Bool
	writes  atomic.Int64
}

func (f *faultySink) WriteVisits(ctx context.Context, b storage.VisitBatch) error {
	f.writes.Add(1)
	if f.down.Load() {
		return storage.ErrUnavailable
	}
	if err := f.VisitSink.WriteVisits(ctx, b); err != nil {
		return err
	}
	if f.lostAck.CompareAndSwap(true, false) {
		return errors.New("connection reset after write")
	}
	return nil
}

type fixture struct {
	sys   *System
	store *embedded.Store
	sink  *faultySink
	log   *visitlog.Log
	cache *nearcache.Cache // the System's own (tests look inside)
	reg   *prometheus.Registry
}

func newFixture(t testing.TB, mod func(*Config)) *fixture {
	t.Helper()
	st := openEmbedded(t)
	clk := clock.New()
	t.Cleanup(clk.Close)
	f := &fixture{store: st, sink: &faultySink{VisitSink: st}, log: visitlog.New(2, 1024), reg: prometheus.NewRegistry()}
	cfg := DefaultConfig()
	cfg.Shards = 8
	cfg.FlushInterval = time.Hour // tests flush explicitly
	cfg.Flush.BreakerThreshold = 1000
	if mod != nil {
		mod(&cfg)
	}
	n, err := New(cfg, Deps{Links: st, Sink: f.sink, Stats: st, Visits: f.log, Clock: clk, Registry: f.reg})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		n.Shutdown(ctx)
	})
	f.sys, f.cache = n, n.cache
	return f
}

func (f *fixture) createLink(t testing.TB, l storage.Link) {
	t.Helper()
	if l.RedirectStatus == 0 {
		l.RedirectStatus = 302
	}
	l.CreatedAt, l.UpdatedAt, l.Version, l.CacheMaxAge = time.Now().UTC(), time.Now().UTC(), 1, -1
	if err := f.store.CreateLink(context.Background(), l); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) visit(code string, n int) {
	dims := useragent.Classify([]byte("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148 Safari/604.1")).Pack([2]byte{})
	for i := 0; i < n; i++ {
		for !f.log.Record(uint64(i), code, 1_700_000_040, dims, []byte("News.Example.com")) {
			runtime.Gosched() // ring full: let the batcher drain it
		}
	}
}

func total(t *testing.T, f *fixture, code string) uint64 {
	t.Helper()
	return storedVisits(t, f.store, code)
}

// storedVisits is code's visit total in st.
func storedVisits(t *testing.T, st *embedded.Store, code string) uint64 {
	t.Helper()
	n, err := st.VisitTotal(context.Background(), code)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// openEmbedded opens a real embedded store in t's temp dir, closed by
// t.Cleanup.
func openEmbedded(t testing.TB) *embedded.Store {
	t.Helper()
	cfg := embedded.DefaultConfig()
	cfg.Path = filepath.Join(t.TempDir(), "db")
	st, err := embedded.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestSystem_VisitsReachSinkExactly(t *testing.T) {
	f := newFixture(t, nil)
	f.visit("abc", 1500)
	f.visit("xyz", 7)
	if err := f.sys.flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := total(t, f, "abc"); got != 1500 {
		t.Fatalf("abc stored %d, want 1500", got)
	}
	if got := total(t, f, "xyz"); got != 7 {
		t.Fatalf("xyz stored %d, want 7", got)
	}
	now := time.Unix(1_700_000_040, 0)
	s, err := f.store.Stats(context.Background(), storage.StatsQuery{Code: "abc", From: now.Add(-time.Hour), To: now.Add(time.Hour), Interval: storage.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if s.Total != 1500 || len(s.Referrers) != 1 || s.Referrers[0].Key != "news.example.com" || s.Devices[0].Key != "mobile" {
		t.Fatalf("stats %+v", s)
	}
}

// TestSystem_VisitsOfACodeWithoutLink: the gateway counts orphan visits
// under pseudo-codes no link has ("~orphan:base_url"); they travel the
// pipeline like a link's visits, and no shard loads a link for them.
func TestSystem_VisitsOfACodeWithoutLink(t *testing.T) {
	f := newFixture(t, nil)
	const code = "~orphan:base_url"
	f.visit(code, 5)
	if err := f.sys.flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := total(t, f, code); got != 5 {
		t.Fatalf("%s stored %d, want 5", code, got)
	}
	if n := testutil.ToFloat64(f.sys.m.resolve.loads); n != 0 {
		t.Fatalf("%v link loads for visits", n)
	}
	if f.cache.Get([]byte(code), time.Now().Unix()) != nil {
		t.Fatal("visits put a near-cache entry")
	}
}

func TestSystem_LiveVisitsCountUnflushed(t *testing.T) {
	f := newFixture(t, nil)
	f.visit("abc", 40)
	f.sys.batcher.flush()
	got, err := f.sys.Visits(context.Background(), "abc")
	if err != nil || got != 40 {
		t.Fatalf("Visits = %d, %v; want 40 before any flush", got, err)
	}
	f.sink.down.Store(true)
	f.sys.flush(context.Background())
	got, _ = f.sys.Visits(context.Background(), "abc")
	if got != 40 {
		t.Fatalf("Visits = %d while buffered in the flusher, want 40", got)
	}
}

func TestSystem_SinkOutageDeliversEverythingOnce(t *testing.T) {
	f := newFixture(t, nil)
	f.sink.down.Store(true)
	for round := 0; round < 5; round++ {
		f.visit("abc", 100)
		if err := f.sys.flush(context.Background()); err == nil {
			t.Fatal("flush succeeded while the sink was down")
		}
	}
	if got := total(t, f, "abc"); got != 0 {
		t.Fatalf("stored %d during the outage", got)
	}
	f.sink.down.Store(false)
	f.sink.lostAck.Store(true) // the first retry lands but looks failed
	if err := f.sys.flush(context.Background()); err == nil {
		t.Fatal("lost ack not reported")
	}
	if err := f.sys.flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := total(t, f, "abc"); got != 500 {
		t.Fatalf("stored %d after recovery, want exactly 500", got)
	}
	if v := testutil.ToFloat64(f.sys.m.flush.failures); v < 6 {
		t.Fatalf("flush failures metric = %v, want >= 6", v)
	}
}

// TestSystem_BufferOverflowIsCounted: beyond MaxBufferedRows the oldest
// batches are dropped and counted; the newest batch is always kept (it
// holds the latest interval, merged while the sink is down).
func TestSystem_BufferOverflowIsCounted(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Flush.MaxBufferedRows = 2 })
	f.sink.down.Store(true)
	f.visit("a", 10)
	f.sys.flush(context.Background()) // batch 1 (a) attempted, fails
	f.visit("b", 10)
	f.visit("c", 10)
	f.sys.flush(context.Background()) // batch 2 (b, c): 3 rows > 2, batch 1 dropped
	if dropped := testutil.ToFloat64(f.sys.m.flush.visitsDropped); dropped != 10 {
		t.Fatalf("dropped metric = %v, want 10 (the oldest batch)", dropped)
	}
	f.sink.down.Store(false)
	if err := f.sys.flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if total(t, f, "a") != 0 || total(t, f, "b") != 10 || total(t, f, "c") != 10 {
		t.Fatal("wrong batches survived the overflow")
	}
}

func TestSystem_ShutdownFlushes(t *testing.T) {
	f := newFixture(t, nil)
	f.visit("abc", 321)
	if err := f.sys.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := total(t, f, "abc"); got != 321 {
		t.Fatalf("stored %d after shutdown, want 321", got)
	}
}

func TestSystem_ShutdownReportsUndelivered(t *testing.T) {
	f := newFixture(t, nil)
	f.sink.down.Store(true)
	f.visit("abc", 5)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := f.sys.Shutdown(ctx)
	if err == nil {
		t.Fatal("shutdown with the sink down reported success")
	}
	if v := testutil.ToFloat64(f.sys.m.flush.visitsDropped); v != 5 {
		t.Fatalf("dropped = %v, want 5", v)
	}
}

func TestSystem_ResolveAdmitInvalidate(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	if _, err := f.sys.Resolve(ctx, "nope"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("unknown code: %v", err)
	}
	if e := f.cache.Get([]byte("nope"), time.Now().Unix()); e == nil || !e.Gone {
		t.Fatal("unknown code not remembered as gone")
	}
	f.createLink(t, storage.Link{Code: "nope", URL: "https://example.com/n"})
	f.sys.LinkChanged(ctx, "nope") // what the API does after a create
	if e, err := f.sys.Resolve(ctx, "nope"); err != nil || e.Gone {
		t.Fatalf("created code still gone: %+v, %v", e, err)
	}
	f.createLink(t, storage.Link{Code: "abc", URL: "https://example.com/a"})
	e, err := f.sys.Resolve(ctx, "abc")
	if err != nil || string(e.Location) != "https://example.com/a" || e.Status != 302 {
		t.Fatalf("Resolve = %+v, %v", e, err)
	}
	if f.cache.Get([]byte("abc"), time.Now().Unix()) == nil {
		t.Fatal("Resolve did not fill the near-cache")
	}
	u := "https://example.com/b"
	if _, err := f.store.UpdateLink(ctx, "abc", storage.LinkPatch{URL: &u}); err != nil {
		t.Fatal(err)
	}
	f.sys.LinkChanged(ctx, "abc")
	if f.cache.Get([]byte("abc"), time.Now().Unix()) != nil {
		t.Fatal("LinkChanged left the near-cache entry")
	}
	e, err = f.sys.Resolve(ctx, "abc")
	if err != nil || string(e.Location) != u {
		t.Fatalf("after update Resolve = %+v, %v", e, err)
	}

	f.createLink(t, storage.Link{Code: "lim", URL: "https://example.com/l", MaxVisits: 3})
	var admitted int
	for i := 0; i < 5; i++ {
		ok, err := f.sys.Admit(ctx, "lim")
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			admitted++
		}
	}
	if admitted != 3 {
		t.Fatalf("admitted %d of max 3", admitted)
	}
}

func TestSystem_StoreDownGives503NotPanic(t *testing.T) {
	f := newFixture(t, nil)
	f.createLink(t, storage.Link{Code: "abc", URL: "https://example.com/a"})
	f.store.Close()
	_, err := f.sys.Resolve(context.Background(), "abc")
	if !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("Resolve with the store closed: %v, want ErrUnavailable", err)
	}
}

// TestSystem_ReResolveWhileServingIsRaceFree: a hot code whose near-cache TTL
// ran out is re-resolved by concurrent misses while other requests read the
// cached entry. The shard hands every resolver the same entry, so publishing
// it must not write to it (run with -race).
func TestSystem_ReResolveWhileServingIsRaceFree(t *testing.T) {
	f := newFixture(t, nil)
	f.createLink(t, storage.Link{Code: "hot", URL: "https://example.com/hot"})
	ctx := context.Background()
	if _, err := f.sys.Resolve(ctx, "hot"); err != nil {
		t.Fatal(err)
	}
	key := []byte("hot")
	done := make(chan struct{})
	errs := make(chan error, 2)
	for g := 0; g < 2; g++ {
		go func() {
			for i := 0; i < 300; i++ {
				if _, err := f.sys.Resolve(ctx, "hot"); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	go func() {
		defer close(done)
		now := time.Now().Unix()
		for i := 0; i < 20_000; i++ {
			if e := f.cache.Get(key, now); e != nil && e.Code != "hot" {
				panic("wrong entry")
			}
		}
	}()
	for g := 0; g < 2; g++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	<-done
}

// TestSystem_ShutdownAfterFailedStart: a Start that fails half-way (the
// remote's port is taken, after the shards were spawned) is undone by
// Shutdown without a panic, and Shutdown returns.
func TestSystem_ShutdownAfterFailedStart(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	st := openEmbedded(t)
	clk := clock.New()
	defer clk.Close()
	cfg := DefaultConfig()
	cfg.Shards = 4
	cfg.RemoteAddr = ln.Addr().String()
	sys, err := New(cfg, Deps{Links: st, Sink: st, Stats: st, Visits: visitlog.New(1, 64), Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	if err := sys.Start(); err == nil {
		t.Fatal("Start with the remote's port taken succeeded")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := sys.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := sys.Resolve(ctx, "abc"); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("Resolve after Shutdown: %v, want ErrUnavailable", err)
	}
}

// A max_visits link that reached its limit is admitted again once its
// stored visits are deleted and the link is reported changed (what the
// gateway's delete-visits routes do), as in Shlink.
func TestSystem_DeletedVisitsResetTheLimit(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	f.createLink(t, storage.Link{Code: "lim", URL: "https://example.com/l", MaxVisits: 2})
	admit := func() bool {
		t.Helper()
		ok, err := f.sys.Admit(ctx, "lim")
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !admit() || !admit() || admit() {
		t.Fatal("max 2: want two admitted, the third refused")
	}
	f.visit("lim", 2) // the two admitted visits, recorded by the gateway
	for deadline := time.Now().Add(5 * time.Second); total(t, f, "lim") != 2; {
		if time.Now().After(deadline) {
			t.Fatalf("stored %d visits, want 2", total(t, f, "lim"))
		}
		f.sys.flush(ctx)
		time.Sleep(10 * time.Millisecond)
	}
	if n, err := f.store.DeleteVisits(ctx, "lim"); err != nil || n != 2 {
		t.Fatalf("DeleteVisits = %d, %v", n, err)
	}
	if admit() {
		t.Fatal("admitted before the link was reported changed: the shard still counts 2")
	}
	f.sys.LinkChanged(ctx, "lim")
	if !admit() || !admit() || admit() {
		t.Fatal("after the delete: want two admitted again, then refused")
	}
}
