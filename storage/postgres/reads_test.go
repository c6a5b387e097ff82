package postgres

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

func TestRouter_Fresh(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1000, 0)}
	r := newRouter(10*time.Second, nil)
	r.now = clock.Now
	r.noteLink("a", true)
	if !r.fresh(readLink, "a") || r.fresh(readLink, "b") || !r.fresh(readLinkList, "") || r.fresh(readKey, "") {
		t.Fatal("after a link write: want a and lists on the primary, b and keys not")
	}
	r.noteKeys()
	if !r.fresh(readKey, "") {
		t.Fatal("after a key write: keys not on the primary")
	}
	clock.Advance(10 * time.Second)
	if r.fresh(readLink, "a") || r.fresh(readLinkList, "") || r.fresh(readKey, "") {
		t.Fatal("past the window: still on the primary")
	}
	if len(r.recent) != 0 {
		t.Fatalf("expired code kept: %v", r.recent)
	}
	// Overflow: every read goes to the primary for a window.
	for i := range maxRecent + 1 {
		r.noteLink(fmt.Sprint(i), true)
	}
	if len(r.recent) > maxRecent || !r.fresh(readLink, "never-written") || !r.fresh(readKey, "") {
		t.Fatalf("overflow: %d codes kept, want every read on the primary", len(r.recent))
	}
	r.noteAll()
	clock.Advance(10 * time.Second)
	if r.fresh(readLink, "never-written") {
		t.Fatal("overflow window did not end")
	}
	off := newRouter(0, nil)
	off.noteLink("a", true)
	off.noteAll()
	if off.fresh(readLink, "a") {
		t.Fatal("window 0: read on the primary")
	}
}

func TestRouter_DownAndProbe(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1000, 0)}
	r := newRouter(time.Second, nil)
	r.now = clock.Now
	if ok, probe := r.tryReplica(); !ok || probe {
		t.Fatal("healthy replica not tried")
	}
	r.replicaFailed(false, errors.New("refused"))
	if ok, _ := r.tryReplica(); ok {
		t.Fatal("down replica tried before the retry delay")
	}
	clock.Advance(replicaRetryAfter)
	ok, probe := r.tryReplica()
	if !ok || !probe {
		t.Fatal("no probe after the retry delay")
	}
	if ok, _ := r.tryReplica(); ok {
		t.Fatal("a second read tried the replica while one probes")
	}
	r.replicaOK(false) // a read from before the failure says nothing
	if !r.down.Load() {
		t.Fatal("a non-probe success ended the outage")
	}
	r.replicaOK(probe)
	if r.down.Load() {
		t.Fatal("the successful probe did not end the outage")
	}
}

func TestReplicaUnavailable(t *testing.T) {
	live := context.Background()
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	for name, c := range map[string]struct {
		ctx  context.Context
		err  error
		want bool
	}{
		"no rows":           {live, pgx.ErrNoRows, false},
		"refused":           {live, errors.New("dial tcp: connection refused"), true},
		"starting up":       {live, &pgconn.PgError{Code: "57P03"}, true},
		"recovery conflict": {live, &pgconn.PgError{Code: "40001"}, true},
		"no such table":     {live, &pgconn.PgError{Code: "42P01"}, true},
		"syntax error":      {live, &pgconn.PgError{Code: "42601"}, false},
		"caller gave up":    {gone, errors.New("context canceled"), false},
	} {
		if got := replicaUnavailable(c.ctx, c.err); got != c.want {
			t.Errorf("%s: replicaUnavailable = %v, want %v", name, got, c.want)
		}
	}
}

// TestRouter_SweepAndOthersWrites: a full map whose entries expired is
// swept, not given up on; another node's write (NoteLinkChanged) sends
// reads of its code to the primary, not lists.
func TestRouter_SweepAndOthersWrites(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1000, 0)}
	r := newRouter(10*time.Second, nil)
	r.now = clock.Now
	for i := range maxRecent {
		r.noteLink(fmt.Sprint(i), true)
	}
	clock.Advance(11 * time.Second)
	r.noteLink("new", false)
	if len(r.recent) != 1 || r.fresh(readLink, "never-written") || !r.fresh(readLink, "new") {
		t.Fatalf("after a sweep of expired codes: %d kept, every read on the primary = %v", len(r.recent), r.fresh(readLink, "never-written"))
	}
	if r.fresh(readLinkList, "") {
		t.Fatal("another node's write sent lists to the primary")
	}
}
