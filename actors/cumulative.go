package actors

import "github.com/minibitly/minibitly/storage"

// cumulativeHorizon is how far back (seconds, from the newest minute seen)
// the flusher keeps each bucket's running total. A row for an older bucket
// it no longer tracks (a late retry, a replay after an outage) is written
// on its own (Cumulative 0): exact, one extra row.
const cumulativeHorizon = 30 * 60

// cumulative keeps this node's running total per bucket for recent
// minutes, so that every flush can write a bucket's total so far: the
// ClickHouse sink keeps the newest row per bucket and node (a
// ReplacingMergeTree versioned by the flush sequence), so a bucket has one
// row per writing node instead of one per flush. Not safe for concurrent
// use: the flusher holds its mutex.
type cumulative struct {
	totals map[storage.VisitKey]uint64
	newest int64
	pruned int64 // the newest minute at the last prune
}

func newCumulative() *cumulative {
	return &cumulative{totals: make(map[storage.VisitKey]uint64)}
}

// apply sets each row's Cumulative: its bucket's total so far, this batch
// included; 0 for a bucket older than the horizon that is not tracked.
// rows are the flusher's own (one per key, as collected).
func (c *cumulative) apply(rows []storage.VisitCount) {
	for _, r := range rows {
		c.newest = max(c.newest, r.Minute)
	}
	cutoff := c.newest - cumulativeHorizon
	for i := range rows {
		r := &rows[i]
		t, ok := c.totals[r.VisitKey]
		if !ok && r.Minute < cutoff {
			r.Cumulative = 0
			continue
		}
		t += r.Visits
		c.totals[r.VisitKey] = t
		r.Cumulative = t
	}
	if c.newest-c.pruned >= 60 {
		c.prune(cutoff)
	}
}

func (c *cumulative) prune(cutoff int64) {
	for k := range c.totals {
		if k.Minute < cutoff {
			delete(c.totals, k)
		}
	}
	c.pruned = c.newest
}

// reset forgets code's totals (its visits were deleted): its next rows
// count from zero, and replace whatever row a batch in flight wrote after
// the delete.
func (c *cumulative) reset(code string) {
	for k := range c.totals {
		if k.Code == code {
			delete(c.totals, k)
		}
	}
}
