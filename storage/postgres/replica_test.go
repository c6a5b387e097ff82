package postgres

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/minibitly/minibitly/internal/harness"
	"github.com/minibitly/minibitly/storage"
)

// fakeClock is the router's clock in tests: the window and the retry
// backoff pass when the test says so.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *fakeClock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// replicaStore opens a store on a fresh database of the shared server with
// ReadURL on a streaming replica of it, with a fake clock.
func replicaStore(t *testing.T, r *harness.Replica, url string) (*Store, *fakeClock) {
	t.Helper()
	s := openURL(t, withReadURL(config(url), r.URLOf(t, url)))
	clock := &fakeClock{now: time.Now()}
	s.router.now = clock.Now
	r.WaitCaughtUp(t) // the schema
	return s, clock
}

// A real streaming replica: reads go to it; a link just written here, or
// named by NoteLinkChanged, is read from the primary for the window (and is
// stale afterwards only while the replica lags by more than the window);
// with the replica stopped every read is answered by the primary, and once
// it is back reads return to it.
func TestStore_ReplicaReads(t *testing.T) {
	pg := server(t)
	url := pg.NewDatabase(t)
	r := pg.StartReplica(t)
	s, clock := replicaStore(t, r, url)
	other, otherClock := replicaStore(t, r, url) // another node's store
	ctx := t.Context()
	window := s.cfg.ReadYourWritesWindow

	get := func(s *Store, code string) storage.Link {
		t.Helper()
		l, err := s.GetLink(ctx, code)
		if err != nil {
			t.Fatalf("GetLink(%q): %v", code, err)
		}
		return l
	}
	stats := func(s *Store) ReadStats { return s.ReadStats() }

	// Read-your-writes: the create is visible at once, from the primary.
	if err := s.CreateLink(ctx, link("a")); err != nil {
		t.Fatal(err)
	}
	before := stats(s)
	if l := get(s, "a"); l.URL != "https://example.com/a" {
		t.Fatalf("GetLink after create = %q", l.URL)
	}
	ls, _, err := s.ListLinks(ctx, storage.ListQuery{})
	if err != nil || len(ls) != 1 {
		t.Fatalf("ListLinks after create = %d links, %v; want 1", len(ls), err)
	}
	if got := stats(s); got.Primary != before.Primary+2 || got.Replica != before.Replica {
		t.Fatalf("reads right after the create: %+v, before %+v; want 2 more on the primary", got, before)
	}
	// After the window, from the replica.
	r.WaitCaughtUp(t)
	clock.Advance(window + time.Millisecond)
	before = stats(s)
	get(s, "a")
	if _, _, err := s.ListLinks(ctx, storage.ListQuery{}); err != nil {
		t.Fatal(err)
	}
	if got := stats(s); got.Replica != before.Replica+2 {
		t.Fatalf("reads after the window: %+v, before %+v; want 2 more on the replica", got, before)
	}

	// Lag: replay paused, then an edit here.
	r.PauseReplay(t)
	newURL := "https://example.com/edited"
	if _, err := s.UpdateLink(ctx, "a", storage.LinkPatch{URL: &newURL}); err != nil {
		t.Fatal(err)
	}
	if l := get(s, "a"); l.URL != newURL {
		t.Fatalf("GetLink after the edit, same store = %q, want %q", l.URL, newURL)
	}
	// Another node's store reads the lagging replica until it is told.
	if l := get(other, "a"); l.URL == newURL {
		t.Fatalf("the paused replica already has the edit: the test does not test lag")
	}
	other.NoteLinkChanged("a")
	if l := get(other, "a"); l.URL != newURL {
		t.Fatalf("GetLink after NoteLinkChanged = %q, want %q", l.URL, newURL)
	}
	// The documented bound: past the window, a replica that lags by more
	// than the window serves the old link.
	otherClock.Advance(window + time.Millisecond)
	if l := get(other, "a"); l.URL == newURL {
		t.Fatalf("past the window the read still went to the primary")
	}
	r.ResumeReplay(t)
	r.WaitCaughtUp(t)
	if l := get(other, "a"); l.URL != newURL {
		t.Fatalf("caught-up replica: GetLink = %q, want %q", l.URL, newURL)
	}

	// Replica stopped: reads fall back to the primary, no error.
	key := storage.APIKey{ID: "k1", Name: "k", Hash: "h1", Prefix: "p", CreatedAt: time.Now()}
	if err := s.CreateAPIKey(ctx, key); err != nil {
		t.Fatal(err)
	}
	r.WaitCaughtUp(t)
	clock.Advance(window + time.Millisecond)
	r.Stop(t)
	before = stats(s)
	for i := range 3 {
		if l := get(s, "a"); l.URL != newURL {
			t.Fatalf("read %d with the replica down = %q", i, l.URL)
		}
		if _, _, err := s.ListLinks(ctx, storage.ListQuery{}); err != nil {
			t.Fatalf("ListLinks with the replica down: %v", err)
		}
		if _, err := s.APIKeyByHash(ctx, "h1"); err != nil {
			t.Fatalf("APIKeyByHash with the replica down: %v", err)
		}
		if _, err := s.ListAPIKeys(ctx); err != nil {
			t.Fatalf("ListAPIKeys with the replica down: %v", err)
		}
	}
	got := stats(s)
	if !got.ReplicaDown || got.Fallbacks != before.Fallbacks+1 || got.Primary != before.Primary+12 {
		t.Fatalf("replica down: %+v, before %+v; want down, one fallback, then the primary only", got, before)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping with only the replica down: %v, want nil (the primary serves)", err)
	}
	if _, err := s.GetLink(ctx, "missing"); err == nil {
		t.Fatal("GetLink(missing) with the replica down: no error")
	}

	// Back: after the retry delay a read probes it, and reads go to it.
	r.Start(t)
	clock.Advance(replicaRetryAfter)
	harness.Eventually(t, 30*time.Second, func() error {
		get(s, "a")
		if st := stats(s); st.ReplicaDown {
			clock.Advance(replicaRetryAfter)
			return context.DeadlineExceeded
		}
		return nil
	})
	before = stats(s)
	get(s, "a")
	if got := stats(s); got.Replica != before.Replica+1 {
		t.Fatalf("replica back: %+v, before %+v; want the read on the replica", got, before)
	}
}

// A replica that is down when the store opens fails no Open (a node must
// start during a replica outage): reads go to the primary.
func TestOpen_ReplicaDown(t *testing.T) {
	url := server(t).NewDatabase(t)
	nobody := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/x?sslmode=disable", harness.FreePort(t, "127.0.0.1"))
	s := openURL(t, withReadURL(config(url), nobody))
	if err := s.CreateLink(t.Context(), link("a")); err != nil {
		t.Fatal(err)
	}
	s.router.now = func() time.Time { return time.Now().Add(time.Hour) } // past the window
	if _, err := s.GetLink(t.Context(), "a"); err != nil {
		t.Fatalf("GetLink with the replica down since Open: %v", err)
	}
	if st := s.ReadStats(); !st.ReplicaDown || st.Replica != 0 {
		t.Fatalf("ReadStats = %+v, want the replica down and unused", st)
	}
}
