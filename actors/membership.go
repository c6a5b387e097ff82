package actors

import (
	"log/slog"
	"sync"

	"github.com/minibitly/minibitly/cluster"
)

// ownershipMsg tells a shard the placement changed: it drops the links it
// no longer owns (their counters stay and are flushed as usual).
type ownershipMsg struct {
	placement *cluster.Placement
	self      string
	reset     bool // drop every cached link, owned or not
}

// watcherDeps are what the membership watcher needs.
type watcherDeps struct {
	cluster Membership
	// toShards sends msg to every local shard.
	toShards func(msg any)
	// clearNearCache forgets every near-cached link.
	clearNearCache func()
	// dropEndpoint closes the remote connection to addr (the next message
	// dials afresh).
	dropEndpoint func(addr string)
	// atRisk returns (and forgets) the visits member acknowledged since
	// its last flush could have completed.
	atRisk func(member string) uint64
	log    *slog.Logger
	m      watchMetrics
}

// membershipWatcher reacts to membership changes: shards drop links they
// no longer own, a healed partition clears the link caches, the remote
// connection of a member that left is dropped, and visits acknowledged by
// a member that died since its last flush are reported as at risk. Its
// maps are touched by its own goroutine only (or a test calling react).
type membershipWatcher struct {
	d     watcherDeps
	known map[string]cluster.Member // alive at the last change
	seen  map[string]bool           // every member ever alive
	quit  chan struct{}
	once  sync.Once
	r     routines
}

func newMembershipWatcher(d watcherDeps) *membershipWatcher {
	return &membershipWatcher{d: d, known: map[string]cluster.Member{}, seen: map[string]bool{}, quit: make(chan struct{})}
}

// snapshot records the members alive now as known. start calls it: the
// System is built before the node joins, and a member that dies before the
// first change after the join must still be known to have been alive.
func (w *membershipWatcher) snapshot() {
	for _, m := range w.d.cluster.Placement().Members() {
		w.known[m.Name] = m
		w.seen[m.Name] = true
	}
}

func (w *membershipWatcher) start() {
	w.snapshot()
	w.r.start(w.run)
}

func (w *membershipWatcher) run() {
	for {
		select {
		case <-w.quit:
			return
		case <-w.d.cluster.Changes():
		}
		w.react()
	}
}

// react handles one membership change.
func (w *membershipWatcher) react() {
	p := w.d.cluster.Placement()
	self := w.d.cluster.Self().Name
	w.d.toShards(&ownershipMsg{placement: p, self: self})
	alive := map[string]cluster.Member{}
	merged := false
	for _, m := range p.Members() {
		alive[m.Name] = m
		if _, ok := w.known[m.Name]; !ok && w.seen[m.Name] {
			merged = true // back after being dead: a healed partition
		}
		w.seen[m.Name] = true
	}
	if merged {
		// Invalidations sent while the sides could not reach each other
		// are lost: forget every cached link (counters stay) and resolve
		// afresh from the owners and the link store.
		w.d.clearNearCache()
		w.d.toShards(&ownershipMsg{placement: p, self: self, reset: true})
		w.d.log.Info("cluster re-merged: link caches cleared", "members", len(alive))
	}
	for name, m := range w.known {
		if _, ok := alive[name]; ok || m.RemoteAddr == "" {
			continue
		}
		// Drop the remote connection to a member that left the alive set:
		// after a partition heals, a connection kept through the cut is
		// stale and loses messages (acks) until TCP resets it.
		w.d.dropEndpoint(m.RemoteAddr)
	}
	for _, m := range w.d.cluster.Members() {
		if _, wasKnown := w.known[m.Name]; wasKnown && alive[m.Name].Name == "" && m.Status == cluster.StatusDead {
			// Visits it acknowledged after its last completed flush may
			// not have reached the visit store.
			lost := w.d.atRisk(m.Name)
			w.d.m.visitsAtRisk.Add(float64(lost))
			if lost > 0 {
				w.d.log.Warn("member died: visits it acknowledged may be lost", "member", m.Name, "visits_at_risk", lost)
			}
		}
	}
	w.known = alive
}

// stop ends the goroutine and waits for it. Safe to call more than once.
func (w *membershipWatcher) stop() {
	w.r.close()
	w.once.Do(func() { close(w.quit) })
	w.r.wait()
}
