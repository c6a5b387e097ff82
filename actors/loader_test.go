package actors

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/minibitly/minibitly/storage"
	"github.com/prometheus/client_golang/prometheus"
)

// gatedStore is the real embedded store whose reads wait for a gate and
// are counted.
type gatedStore struct {
	storage.LinkStore
	gate        chan struct{}
	one, many   atomic.Int64
	readCodes   atomic.Int64
	batchReader storage.LinkBatchReader
}

func (g *gatedStore) GetLink(ctx context.Context, code string) (storage.Link, error) {
	<-g.gate
	g.one.Add(1)
	g.readCodes.Add(1)
	return g.LinkStore.GetLink(ctx, code)
}

func (g *gatedStore) GetLinks(ctx context.Context, codes []string) ([]storage.Link, error) {
	<-g.gate
	g.many.Add(1)
	g.readCodes.Add(int64(len(codes)))
	return g.batchReader.GetLinks(ctx, codes)
}

type loaderRig struct {
	l     *loader
	store *gatedStore
	mu    sync.Mutex
	got   map[string]*loadedMsg
	dup   int
}

func newLoaderRig(t *testing.T, n int) *loaderRig {
	st := openEmbedded(t)
	var links []storage.Link
	now := time.Now()
	for i := range n {
		links = append(links, storage.Link{Code: fmt.Sprintf("c%04d", i), URL: fmt.Sprintf("https://example.com/%d", i),
			RedirectStatus: 302, CacheMaxAge: -1, CreatedAt: now, UpdatedAt: now, Version: 1})
	}
	if _, err := st.CreateLinks(t.Context(), links); err != nil {
		t.Fatal(err)
	}
	rig := &loaderRig{store: &gatedStore{LinkStore: st, batchReader: st, gate: make(chan struct{})}, got: map[string]*loadedMsg{}}
	rig.l = newLoader(loaderDeps{
		links: rig.store, stats: st, timeout: 10 * time.Second, loads: prometheus.NewCounter(prometheus.CounterOpts{Name: "loads"}),
		report: func(_ *actor.PID, m *loadedMsg) {
			rig.mu.Lock()
			defer rig.mu.Unlock()
			if rig.got[m.code] != nil {
				rig.dup++
			}
			rig.got[m.code] = m
		},
	})
	return rig
}

func (rig *loaderRig) reported() int {
	rig.mu.Lock()
	defer rig.mu.Unlock()
	return len(rig.got)
}

// Misses that arrive while the store is busy are read together: a few
// multi-key reads, not one per code, and every load is answered once,
// with its link or as not found.
func TestLoader_CoalescesConcurrentMisses(t *testing.T) {
	const n = 600
	rig := newLoaderRig(t, n)
	t.Cleanup(rig.l.stop)
	for i := range n + 10 { // 10 codes that do not exist
		rig.l.load(nil, fmt.Sprintf("c%04d", i))
	}
	close(rig.store.gate)
	for deadline := time.Now().Add(10 * time.Second); rig.reported() < n+10; {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d loads answered", rig.reported(), n+10)
		}
		time.Sleep(5 * time.Millisecond)
	}
	rig.mu.Lock()
	defer rig.mu.Unlock()
	for i := range n + 10 {
		code := fmt.Sprintf("c%04d", i)
		m := rig.got[code]
		switch {
		case m.err != nil:
			t.Fatalf("%s: %v", code, m.err)
		case i < n && (m.entry == nil || string(m.entry.Location) != fmt.Sprintf("https://example.com/%d", i)):
			t.Fatalf("%s: entry %+v", code, m.entry)
		case i >= n && m.entry != nil:
			t.Fatalf("%s does not exist, loaded %+v", code, m.entry)
		}
	}
	// Before the gate opens each reader takes one batch (whatever was
	// queued then); after it every load is queued, so batches are full
	// but the last.
	calls := rig.store.one.Load() + rig.store.many.Load()
	bound := int64(maxReaders + (n+10+maxBatch-1)/maxBatch)
	if rig.dup != 0 || rig.store.readCodes.Load() != n+10 || calls > bound {
		t.Fatalf("%d codes read in %d calls (%d single), %d answered twice; want %d codes in at most %d calls",
			rig.store.readCodes.Load(), calls, rig.store.one.Load(), rig.dup, n+10, bound)
	}
}

// Stopping answers the loads still queued (shutting down) and any load
// asked for after, at once.
func TestLoader_StopAnswersQueuedLoads(t *testing.T) {
	rig := newLoaderRig(t, 1)
	for i := range 300 {
		rig.l.load(nil, fmt.Sprintf("q%04d", i))
	}
	go func() {
		time.Sleep(50 * time.Millisecond)
		close(rig.store.gate) // the readers' first batches finish
	}()
	rig.l.stop()
	rig.l.load(nil, "after")
	if got := rig.reported(); got != 301 {
		t.Fatalf("%d of 301 loads answered after stop", got)
	}
	rig.mu.Lock()
	defer rig.mu.Unlock()
	if m := rig.got["after"]; m == nil || !errors.Is(m.err, storage.ErrUnavailable) {
		t.Fatalf("load after stop: %+v", m)
	}
}
