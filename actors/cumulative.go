package actors

import (
	"github.com/cespare/xxhash/v2"
	"github.com/minibitly/minibitly/storage"
)

// Running totals per bucket (docs/storage.md, "Rows bounded by what they
// describe"): every flush writes, for each bucket it touches, this node's
// total of the bucket so far; the ClickHouse sink keeps the newest row per
// bucket and writer, so a bucket has one row per writer, not one per flush.
//
// A bucket's total is kept while the bucket is recent (horizon) and was
// touched lately (idle). One that went idle is forgotten, and should it be
// touched again it starts a new writer (its epoch, a node_id suffix), whose
// row adds to the old one; one older than the horizon is written on its own
// (Cumulative 0: the batch's visits of it, under a writer of its own).
// Either way the sum stays exact.

// granularity is one table's bucket width and how long its totals are kept.
type granularity struct {
	width   int64 // seconds
	horizon int64 // buckets older than this (from the newest minute seen) are not tracked
	idle    int64 // a total not touched for this long is forgotten
}

var (
	byMinute = granularity{width: 60, horizon: 30 * 60, idle: 30 * 60}
	byHour   = granularity{width: 3600, horizon: 3 * 3600, idle: 2 * 3600}
	byDay    = granularity{width: 86400, horizon: 2 * 86400, idle: 2 * 3600}
)

// cumulativeHorizon is the minute table's horizon (tests).
const cumulativeHorizon = 30 * 60

type epochOf struct {
	epoch  uint32
	bucket int64
}

type runningTotal struct {
	visits  uint64
	touched int64 // newest minute seen when last touched
	epoch   uint32
}

// runningTotals keeps the totals of one granularity. Not safe for
// concurrent use: the flusher holds its mutex.
type runningTotals struct {
	g      granularity
	totals map[storage.VisitKey]*runningTotal
	// epochs remembers, per forgotten bucket (by key hash) still within the
	// horizon, the epoch its next total starts.
	epochs map[uint64]epochOf
	newest int64
	pruned int64
}

func newRunningTotals(g granularity) *runningTotals {
	return &runningTotals{g: g, totals: map[storage.VisitKey]*runningTotal{}, epochs: map[uint64]epochOf{}}
}

func keyHash(k storage.VisitKey) uint64 {
	d := xxhash.New()
	d.WriteString(k.Code)
	var b [9]byte
	for i := range 8 {
		b[i] = byte(k.Minute >> (8 * i))
	}
	if k.Bot {
		b[8] = 1
	}
	d.Write(b[:])
	for _, s := range []string{k.Referrer, k.Device, k.Browser, k.OS, k.Country} {
		d.WriteString("\x00")
		d.WriteString(s)
	}
	return d.Sum64()
}

// apply returns rows re-keyed to this granularity's buckets (one per
// bucket), each with its running total and epoch.
func (t *runningTotals) apply(rows []storage.VisitCount) []storage.VisitCount {
	for _, r := range rows {
		t.newest = max(t.newest, r.Minute)
	}
	cutoff := t.newest - t.g.horizon
	idx := make(map[storage.VisitKey]int, len(rows))
	var out []storage.VisitCount
	for _, r := range rows {
		k := r.VisitKey
		k.Minute -= k.Minute % t.g.width
		if i, ok := idx[k]; ok {
			out[i].Visits += r.Visits
			continue
		}
		idx[k] = len(out)
		out = append(out, storage.VisitCount{VisitKey: k, Visits: r.Visits})
	}
	for i := range out {
		r := &out[i]
		tt := t.totals[r.VisitKey]
		if tt == nil {
			if r.Minute < cutoff {
				continue // on its own
			}
			h := keyHash(r.VisitKey)
			tt = &runningTotal{epoch: t.epochs[h].epoch}
			delete(t.epochs, h)
			t.totals[r.VisitKey] = tt
		}
		tt.visits += r.Visits
		tt.touched = t.newest
		r.Cumulative, r.Epoch = tt.visits, tt.epoch
	}
	if t.newest-t.pruned >= 60 {
		t.prune(cutoff)
	}
	return out
}

func (t *runningTotals) prune(cutoff int64) {
	for k, tt := range t.totals {
		switch {
		case k.Minute < cutoff:
			delete(t.totals, k)
		case t.newest-tt.touched >= t.g.idle:
			delete(t.totals, k)
			// Never lower an epoch (two buckets sharing a hash): a bucket
			// must not get back a writer it had.
			h := keyHash(k)
			e := t.epochs[h]
			t.epochs[h] = epochOf{epoch: max(e.epoch, tt.epoch+1), bucket: max(e.bucket, k.Minute)}
		}
	}
	for h, e := range t.epochs {
		if e.bucket < cutoff { // its rows are written on their own from now on
			delete(t.epochs, h)
		}
	}
	t.pruned = t.newest
}

// reset forgets code's totals (its visits were deleted): its next rows
// count from zero, and replace whatever a batch in flight wrote after the
// delete.
func (t *runningTotals) reset(code string) {
	for k := range t.totals {
		if k.Code == code {
			delete(t.totals, k)
		}
	}
}

// cumulative is the flusher's running totals for the three tables.
type cumulative struct{ minute, hour, day *runningTotals }

func newCumulative() *cumulative {
	return &cumulative{newRunningTotals(byMinute), newRunningTotals(byHour), newRunningTotals(byDay)}
}

// apply sets the minute rows' running totals and returns the hourly and
// daily rows of the same visits.
func (c *cumulative) apply(rows []storage.VisitCount) (hourly, daily []storage.VisitCount) {
	minute := c.minute.apply(rows)
	copy(rows, minute) // rows are one per key already: same order
	return c.hour.apply(rows), c.day.apply(rows)
}

func (c *cumulative) reset(code string) {
	c.minute.reset(code)
	c.hour.reset(code)
	c.day.reset(code)
}
