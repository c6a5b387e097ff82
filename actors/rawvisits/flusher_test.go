package rawvisits

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/minibitly/minibitly/internal/useragent"
	"github.com/minibitly/minibitly/storage"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// memSink is an in-memory EventSink that deduplicates by event id, as the
// ClickHouse table does, and fails the next fail writes.
type memSink struct {
	mu      sync.Mutex
	fail    int
	writes  int
	events  map[storage.EventID]storage.Event
	expired int
}

func (m *memSink) WriteEvents(_ context.Context, b storage.EventBatch) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.writes++
	if m.fail > 0 {
		m.fail--
		return errors.New("sink down")
	}
	for i, e := range b.Events {
		m.events[storage.EventID{NodeID: b.NodeID, Seq: b.Seq, Index: uint32(i)}] = e
	}
	return nil
}

func (m *memSink) ExpireEvents(context.Context, time.Time, time.Duration) error {
	m.mu.Lock()
	m.expired++
	m.mu.Unlock()
	return nil
}

func newTest(t *testing.T, edit func(*Config)) (*Flusher, *memSink, *prometheus.Registry) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Enabled, cfg.Stripes, cfg.Slots, cfg.MaxPending, cfg.MaxAttempts = true, 1, 4, 8, 3
	edit(&cfg)
	sink := &memSink{events: map[storage.EventID]storage.Event{}}
	reg := prometheus.NewRegistry()
	f, err := New(cfg, Deps{Sink: sink, NodeID: "n1", Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	return f, sink, reg
}

// TestFlusher_RetryOnceThenDrop: a failed batch is retried under the same
// id (counted once), a batch failing every attempt is dropped and counted,
// and so is an event that finds the ring full.
func TestFlusher_RetryOnceThenDrop(t *testing.T) {
	f, sink, reg := newTest(t, func(*Config) {})
	ctx := t.Context()
	dims := useragent.Classify([]byte("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36")).Pack([2]byte{'D', 'E'})
	f.Ring().Record(0, "abc", 100, dims, []byte("https://r.example/p"), []byte("UA"))
	sink.fail = 1
	f.Flush(ctx) // fails
	f.Flush(ctx) // the same batch again
	if len(sink.events) != 1 || sink.writes != 2 {
		t.Fatalf("events %d after %d writes, want 1 after 2", len(sink.events), sink.writes)
	}
	e := sink.events[storage.EventID{NodeID: "n1", Seq: 1, Index: 0}]
	if e.Code != "abc" || e.Time.Unix() != 100 || e.Referrer != "https://r.example/p" || e.UserAgent != "UA" ||
		e.Browser != "chrome" || e.OS != "windows" || e.Country != "DE" || e.Bot {
		t.Fatalf("event %+v", e)
	}

	sink.fail = 3
	f.Ring().Record(0, "abc", 101, 0, nil, nil)
	for range 3 {
		f.Flush(ctx)
	}
	for range 5 { // a ring of 4: the fifth is dropped
		f.Ring().Record(0, "abc", 102, 0, nil, nil)
	}
	f.Flush(ctx)
	if got := testutil.ToFloat64(f.written); got != 5 {
		t.Fatalf("written %v, want 5", got)
	}
	if f.Dropped() != 2 || testutil.ToFloat64(f.errs) != 4 || testutil.ToFloat64(f.recorded) != 6 {
		t.Fatalf("dropped %d errors %v recorded %v, want 2, 4, 6", f.Dropped(), testutil.ToFloat64(f.errs), testutil.ToFloat64(f.recorded))
	}
	if n, err := testutil.GatherAndCount(reg, "minibitly_raw_visits_dropped_total", "minibitly_raw_visits_enabled"); err != nil || n != 2 {
		t.Fatalf("metrics: %d, %v", n, err)
	}
}

// TestFlusher_StartClose: the consumer drains on its own every interval,
// applies the TTL at start, and Close writes what is left.
func TestFlusher_StartClose(t *testing.T) {
	f, sink, _ := newTest(t, func(c *Config) { c.Interval = 10 * time.Millisecond })
	f.Start()
	f.Ring().Record(0, "a", 1, 0, nil, nil)
	deadline := time.Now().Add(5 * time.Second)
	for {
		sink.mu.Lock()
		n := len(sink.events)
		sink.mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the event was not written within 5 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	f.Close(t.Context())
	f.Ring().Record(0, "b", 1, 0, nil, nil) // after Close: stays in the ring, written by nobody
	f.Close(t.Context())
	if sink.expired < 1 {
		t.Fatal("the TTL was not applied at start")
	}
}

// TestFlusher_Off: off, there is no ring and nothing runs.
func TestFlusher_Off(t *testing.T) {
	f, err := New(DefaultConfig(), Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if f.Ring() != nil {
		t.Fatal("a ring while off")
	}
	f.Start()
	f.Close(context.Background())
	cfg := DefaultConfig()
	cfg.TTL = time.Hour
	if _, err := New(cfg, Deps{}); err == nil {
		t.Fatal("a TTL under 24h was accepted")
	}
	cfg = DefaultConfig()
	cfg.Enabled = true
	if _, err := New(cfg, Deps{}); err == nil {
		t.Fatal("on without an event sink was accepted")
	}
}
