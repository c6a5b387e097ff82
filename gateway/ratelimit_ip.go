package gateway

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Rate is a request rate, N requests per Per; the zero Rate is "off" (no
// limit). Its text form is "N/s", "N/m" or "off" (also "0"), so a Rate is
// a flag.Value.
type Rate struct {
	N   int
	Per time.Duration // time.Second or time.Minute when N > 0
}

// Off reports whether r sets no limit.
func (r Rate) Off() bool { return r.N == 0 }

func (r Rate) String() string {
	switch {
	case r.N == 0:
		return "off"
	case r.Per == time.Minute:
		return strconv.Itoa(r.N) + "/m"
	default:
		return strconv.Itoa(r.N) + "/s"
	}
}

// Set parses "N/s", "N/m", "0" or "off".
func (r *Rate) Set(s string) error {
	p, err := ParseRate(s)
	if err != nil {
		return err
	}
	*r = p
	return nil
}

// Get returns the Rate (flag.Getter).
func (r *Rate) Get() any { return *r }

// ParseRate parses "N/s", "N/m", "0" or "off".
func ParseRate(s string) (Rate, error) {
	s = strings.TrimSpace(s)
	if s == "0" || s == "off" {
		return Rate{}, nil
	}
	n, unit, ok := strings.Cut(s, "/")
	var per time.Duration
	switch unit {
	case "s":
		per = time.Second
	case "m":
		per = time.Minute
	default:
		ok = false
	}
	v, err := strconv.Atoi(n)
	if !ok || err != nil || v < 0 || v > 1e9 {
		return Rate{}, fmt.Errorf("rate %q: want N/s, N/m, 0 or off", s)
	}
	if v == 0 {
		return Rate{}, nil
	}
	return Rate{N: v, Per: per}, nil
}

// burst is one second's worth of r, at least 1.
func (r Rate) burst() int {
	b := int(int64(r.N) * int64(time.Second) / int64(r.Per))
	return max(b, 1)
}

// ipLimiter is a GCRA limiter (one "theoretical arrival time" per client)
// keyed by a 16-byte client address (clientKey). It is split across the
// cluster: each node allows limit ÷ alive members, with a burst of
// burst ÷ alive (at least 1), so a client spread evenly over the nodes gets
// at most the limit (plus at most max(burst, alive) extra requests), while a
// client pinned to one node gets limit ÷ alive (docs/cluster.md).
//
// State lives in ipShards mutex-striped shards. The hot path takes its
// shard's read lock and updates the client's slot with a compare-and-swap:
// no global lock, no allocation once the client has a slot. A shard holds
// at most ipShardSlots clients; when full, clients whose bucket has refilled
// (equivalent to new ones) are swept, and if too few have, arbitrary ones
// are evicted (a flood of more addresses than that is not held back).
type ipLimiter struct {
	rate  Rate
	burst int
	p     atomic.Pointer[gcraParams]
	alive atomic.Int64
	shard [ipShards]ipShard
}

// gcraParams are the node's share of the limit for the current alive count.
type gcraParams struct {
	interval int64 // nanoseconds between requests at the node's rate
	tau      int64 // burst tolerance: (node burst - 1) × interval
}

const (
	ipShards     = 256
	ipShardSlots = 4096 // per shard: about 1M clients per limiter in all
)

type ipShard struct {
	mu    sync.RWMutex
	idx   map[clientKey]uint32
	tat   []int64 // theoretical arrival time (unix nanos) per slot; atomic
	free  []uint32
	limit int // slots; ipShardSlots but for tests
	_     [24]byte
}

func newIPLimiter(r Rate, alive int) *ipLimiter {
	l := &ipLimiter{rate: r, burst: r.burst()}
	for i := range l.shard {
		l.shard[i].idx = map[clientKey]uint32{}
		l.shard[i].limit = ipShardSlots
	}
	l.setAlive(alive)
	return l
}

// setAlive sets the number of alive members the limit is split over.
func (l *ipLimiter) setAlive(n int) {
	n = max(n, 1)
	if l.alive.Swap(int64(n)) == int64(n) && l.p.Load() != nil {
		return
	}
	interval := int64(l.rate.Per) * int64(n) / int64(l.rate.N)
	b := max(l.burst/n, 1)
	l.p.Store(&gcraParams{interval: interval, tau: int64(b-1) * interval})
}

// allow counts one request of k at now (unix nanos); when refused it
// returns how long until one more request would be allowed.
func (l *ipLimiter) allow(k clientKey, now int64) (bool, time.Duration) {
	p := l.p.Load()
	sh := &l.shard[k.shard()]
	sh.mu.RLock()
	i, ok := sh.idx[k]
	if ok {
		slot := &sh.tat[i]
		for {
			old := atomic.LoadInt64(slot)
			tat := max(old, now)
			if wait := tat - now - p.tau; wait > 0 {
				sh.mu.RUnlock()
				return false, time.Duration(wait)
			}
			if atomic.CompareAndSwapInt64(slot, old, tat+p.interval) {
				sh.mu.RUnlock()
				return true, 0
			}
		}
	}
	sh.mu.RUnlock()
	return sh.insert(k, now, p)
}

// insert gives k a slot (the first request of k allowed) under the write
// lock; another request may have inserted it meanwhile.
func (sh *ipShard) insert(k clientKey, now int64, p *gcraParams) (bool, time.Duration) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if i, ok := sh.idx[k]; ok {
		tat := max(sh.tat[i], now)
		if wait := tat - now - p.tau; wait > 0 {
			return false, time.Duration(wait)
		}
		sh.tat[i] = tat + p.interval
		return true, 0
	}
	if len(sh.idx) >= sh.limit {
		sh.sweep(now)
	}
	var i uint32
	switch {
	case len(sh.free) > 0:
		i = sh.free[len(sh.free)-1]
		sh.free = sh.free[:len(sh.free)-1]
	default:
		i = uint32(len(sh.tat))
		sh.tat = append(sh.tat, 0)
	}
	sh.idx[k] = i
	sh.tat[i] = now + p.interval
	return true, 0
}

// sweep frees the slots of clients whose bucket has refilled; when fewer
// than an eighth of the slots free up that way, it frees arbitrary clients'
// (their next request starts afresh) up to that eighth, so a flood of new
// addresses costs one sweep per limit/8 of them, not one per address.
func (sh *ipShard) sweep(now int64) {
	for k, i := range sh.idx {
		if sh.tat[i] <= now {
			delete(sh.idx, k)
			sh.free = append(sh.free, i)
		}
	}
	target := sh.limit - max(sh.limit/8, 1)
	for k, i := range sh.idx {
		if len(sh.idx) <= target {
			return
		}
		delete(sh.idx, k)
		sh.free = append(sh.free, i)
	}
}

// len is the number of clients tracked (tests).
func (l *ipLimiter) len() int {
	n := 0
	for i := range l.shard {
		sh := &l.shard[i]
		sh.mu.RLock()
		n += len(sh.idx)
		sh.mu.RUnlock()
	}
	return n
}
