package actors

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minibitly/minibitly/cluster"
	"github.com/minibitly/minibitly/internal/clock"
	"github.com/minibitly/minibitly/internal/visitlog"
	"github.com/minibitly/minibitly/storage"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// peerFixture is a peerSet driven by hand: a settable clock, placement and
// suspicion, and probes whose answers the test sets and whose calls it
// sees.
type peerFixture struct {
	p         *peerSet
	m         *metrics
	mu        sync.Mutex
	now       time.Time
	placement atomic.Pointer[cluster.Placement]
	suspects  sync.Map // name → true
	answer    sync.Map // name → error (absent: answers)
	probes    chan string
}

var (
	pn1 = cluster.Member{Name: "n1", RemoteAddr: "127.0.0.1:1"}
	pn2 = cluster.Member{Name: "n2", RemoteAddr: "127.0.0.1:2"}
	pn3 = cluster.Member{Name: "n3", RemoteAddr: "127.0.0.1:3"}
)

func newPeerFixture(t *testing.T) *peerFixture {
	t.Helper()
	f := &peerFixture{m: testMetrics(t), now: time.Unix(1_700_000_000, 0), probes: make(chan string, 100)}
	f.placement.Store(cluster.NewPlacement([]cluster.Member{pn1, pn2, pn3}))
	f.p = newPeerSet(peerDeps{
		placement: f.placement.Load,
		suspected: func(name string) bool { _, ok := f.suspects.Load(name); return ok },
		probe: func(m cluster.Member, timeout time.Duration) error {
			defer func() { f.probes <- m.Name }()
			if err, ok := f.answer.Load(m.Name); ok {
				return err.(error)
			}
			return nil
		},
		probeTimeout: time.Second,
		now: func() time.Time {
			f.mu.Lock()
			defer f.mu.Unlock()
			return f.now
		},
		m: f.m.peers,
	})
	t.Cleanup(f.p.stop)
	return f
}

func (f *peerFixture) advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

// checkProbed runs one tick and waits for the probe of name it must start.
func (f *peerFixture) checkProbed(t *testing.T, name string) {
	t.Helper()
	f.p.check()
	select {
	case got := <-f.probes:
		if got != name {
			t.Fatalf("probed %s, want %s", got, name)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no probe of %s", name)
	}
	f.p.r.wait() // the probe's goroutine has recorded its answer
}

func (f *peerFixture) noProbe(t *testing.T) {
	t.Helper()
	f.p.check()
	f.p.r.wait()
	select {
	case got := <-f.probes:
		t.Fatalf("unexpected probe of %s", got)
	default:
	}
}

func (f *peerFixture) wantDown(t *testing.T, down int, trips, skips float64) {
	t.Helper()
	m := f.m.peers
	if g, tr, sk := testutil.ToFloat64(m.down), testutil.ToFloat64(m.trips), testutil.ToFloat64(m.skips); g != float64(down) || tr != trips || sk != skips {
		t.Fatalf("peer_down %v, trips %v, skips %v; want %d, %v, %v", g, tr, sk, down, trips, skips)
	}
}

func TestPeerSet_DownAfterOneFailureUpAfterProbe(t *testing.T) {
	f := newPeerFixture(t)
	p := f.p
	if !p.allow("n2") || !p.allow("n3") {
		t.Fatal("a member is down before any failure")
	}
	f.noProbe(t) // nothing down: nothing probed
	p.failed(pn2, errors.New("ask n2: future: timeout"))
	if p.allow("n2") {
		t.Fatal("n2 allowed after a timeout: the next request would wait it again")
	}
	if !p.allow("n3") {
		t.Fatal("n3 down after a failure of n2")
	}
	p.failed(pn2, errors.New("again")) // a request in flight at the trip
	f.wantDown(t, 1, 1, 1)

	// Probed once probeEvery has passed since the trip, one at a time; a
	// failed probe keeps it down.
	f.advance(100 * time.Millisecond)
	f.noProbe(t)
	f.answer.Store("n2", errors.New("future: timeout"))
	f.advance(peerProbeEvery)
	f.checkProbed(t, "n2")
	if !p.isDown("n2") {
		t.Fatal("n2 up after a failed probe")
	}
	f.noProbe(t) // the next one probeEvery later
	f.answer.Delete("n2")
	f.advance(peerProbeEvery)
	f.checkProbed(t, "n2")
	if p.isDown("n2") || !p.allow("n2") {
		t.Fatal("n2 still down after it answered a probe")
	}
	f.wantDown(t, 0, 1, 1)
	f.advance(peerProbeEvery)
	f.noProbe(t) // up: no more probes

	// An answer to a real request marks it up too.
	p.failed(pn3, errors.New("no such actor (dead letter)"))
	f.wantDown(t, 1, 2, 1)
	p.succeeded("n3")
	if !p.allow("n3") {
		t.Fatal("n3 down after a request to it succeeded")
	}
	f.wantDown(t, 0, 2, 1)
}

func TestPeerSet_GossipSuspicionTrips(t *testing.T) {
	f := newPeerFixture(t)
	p := f.p
	f.p.check()
	f.suspects.Store("n3", true)
	f.answer.Store("n3", errors.New("future: timeout"))
	f.p.check()
	if p.allow("n3") {
		t.Fatal("n3 allowed while gossip suspects it")
	}
	f.wantDown(t, 1, 1, 1)
	// It answers a probe while gossip still suspects it: up, and it stays
	// up (only a new suspicion trips it again).
	f.answer.Delete("n3")
	f.advance(peerProbeEvery)
	f.checkProbed(t, "n3")
	f.advance(peerProbeEvery)
	f.noProbe(t)
	if !p.allow("n3") {
		t.Fatal("n3 down after answering a probe")
	}
	f.suspects.Delete("n3")
	f.noProbe(t)
	f.suspects.Store("n3", true)
	f.p.check()
	if p.allow("n3") {
		t.Fatal("a new suspicion did not trip n3")
	}
	f.wantDown(t, 1, 2, 2)
}

func TestPeerSet_ForgetsMemberThatLeft(t *testing.T) {
	f := newPeerFixture(t)
	p := f.p
	p.failed(pn3, errors.New("timeout"))
	f.answer.Store("n3", errors.New("timeout"))
	f.advance(peerProbeEvery)
	f.placement.Store(cluster.NewPlacement([]cluster.Member{pn1, pn2}))
	f.noProbe(t) // forgotten, not probed
	if p.isDown("n3") {
		t.Fatal("n3 still down after it left the placement")
	}
	f.wantDown(t, 0, 1, 0)
	if len(p.peers) != 2 {
		t.Fatalf("peer set holds %d members, want the 2 placed", len(p.peers))
	}

	// Back (a restart): up, and a probe in flight for its former self
	// changes nothing.
	f.placement.Store(cluster.NewPlacement([]cluster.Member{pn1, pn2, pn3}))
	f.p.check()
	if !p.allow("n3") {
		t.Fatal("n3 down after it rejoined")
	}
}

// TestPeerSet_ConcurrentUse: requests, trips, answers, placement changes
// and the probing goroutine at once (run with -race); afterwards the
// peer_down gauge matches the members down.
func TestPeerSet_ConcurrentUse(t *testing.T) {
	m := testMetrics(t)
	var placement atomic.Pointer[cluster.Placement]
	all := cluster.NewPlacement([]cluster.Member{pn1, pn2, pn3})
	placement.Store(all)
	var flip atomic.Bool
	p := newPeerSet(peerDeps{
		placement: placement.Load,
		suspected: func(name string) bool { return name == "n3" && flip.Load() },
		probe: func(m cluster.Member, timeout time.Duration) error {
			if flip.Load() {
				return errors.New("timeout")
			}
			return nil
		},
		tick: time.Millisecond, probeEvery: time.Millisecond, m: m.peers,
	})
	p.start()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				name := []string{"n2", "n3"}[(w+i)%2]
				switch i % 5 {
				case 0:
					p.failed(cluster.Member{Name: name}, errors.New("timeout"))
				case 1:
					p.succeeded(name)
				case 2:
					flip.Store(!flip.Load())
				case 3:
					if w == 0 {
						if i%2 == 1 {
							placement.Store(cluster.NewPlacement([]cluster.Member{pn1, pn2}))
						} else {
							placement.Store(all)
						}
					}
				default:
					p.allow(name)
					p.isDown(name)
				}
			}
		}(w)
	}
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	p.stop()
	p.stop()
	down := 0
	for _, ps := range p.peers {
		if ps.down {
			down++
		}
	}
	if g := testutil.ToFloat64(m.peers.down); g != float64(down) || int(p.ndown.Load()) != down {
		t.Fatalf("peer_down gauge %v, count %d; %d members down", g, p.ndown.Load(), down)
	}
	var nilSet *peerSet // a single node
	if !nilSet.allow("x") || nilSet.isDown("x") {
		t.Fatal("a nil peer set routes around a member")
	}
	nilSet.failed(pn2, nil)
	nilSet.succeeded("n2")
	nilSet.start()
	nilSet.stop()
}

// lockedMembership is a Membership safe for concurrent use (the peer set
// reads it from its goroutine) that also reports gossip suspicion.
type lockedMembership struct {
	mu       sync.Mutex
	self     cluster.Member
	p        *cluster.Placement
	members  []cluster.Member
	suspects map[string]bool
	changes  chan struct{}
}

func (f *lockedMembership) Self() cluster.Member { return f.self }
func (f *lockedMembership) Members() []cluster.Member {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]cluster.Member(nil), f.members...)
}
func (f *lockedMembership) Placement() *cluster.Placement {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.p
}
func (f *lockedMembership) Changes() <-chan struct{} { return f.changes }
func (f *lockedMembership) Suspected(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.suspects[name]
}

func (f *lockedMembership) set(alive []cluster.Member, suspects ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.p = cluster.NewPlacement(alive)
	f.members = append([]cluster.Member(nil), alive...)
	f.suspects = map[string]bool{}
	for _, s := range suspects {
		f.suspects[s] = true
	}
}

// TestSystem_SuspectOwnerIsNotWaitedFor: a System in a cluster whose other
// member gossip suspects (through the optional Suspected method of its
// Membership) does not ask that member: lookups of the codes it owns go to
// the store at once, admissions of its limited links and its pending counts
// are unavailable at once. Once it leaves the placement it is forgotten.
// (Nothing is ever sent to it: protoactor's endpoint writer to an address
// that does not answer retries for 10 s and holds up the remote's shutdown.
// The first request's timeout and the trip it causes are tested with real
// processes in cmd/minibitly's TestCluster_FailoverWithoutStalls.)
func TestSystem_SuspectOwnerIsNotWaitedFor(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	self := ln.Addr().String()
	ln.Close()
	n1 := cluster.Member{Name: "n1", RemoteAddr: self, Status: cluster.StatusAlive}
	n2 := cluster.Member{Name: "n2", RemoteAddr: "127.0.0.1:1", Status: cluster.StatusAlive}
	fm := &lockedMembership{self: n1, changes: make(chan struct{}, 1)}
	fm.set([]cluster.Member{n1, n2}, "n2")
	st := openEmbedded(t)
	clk := clock.New()
	t.Cleanup(clk.Close)
	cfg := DefaultConfig()
	cfg.Shards = 4
	cfg.NodeName, cfg.RemoteAddr = "n1", self
	cfg.FlushInterval = time.Hour
	sys, err := New(cfg, Deps{Links: st, Sink: st, Stats: st, Visits: visitlog.New(1, 64), Clock: clk, Cluster: fm})
	if err != nil {
		t.Fatal(err)
	}
	var probes atomic.Int64
	sys.peers.d.probe = func(cluster.Member, time.Duration) error { probes.Add(1); return errors.New("future: timeout") }
	if err := sys.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		sys.Shutdown(ctx)
	})
	var codes []string
	for i := 0; len(codes) < 4; i++ {
		if code := fmt.Sprintf("c%d", i); fm.Placement().Owner(code).Name == "n2" {
			codes = append(codes, code)
		}
	}
	now := time.Now().UTC()
	for i, code := range codes {
		l := storage.Link{Code: code, URL: "https://example.com/" + code, RedirectStatus: 302, CacheMaxAge: -1, CreatedAt: now, UpdatedAt: now, Version: 1}
		if i == 0 {
			l.MaxVisits = 10
		}
		if err := st.CreateLink(context.Background(), l); err != nil {
			t.Fatal(err)
		}
	}
	limited, plain := codes[0], codes[1:]
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatal(what)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitFor("n2 not marked down though gossip suspects it", func() bool { return sys.peers.isDown("n2") })

	// A short ctx: any request sent to n2 would fail the test by its error.
	ctx, cancel := context.WithTimeout(context.Background(), cfg.RemoteTimeout/2)
	defer cancel()
	for _, code := range plain {
		if e, err := sys.Resolve(ctx, code); err != nil || string(e.Location) != "https://example.com/"+code {
			t.Fatalf("lookup of %s with its owner down: %+v %v, want the link from the store", code, e, err)
		}
	}
	if _, err := sys.Admit(ctx, limited); !errors.Is(err, storage.ErrUnavailable) || !errors.Is(err, errPeerDown) {
		t.Fatalf("admission of a limited link with its owner down: %v, want unavailable (not asked)", err)
	}
	if _, err := sys.Visits(ctx, plain[0]); !errors.Is(err, storage.ErrUnavailable) || !errors.Is(err, errPeerDown) {
		t.Fatalf("pending count with the owner down: %v, want unavailable (not asked)", err)
	}
	pm, rm := sys.m.peers, sys.m.resolve
	if tr, sk, dn := testutil.ToFloat64(pm.trips), testutil.ToFloat64(pm.skips), testutil.ToFloat64(pm.down); tr != 1 || sk != float64(len(plain)+2) || dn != 1 {
		t.Fatalf("trips %v, skips %v, down %v; want 1, %d, 1", tr, sk, dn, len(plain)+2)
	}
	if l, fo := testutil.ToFloat64(rm.remoteLookups), testutil.ToFloat64(rm.remoteFailovers); l != 0 || fo != float64(len(plain)+1) {
		t.Fatalf("remote lookups %v, failovers %v; want 0 (none sent), %d", l, fo, len(plain)+1)
	}
	waitFor("a down member is not probed", func() bool { return probes.Load() > 0 })

	// n2 is declared dead: forgotten.
	fm.set([]cluster.Member{n1})
	waitFor("n2 still counted down after it left the placement", func() bool { return testutil.ToFloat64(pm.down) == 0 })
	if ok, err := sys.Admit(context.Background(), limited); err != nil || !ok {
		t.Fatalf("admission at the new owner (this node): %v %v", ok, err)
	}
}
