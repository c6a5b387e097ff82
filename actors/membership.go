package actors

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/remote"
	"github.com/minibitly/minibitly/cluster"
)

var errorsIs = errors.Is

// ownershipMsg tells a shard the placement changed: it drops the links it
// no longer owns (their counters stay and are flushed as usual).
type ownershipMsg struct {
	placement *cluster.Placement
	self      string
	reset     bool // drop every cached link, owned or not
}

// watchMembership reacts to membership changes: shards drop links they no
// longer own, and visits acknowledged by a member that died since its last
// flush are reported as at risk.
func (n *Node) watchMembership() {
	defer n.watch.Done()
	known := map[string]cluster.Member{}
	seen := map[string]bool{} // every member ever alive
	for _, m := range n.d.Cluster.Placement().Members() {
		known[m.Name] = m
		seen[m.Name] = true
	}
	for {
		select {
		case <-n.quit:
			return
		case <-n.d.Cluster.Changes():
		}
		p := n.d.Cluster.Placement()
		self := n.d.Cluster.Self().Name
		for i := range n.shards {
			n.sendTo(i, &ownershipMsg{placement: p, self: self})
		}
		alive := map[string]cluster.Member{}
		merged := false
		for _, m := range p.Members() {
			alive[m.Name] = m
			if _, ok := known[m.Name]; !ok && seen[m.Name] {
				merged = true // back after being dead: a healed partition
			}
			seen[m.Name] = true
		}
		if merged {
			// Invalidations sent while the sides could not reach each other
			// are lost: forget every cached link (counters stay) and resolve
			// afresh from the owners and the link store.
			n.d.Cache.Clear()
			for i := range n.shards {
				n.sendTo(i, &ownershipMsg{placement: p, self: self, reset: true})
			}
			n.log.Info("cluster re-merged: link caches cleared", "members", len(alive))
		}
		for name, m := range known {
			if _, ok := alive[name]; ok || m.RemoteAddr == "" {
				continue
			}
			// Drop the remote connection to a member that left the alive set:
			// after a partition heals, a connection kept through the cut is
			// stale and loses messages (acks) until TCP resets it; the next
			// message dials afresh.
			n.system.EventStream.Publish(&remote.EndpointTerminatedEvent{Address: m.RemoteAddr})
		}
		for _, m := range n.d.Cluster.Members() {
			if _, wasKnown := known[m.Name]; wasKnown && alive[m.Name].Name == "" && m.Status == cluster.StatusDead {
				// Visits it acknowledged after its last completed flush may
				// not have reached the visit store: those within two flush
				// intervals (and a batch interval) of its last acknowledgement.
				lost := n.acks.recent(m.Name, 2*n.cfg.FlushInterval+n.cfg.BatchInterval)
				n.m.visitsAtRisk.Add(float64(lost))
				if lost > 0 {
					n.log.Warn("member died: visits it acknowledged may be lost", "member", m.Name, "visits_at_risk", lost)
				}
			}
		}
		known = alive
	}
}

// isAlive reports whether member name is in the current placement.
func (n *Node) isAlive(name string) bool {
	for _, m := range n.d.Cluster.Placement().Members() {
		if m.Name == name {
			return true
		}
	}
	return false
}

// ackLog remembers, per member, how many visits it acknowledged when, for
// the last couple of flush intervals.
type ackLog struct {
	mu sync.Mutex
	m  map[string][]ackRecord
}

type ackRecord struct {
	at     time.Time
	visits uint64
}

func (a *ackLog) add(member string, visits uint64, now time.Time, keep time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.m == nil {
		a.m = map[string][]ackRecord{}
	}
	rs := append(a.m[member], ackRecord{at: now, visits: visits})
	for len(rs) > 0 && now.Sub(rs[0].at) > keep {
		rs = rs[1:]
	}
	a.m[member] = rs
}

// recent is the visits member acknowledged within window of its last
// acknowledgement; it forgets member.
func (a *ackLog) recent(member string, window time.Duration) uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	rs := a.m[member]
	delete(a.m, member)
	if len(rs) == 0 {
		return 0
	}
	since := rs[len(rs)-1].at.Add(-window)
	var v uint64
	for _, r := range rs {
		if !r.at.Before(since) {
			v += r.visits
		}
	}
	return v
}

// Quiesce waits, after this node left the cluster, until no visit batch
// from another node has arrived for three batch intervals (their senders
// have moved to the new owners), or ctx ends.
func (n *Node) Quiesce(ctx context.Context) {
	quiet := 3 * n.cfg.BatchInterval
	t := time.NewTicker(n.cfg.BatchInterval / 2)
	defer t.Stop()
	start := time.Now()
	for {
		last := time.Unix(0, n.lastRemoteBatch.Load())
		if last.Before(start) && time.Since(start) >= quiet || time.Since(last) >= quiet && time.Since(start) >= quiet {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
