package actors

import (
	"sync"
	"time"
)

// ackLog remembers, per member, how many visits it acknowledged when, for
// the last couple of flush intervals: when a member dies, the visits it
// acknowledged since its last flush are at risk.
type ackLog struct {
	mu sync.Mutex
	m  map[string][]ackRecord
}

type ackRecord struct {
	at     time.Time
	visits uint64
}

// add records visits acknowledged by member at now and forgets records
// older than keep.
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
