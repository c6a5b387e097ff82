package actors

import (
	"testing"

	"github.com/minibitly/minibitly/internal/nearcache"
	"github.com/minibitly/minibitly/storage"
)

func TestShardState_VisitsAggregateAndDrain(t *testing.T) {
	s := newShardState(10)
	k1 := storage.VisitKey{Code: "a", Minute: 60, Device: "mobile"}
	k2 := storage.VisitKey{Code: "a", Minute: 120}
	k3 := storage.VisitKey{Code: "b", Minute: 60}
	s.addVisits([]storage.VisitCount{{VisitKey: k1, Visits: 2}, {VisitKey: k2, Visits: 1}})
	s.addVisits([]storage.VisitCount{{VisitKey: k1, Visits: 3}, {VisitKey: k3, Visits: 7}})
	if got := s.pendingVisits("a"); got != 6 {
		t.Fatalf("pending a = %d, want 6", got)
	}
	rows := s.drain()
	got := map[storage.VisitKey]uint64{}
	for _, r := range rows {
		got[r.VisitKey] += r.Visits
	}
	want := map[storage.VisitKey]uint64{k1: 5, k2: 1, k3: 7}
	if len(got) != len(want) || len(rows) != 3 {
		t.Fatalf("drained %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%+v = %d, want %d", k, got[k], v)
		}
	}
	if s.drain() != nil || s.pendingVisits("a") != 0 {
		t.Fatal("drain did not clear")
	}
}

func TestShardState_ParkLoadedCoalesces(t *testing.T) {
	s := newShardState(10)
	if !s.park("x", waiter{to: 1}) {
		t.Fatal("first waiter must start a load")
	}
	if s.park("x", waiter{to: 2, admit: true}) {
		t.Fatal("second waiter must not start another load")
	}
	if s.lookup("x") != nil {
		t.Fatal("lookup before load completes")
	}
	e := &nearcache.Entry{Code: "x", Limited: true}
	ws, ls := s.loaded("x", e, 1, 0)
	if len(ws) != 2 || ls == nil || ls.entry != e {
		t.Fatalf("loaded returned %d waiters, state %v", len(ws), ls)
	}
	if !s.admit(ls) {
		t.Fatal("first visit of max 1 refused")
	}
	if s.admit(ls) {
		t.Fatal("second visit of max 1 admitted")
	}
	if s.lookup("x") == nil {
		t.Fatal("loaded link not cached")
	}
}

func TestShardState_NotFoundIsNotCached(t *testing.T) {
	s := newShardState(10)
	s.park("x", waiter{})
	ws, ls := s.loaded("x", nil, 0, 0)
	if len(ws) != 1 || ls != nil {
		t.Fatalf("got %d waiters, state %v", len(ws), ls)
	}
	if !s.park("x", waiter{}) {
		t.Fatal("a later request must load again")
	}
}

func TestShardState_InvalidateDuringLoad(t *testing.T) {
	s := newShardState(10)
	s.park("x", waiter{})
	s.invalidate("x")
	ws, ls := s.loaded("x", &nearcache.Entry{Code: "x"}, 0, 0)
	if len(ws) != 1 || ls == nil {
		t.Fatal("waiters must still get the loaded entry")
	}
	if s.lookup("x") != nil {
		t.Fatal("entry invalidated during its load was kept")
	}
}

func TestShardState_Evicts(t *testing.T) {
	s := newShardState(3)
	for _, c := range []string{"a", "b", "c", "d", "e"} {
		s.park(c, waiter{})
		s.loaded(c, &nearcache.Entry{Code: c}, 0, 0)
	}
	if len(s.links) > 3 {
		t.Fatalf("%d links cached, max 3", len(s.links))
	}
	if s.lookup("e") == nil {
		t.Fatal("the newest link was evicted")
	}
}

// The Referer header is the visitor's: a code keeps at most refCap
// distinct hosts a minute, the rest counted as storage.OtherReferrer, and
// no visit is lost.
func TestShardState_ReferrerCap(t *testing.T) {
	s := newShardState(10)
	s.refCap = 3
	row := func(code string, minute int64, ref string, n uint64) storage.VisitCount {
		return storage.VisitCount{VisitKey: storage.VisitKey{Code: code, Minute: minute, Referrer: ref}, Visits: n}
	}
	// In one batch the most visited hosts are kept.
	batch := []storage.VisitCount{row("a", 60, "spam1", 1), row("a", 60, "google.com", 50), row("a", 60, "spam2", 1),
		row("a", 60, "t.co", 20), row("a", 60, "news.ycombinator.com", 10), row("a", 60, "", 4)}
	s.addVisits(batch)
	if batch[0].Referrer != "spam1" {
		t.Fatal("addVisits reordered or rewrote the caller's rows")
	}
	// Later batches of the same minute: kept hosts stay, new ones are other;
	// another minute and another code have their own sets.
	s.addVisits([]storage.VisitCount{row("a", 60, "t.co", 1), row("a", 60, "spam3", 2)})
	s.addVisits([]storage.VisitCount{row("a", 120, "spam3", 1), row("b", 60, "spam4", 1)})
	got := map[storage.VisitKey]uint64{}
	var total uint64
	for _, r := range s.drain() {
		got[r.VisitKey] += r.Visits
		total += r.Visits
	}
	want := map[storage.VisitKey]uint64{
		row("a", 60, "google.com", 0).VisitKey:           50,
		row("a", 60, "t.co", 0).VisitKey:                 21,
		row("a", 60, "news.ycombinator.com", 0).VisitKey: 10,
		row("a", 60, "", 0).VisitKey:                     4,
		row("a", 60, storage.OtherReferrer, 0).VisitKey:  4,
		row("a", 120, "spam3", 0).VisitKey:               1,
		row("b", 60, "spam4", 0).VisitKey:                1,
	}
	if total != 91 || len(got) != len(want) {
		t.Fatalf("drained %v (total %d), want %v (91)", got, total, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%q minute %d %q = %d, want %d", k.Code, k.Minute, k.Referrer, got[k], v)
		}
	}
	// The kept set outlives the flush within the minute…
	s.addVisits([]storage.VisitCount{row("a", 60, "spam5", 1)})
	if r := s.drain(); len(r) != 1 || r[0].Referrer != storage.OtherReferrer {
		t.Fatalf("after a flush the cap was forgotten: %+v", r)
	}
	// …and is forgotten once the minute is old.
	s.addVisits([]storage.VisitCount{row("a", 60+refMemory+120, "x", 1)})
	s.drain()
	if _, ok := s.refs[codeMinute{"a", 60}]; ok {
		t.Fatal("an old minute's referrer set was kept")
	}
}
