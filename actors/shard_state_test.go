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
