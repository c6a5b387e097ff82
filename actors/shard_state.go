package actors

import (
	"cmp"
	"slices"

	"github.com/minibitly/minibitly/internal/nearcache"
	"github.com/minibitly/minibitly/storage"
)

// linkState is what a shard knows about one code.
type linkState struct {
	entry *nearcache.Entry // nil until loaded
	// used counts visits of a limited link: the stored total when loaded
	// plus every visit admitted since.
	used      uint64
	maxVisits int64
	// load is the load in flight (nil: none). Kept apart so a cached link
	// costs 32 bytes here, not 64 (issue 13: heap per cached link).
	load *loadState
}

// loadState is a link's load in flight.
type loadState struct {
	waiters []waiter // requests waiting for the load
	// dropOnLoad: invalidated while the load was in flight; its result
	// answers the waiters but is not kept.
	dropOnLoad bool
}

// loading reports whether a load of the link is in flight.
func (ls *linkState) loading() bool { return ls.load != nil }

// waiter is a request parked until its code's load completes.
type waiter struct {
	to     any // where the answer goes (the actor's sender PID)
	admit  bool
	remote bool // the requester is on another node: answer in protobuf
}

// shardState is the single-threaded state of one shard: the links it owns
// and the visit aggregates not yet flushed. Not safe for concurrent use; the
// shard actor serialises access.
type shardState struct {
	links    map[string]*linkState
	pending  map[storage.VisitKey]uint64
	byCode   map[string]uint64 // pending visits per code, for live totals
	maxLinks int
	// refCap bounds the distinct referrer hosts kept per code per minute;
	// refs holds the hosts kept so far (across flushes) and newest the
	// latest minute seen, from which old minutes are forgotten.
	refCap int
	refs   map[codeMinute]map[string]struct{}
	newest int64
	sorted []storage.VisitCount // scratch: a batch by visits, descending
}

type codeMinute struct {
	code   string
	minute int64
}

// refMemory is how far back (seconds) the kept referrer hosts of a minute
// are remembered: rows for older minutes (a batch retried that late) start
// a fresh set, so the cap can then be exceeded once for that minute.
const refMemory = 300

func newShardState(maxLinks int) *shardState {
	return &shardState{
		links:    make(map[string]*linkState),
		pending:  make(map[storage.VisitKey]uint64),
		byCode:   make(map[string]uint64),
		maxLinks: maxLinks,
		refCap:   DefaultConfig().ReferrersPerMinute,
		refs:     make(map[codeMinute]map[string]struct{}),
	}
}

// addVisits merges a batch of visit counts. The Referer header is chosen
// by the visitor, so a code keeps at most refCap distinct referrer hosts in
// a minute: the first hosts seen, the most visited first within a batch;
// the visits of any other host are counted under storage.OtherReferrer.
// Totals and every other dimension stay exact. rows is not modified (the
// sender may still hold it for a retry).
func (s *shardState) addVisits(rows []storage.VisitCount) {
	if len(rows) > 1 {
		s.sorted = append(s.sorted[:0], rows...)
		slices.SortFunc(s.sorted, func(a, b storage.VisitCount) int { return cmp.Compare(b.Visits, a.Visits) })
		rows = s.sorted
	}
	for _, r := range rows {
		if r.Referrer != "" {
			r.Referrer = s.keepReferrer(r.Code, r.Minute, r.Referrer)
		}
		s.pending[r.VisitKey] += r.Visits
		s.byCode[r.Code] += r.Visits
	}
}

// keepReferrer returns ref, or storage.OtherReferrer when the code already
// keeps refCap other hosts in that minute.
func (s *shardState) keepReferrer(code string, minute int64, ref string) string {
	if minute > s.newest {
		s.newest = minute
	}
	k := codeMinute{code, minute}
	kept := s.refs[k]
	if _, ok := kept[ref]; ok {
		return ref
	}
	if len(kept) >= s.refCap {
		return storage.OtherReferrer
	}
	if kept == nil {
		kept = make(map[string]struct{})
		s.refs[k] = kept
	}
	kept[ref] = struct{}{}
	return ref
}

// drain returns every pending aggregate and forgets them.
func (s *shardState) drain() []storage.VisitCount {
	if len(s.pending) == 0 {
		return nil
	}
	out := make([]storage.VisitCount, 0, len(s.pending))
	for k, v := range s.pending {
		out = append(out, storage.VisitCount{VisitKey: k, Visits: v})
	}
	clear(s.pending)
	clear(s.byCode)
	for k := range s.refs {
		if k.minute < s.newest-refMemory {
			delete(s.refs, k)
		}
	}
	return out
}

// pendingVisits is the number of visits of code not yet drained.
func (s *shardState) pendingVisits(code string) uint64 { return s.byCode[code] }

// lookup returns the state of a loaded code, or nil.
func (s *shardState) lookup(code string) *linkState {
	ls := s.links[code]
	if ls == nil || ls.entry == nil {
		return nil
	}
	return ls
}

// park records a waiter for code and reports whether a load must start
// (true for the first waiter).
func (s *shardState) park(code string, w waiter) bool {
	ls := s.links[code]
	if ls == nil {
		ls = &linkState{}
		s.links[code] = ls
	}
	if ls.load != nil {
		ls.load.waiters = append(ls.load.waiters, w)
		return false
	}
	ls.load = &loadState{waiters: []waiter{w}}
	return true
}

// loaded completes a load: it stores the entry (nil when the link does not
// exist, which is not cached) and returns the parked waiters.
func (s *shardState) loaded(code string, e *nearcache.Entry, maxVisits int64, used uint64) ([]waiter, *linkState) {
	ls := s.links[code]
	if ls == nil {
		return nil, nil
	}
	var ws []waiter
	drop := false
	if ls.load != nil {
		ws, drop = ls.load.waiters, ls.load.dropOnLoad
	}
	ls.load = nil
	if e == nil || drop {
		delete(s.links, code)
		if e == nil {
			return ws, nil
		}
		return ws, &linkState{entry: e, maxVisits: maxVisits, used: used}
	}
	ls.entry, ls.maxVisits, ls.used = e, maxVisits, used
	s.evict(code)
	return ws, ls
}

// evict keeps the number of cached links under maxLinks by dropping
// arbitrary idle ones (never keep, never one with a load in flight).
func (s *shardState) evict(keep string) {
	if s.maxLinks <= 0 || len(s.links) <= s.maxLinks {
		return
	}
	for code, ls := range s.links {
		if code != keep && !ls.loading() {
			delete(s.links, code)
			if len(s.links) <= s.maxLinks {
				return
			}
		}
	}
}

// admit decides one visit of a limited link: allowed while used < max.
func (s *shardState) admit(ls *linkState) bool {
	if ls.maxVisits > 0 && ls.used >= uint64(ls.maxVisits) {
		return false
	}
	ls.used++
	return true
}

// invalidate forgets code's link (its visit counters stay).
func (s *shardState) invalidate(code string) {
	ls := s.links[code]
	switch {
	case ls == nil:
	case ls.loading():
		ls.load.dropOnLoad = true
	default:
		delete(s.links, code)
	}
}

// dropNotOwned forgets the links this shard no longer owns (membership
// changed); loads in flight finish and are dropped by the next change.
func (s *shardState) dropNotOwned(owned func(code string) bool) {
	for code, ls := range s.links {
		if !ls.loading() && !owned(code) {
			delete(s.links, code)
		}
	}
}
