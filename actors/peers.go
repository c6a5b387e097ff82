package actors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/minibitly/minibitly/cluster"
	"github.com/minibitly/minibitly/proto/clusterpb"
	"github.com/minibitly/minibitly/storage"
)

// errPeerDown is the error of a request not sent because its member is down
// (routed around). It wraps storage.ErrUnavailable where it is returned.
var errPeerDown = errors.New("peer down: not asked (routed around until a probe answers)")

const (
	// peerTick is how often the peer set looks at the placement and at
	// gossip suspicion, and starts the probes that are due.
	peerTick = 200 * time.Millisecond
	// peerProbeEvery is the time between probes of a down peer (one in
	// flight per peer at a time).
	peerProbeEvery = 500 * time.Millisecond
)

// suspector is what a Membership may also offer: whether gossip suspects a
// member (cluster.Node.Suspected). Optional, so Membership fakes need not.
type suspector interface {
	Suspected(name string) bool
}

// peerDeps are what the peer set needs.
type peerDeps struct {
	// placement returns the members requests may go to; a peer not in it
	// is forgotten.
	placement func() *cluster.Placement
	// suspected reports gossip suspicion of a member; nil reports none.
	suspected func(name string) bool
	// probe asks member m something cheap and reports whether it answered
	// within timeout.
	probe        func(m cluster.Member, timeout time.Duration) error
	probeTimeout time.Duration
	tick         time.Duration // peerTick
	probeEvery   time.Duration // peerProbeEvery
	now          func() time.Time
	log          *slog.Logger
	m            peerMetrics
}

// peerState is one member's health in a peerSet.
type peerState struct {
	m         cluster.Member
	down      bool
	since     time.Time // when it went down
	suspected bool      // gossip suspected it at the last look (a new suspicion trips it)
	probing   bool      // a probe is in flight
	probedAt  time.Time // when the last probe started
}

// peerSet is this node's per-member circuit breaker for remote requests
// (lookups, pending counts, invalidations at the owner). A member is down
// after one request to it failed (a timeout after the full remote timeout,
// or a transport error: one is enough, so no second request waits the
// timeout for it), or when gossip newly suspects it. Requests do not ask a
// down member: they fail over at once. A background goroutine probes each
// down member every probeEvery; an answer to a probe, or to any request,
// marks it up. A member that leaves the placement is forgotten.
//
// It is safe for concurrent use; allow is one atomic load while no member is
// down. A nil *peerSet (a single node) allows everything.
type peerSet struct {
	d     peerDeps
	ndown atomic.Int32 // members down now
	mu    sync.RWMutex
	peers map[string]*peerState
	quit  chan struct{}
	once  sync.Once
	r     routines
}

func newPeerSet(d peerDeps) *peerSet {
	if d.tick <= 0 {
		d.tick = peerTick
	}
	if d.probeEvery <= 0 {
		d.probeEvery = peerProbeEvery
	}
	if d.now == nil {
		d.now = time.Now
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	return &peerSet{d: d, peers: map[string]*peerState{}, quit: make(chan struct{})}
}

// allow reports whether a request may go to member name now; a refusal is
// counted as a skip.
func (p *peerSet) allow(name string) bool {
	if p == nil || p.ndown.Load() == 0 {
		return true
	}
	p.mu.RLock()
	ps := p.peers[name]
	down := ps != nil && ps.down
	p.mu.RUnlock()
	if down {
		p.d.m.skips.Inc()
	}
	return !down
}

// isDown reports whether member name is down (without counting a skip).
func (p *peerSet) isDown(name string) bool {
	if p == nil || p.ndown.Load() == 0 {
		return false
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	ps := p.peers[name]
	return ps != nil && ps.down
}

// failed records that a request to m failed in a way that says m does not
// answer: m is down from now.
func (p *peerSet) failed(m cluster.Member, err error) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	ps := p.peers[m.Name]
	if ps == nil {
		ps = &peerState{m: m}
		p.peers[m.Name] = ps
	}
	p.tripLocked(ps, "request failed", err)
}

// succeeded records an answer from member name: it is up.
func (p *peerSet) succeeded(name string) {
	if p == nil || p.ndown.Load() == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if ps := p.peers[name]; ps != nil && ps.down {
		ps.down = false
		p.setDown(-1)
		p.d.log.Info("peer answers again: requests go to it", "member", name, "down_for", p.d.now().Sub(ps.since).Round(time.Millisecond))
	}
}

// tripLocked marks ps down (p.mu held).
func (p *peerSet) tripLocked(ps *peerState, reason string, err error) {
	if ps.down {
		return
	}
	ps.down, ps.since = true, p.d.now()
	ps.probedAt = ps.since // the first probe after probeEvery
	p.setDown(+1)
	p.d.m.trips.Inc()
	p.d.log.Warn("peer down: routing requests around it until it answers a probe", "member", ps.m.Name, "reason", reason, "err", err)
}

// setDown moves the down count by delta (p.mu held).
func (p *peerSet) setDown(delta int32) {
	p.d.m.down.Set(float64(p.ndown.Add(delta)))
}

// check is one tick: forget members that left the placement, trip those
// gossip newly suspects, start the probes that are due.
func (p *peerSet) check() {
	members := p.d.placement().Members()
	type probe struct {
		ps *peerState
		m  cluster.Member
	}
	var probes []probe
	now := p.d.now()
	p.mu.Lock()
	in := make(map[string]bool, len(members))
	for _, m := range members {
		in[m.Name] = true
		ps := p.peers[m.Name]
		if ps == nil {
			ps = &peerState{}
			p.peers[m.Name] = ps
		}
		ps.m = m // the address may have changed (a restart)
		if p.d.suspected != nil {
			s := p.d.suspected(m.Name)
			if s && !ps.suspected {
				p.tripLocked(ps, "gossip suspects it", nil)
			}
			ps.suspected = s
		}
		if ps.down && !ps.probing && now.Sub(ps.probedAt) >= p.d.probeEvery {
			ps.probing, ps.probedAt = true, now
			probes = append(probes, probe{ps, m})
		}
	}
	for name, ps := range p.peers {
		if !in[name] {
			if ps.down {
				p.setDown(-1)
			}
			delete(p.peers, name)
		}
	}
	p.mu.Unlock()
	for _, pr := range probes {
		if !p.r.start(func() { p.probe(pr.ps, pr.m) }) {
			p.mu.Lock()
			pr.ps.probing = false
			p.mu.Unlock()
		}
	}
}

// probe asks m once; an answer marks it up. ps may have been forgotten
// meanwhile: then the answer changes nothing.
func (p *peerSet) probe(ps *peerState, m cluster.Member) {
	err := p.d.probe(m, p.d.probeTimeout)
	p.mu.Lock()
	ps.probing = false
	current := p.peers[m.Name] == ps
	p.mu.Unlock()
	if err == nil && current {
		p.succeeded(m.Name)
	}
}

// start runs the goroutine that checks every tick. Safe on nil.
func (p *peerSet) start() {
	if p == nil {
		return
	}
	p.r.start(func() {
		t := time.NewTicker(p.d.tick)
		defer t.Stop()
		for {
			p.check()
			select {
			case <-p.quit:
				return
			case <-t.C:
			}
		}
	})
}

// stop ends the goroutine and waits for it and the probes in flight. Safe
// on nil and more than once.
func (p *peerSet) stop() {
	if p == nil {
		return
	}
	p.r.close()
	p.once.Do(func() { close(p.quit) })
	p.r.wait()
}

// newPeers builds the peer set of a System in a cluster.
func (s *System) newPeers() *peerSet {
	d := peerDeps{
		placement:    s.d.Cluster.Placement,
		probeTimeout: s.cfg.RemoteTimeout,
		log:          s.log,
		m:            s.m.peers,
		probe: func(m cluster.Member, timeout time.Duration) error {
			// PendingRequest is read-only and answered by a shard at once:
			// it shows the node actor and the shards are serving.
			res, err := askRemote(s.actors.Root, time.Now().Add(timeout), m, &clusterpb.PendingRequest{Code: ""})
			if err != nil {
				return err
			}
			if _, ok := res.(*clusterpb.PendingResponse); !ok {
				return fmt.Errorf("probe %s: unexpected answer %T", m.Name, res)
			}
			return nil
		},
	}
	if sp, ok := s.d.Cluster.(suspector); ok {
		d.suspected = sp.Suspected
	}
	return newPeerSet(d)
}

// askPeer is askRemote through the peer set: a down member is not asked
// (errPeerDown at once, wrapped in storage.ErrUnavailable); an answer marks
// it up; a failure marks it down, unless it is a timeout cut short by ctx's
// deadline (the member had less than the remote timeout to answer: no
// evidence that it is down).
func (s *System) askPeer(ctx context.Context, m cluster.Member, msg any) (any, error) {
	if !s.peers.allow(m.Name) {
		return nil, unavailable(fmt.Errorf("ask %s: %w", m.Name, errPeerDown))
	}
	start := time.Now()
	deadline := s.remoteDeadline(ctx)
	full := !deadline.Before(start.Add(s.cfg.RemoteTimeout)) // not cut short by ctx
	if time.Until(deadline) <= 0 {
		return nil, unavailable(fmt.Errorf("ask %s: deadline passed", m.Name))
	}
	res, err := askRemote(s.actors.Root, deadline, m, msg)
	if err == nil {
		s.peers.succeeded(m.Name)
		return res, nil
	}
	if full || !errors.Is(err, actor.ErrTimeout) {
		s.peers.failed(m, err)
	}
	return nil, unavailable(err)
}

// unavailableAnswer is the error of an unexpected answer from m.
func unavailableAnswer(m cluster.Member, res any) error {
	return fmt.Errorf("%w: unexpected answer %T from %s", storage.ErrUnavailable, res, m.Name)
}
