package actors

import (
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
//
// Epochs are one generation counter per granularity, not one per bucket: a
// new total starts at the current generation, and every prune or reset that
// forgets a total moves the generation past it. So a bucket touched again
// after it was forgotten always gets a writer it never had, and nothing is
// remembered of a forgotten bucket (a walk over 1M links, each visited
// once, used to keep one epoch entry per forgotten total, and hash each
// with fmt.Sprintf).

// granularity is one table's bucket width and how long its totals are kept.
type granularity struct {
	// max bounds the totals kept (0: no bound): past it, the totals
	// touched least recently are forgotten (shed), down to 3/4 of max. A
	// bucket touched again after that starts a new writer, as after idle:
	// one more row, the sum still exact. The bound holds the flusher's
	// memory (~110-180 B a total, a dozen per link visited in the hour)
	// when more links are visited than the bound covers; the buckets
	// still being visited are the ones touched last, so they are kept.
	max     int
	width   int64 // seconds
	horizon int64 // buckets older than this (from the newest minute seen) are not tracked
	idle    int64 // a total not touched for this long is forgotten
	// every is how often (seconds of the newest minute) the totals are
	// pruned; 0 is once a minute. A prune looks at every total: the hour
	// and day tables, whose totals live hours, are pruned every 10
	// minutes (a total is forgotten up to that much later than idle).
	every int64
}

// maxTotals bounds each table's totals (granularity.max): about 25 MB
// for the minute table's and 30 MB each for the hour's and the day's.
// A total is kept while its bucket is being visited; 1<<18 rollup totals
// are the dimension values of ~40,000 links visited in the hour.
const maxTotals = 1 << 18

var (
	byMinute = granularity{width: 60, horizon: 30 * 60, idle: 30 * 60, max: maxTotals / 2}
	byHour   = granularity{width: 3600, horizon: 3 * 3600, idle: 2 * 3600, every: 600, max: maxTotals}
	byDay    = granularity{width: 86400, horizon: 2 * 86400, idle: 2 * 3600, every: 600, max: maxTotals}
)

// cumulativeHorizon is the minute table's horizon (tests).
const cumulativeHorizon = 30 * 60

type runningTotal struct {
	visits  uint64
	touched int64  // newest minute seen when last touched (idle)
	flush   uint64 // the table's flush that touched it last (max: the oldest are shed)
	epoch   uint32
	// out is the total's row in the rollup being built when flush is the
	// table's current flush (cumulative.rollup).
	out int32
}

// runningTotals keeps the totals of one granularity, keyed by K (a minute
// row's VisitKey, or a rollup row's RollupKey). Not safe for concurrent
// use: the flusher holds its mutex.
type runningTotals[K comparable] struct {
	g      granularity
	bucket func(K) int64
	code   func(K) string
	totals map[K]*runningTotal
	// gen is the epoch a new total starts at; it is moved past every epoch
	// a forgotten total had (forgot).
	gen     uint32
	flushes uint64 // flushes begun (begin)
	newest  int64
	pruned  int64
	shed    uint64 // totals forgotten past g.max, ever (tests, metrics)
	// ages is shedTo's histogram, reused.
	ages []int
}

func newRunningTotals[K comparable](g granularity, bucket func(K) int64, code func(K) string) *runningTotals[K] {
	return &runningTotals[K]{g: g, bucket: bucket, code: code, totals: map[K]*runningTotal{}}
}

// forgot records that a total of epoch e was forgotten: totals started from
// now on get a later epoch.
func (t *runningTotals[K]) forgot(e uint32) { t.gen = max(t.gen, e+1) }

// track gives the row of key k, with visits this flush, its running total
// and epoch; ok is false for a bucket beyond the horizon that is not
// tracked (the row then counts on its own).
func (t *runningTotals[K]) track(k K, visits uint64) (cum uint64, epoch uint32, ok bool) {
	tt, _ := t.total(k)
	if tt == nil {
		return 0, 0, false
	}
	tt.visits += visits
	return tt.visits, tt.epoch, true
}

// begin starts a flush: totals touched from now on are this flush's.
func (t *runningTotals[K]) begin() { t.flushes++ }

// total returns k's running total, touched, started if new; nil for a
// bucket beyond the horizon (not tracked). first is whether this is the
// flush's first touch of it.
func (t *runningTotals[K]) total(k K) (tt *runningTotal, first bool) {
	tt = t.totals[k]
	if tt == nil {
		if t.bucket(k) < t.newest-t.g.horizon {
			return nil, false
		}
		tt = &runningTotal{epoch: t.gen}
		t.totals[k] = tt
	}
	first = tt.flush != t.flushes
	tt.touched, tt.flush = t.newest, t.flushes
	return tt, first
}

// see records the newest minute of a flush, at most limit (the clock and a
// little slack): one row stamped far ahead must not push every current
// bucket beyond the horizon.
func (t *runningTotals[K]) see(minute, limit int64) { t.newest = max(t.newest, min(minute, limit)) }

// done prunes after a flush, at most once a minute (g.every), and sheds
// the least recently touched totals past g.max.
func (t *runningTotals[K]) done() {
	t.prune()
	if t.g.max > 0 && len(t.totals) > t.g.max {
		t.shedTo(t.g.max * 3 / 4)
	}
}

// maxAge is shedTo's oldest age class, in flushes: totals not touched for
// that many flushes or more are shed first, all alike.
const maxAge = 1024

// shedTo forgets the totals touched least recently (by flush) until keep
// remain: every total older than an age, and as many of that age as it
// takes. Amortised: a shed leaves room for g.max/4 new totals.
func (t *runningTotals[K]) shedTo(keep int) {
	if cap(t.ages) < maxAge {
		t.ages = make([]int, maxAge)
	}
	ages := t.ages[:maxAge]
	clear(ages)
	age := func(tt *runningTotal) uint64 { return min(t.flushes-tt.flush, maxAge-1) }
	for _, tt := range t.totals {
		ages[age(tt)]++
	}
	drop := len(t.totals) - keep
	cut, atCut := uint64(maxAge-1), 0 // shed every age > cut, and atCut of age cut
	for n := 0; ; cut-- {
		if n+ages[cut] >= drop || cut == 0 {
			atCut = min(drop-n, ages[cut])
			break
		}
		n += ages[cut]
	}
	for k, tt := range t.totals {
		a := age(tt)
		if a < cut {
			continue
		}
		if a == cut {
			if atCut == 0 {
				continue
			}
			atCut--
		}
		delete(t.totals, k)
		t.forgot(tt.epoch)
		t.shed++
	}
}

// prune forgets the totals beyond the horizon or idle, at most once a
// minute (g.every).
func (t *runningTotals[K]) prune() {
	every := t.g.every
	if every == 0 {
		every = 60
	}
	if t.newest-t.pruned < every {
		return
	}
	cutoff := t.newest - t.g.horizon
	for k, tt := range t.totals {
		switch {
		case t.bucket(k) < cutoff:
			delete(t.totals, k)
		case t.newest-tt.touched >= t.g.idle:
			delete(t.totals, k)
			t.forgot(tt.epoch)
		}
	}
	t.pruned = t.newest
}

// reset forgets code's totals (its visits are being deleted): its next
// rows count from zero under the next epoch, a writer no row from before
// the delete has, so nothing written before replaces or is replaced by
// what is counted after.
func (t *runningTotals[K]) reset(code string) {
	for k, tt := range t.totals {
		if t.code(k) == code {
			delete(t.totals, k)
			t.forgot(tt.epoch)
		}
	}
}

// cumulative is the flusher's running totals for the three tables.
type cumulative struct {
	minute    *runningTotals[storage.VisitKey]
	hour, day *runningTotals[storage.RollupKey]
	// scratch and tracked are rollup's, reused from flush to flush.
	scratch []storage.RollupCount
	tracked []*runningTotal
}

func newCumulative() *cumulative {
	vb := func(k storage.VisitKey) int64 { return k.Minute }
	vc := func(k storage.VisitKey) string { return k.Code }
	rb := func(k storage.RollupKey) int64 { return k.Bucket }
	rc := func(k storage.RollupKey) string { return k.Code }
	return &cumulative{
		minute: newRunningTotals(byMinute, vb, vc),
		hour:   newRunningTotals(byHour, rb, rc),
		day:    newRunningTotals(byDay, rb, rc),
	}
}

// aheadSlack is how far ahead of the clock a minute may move the horizon.
const aheadSlack = 5 * 60

// apply sets the minute rows' running totals (rows: one per key) and
// returns the hourly and daily rollup rows of the same visits; now is the
// clock (unix seconds).
func (c *cumulative) apply(rows []storage.VisitCount, now int64) (hourly, daily []storage.RollupCount) {
	c.minute.begin()
	for _, r := range rows {
		c.minute.see(r.Minute, now+aheadSlack)
		c.hour.see(r.Minute, now+aheadSlack)
		c.day.see(r.Minute, now+aheadSlack)
	}
	for i := range rows {
		r := &rows[i]
		r.Cumulative, r.Epoch, _ = c.minute.track(r.VisitKey, r.Visits)
	}
	c.minute.done()
	return c.rollup(c.hour, rows, 3600), c.rollup(c.day, rows, 86400)
}

// rollup returns the rollup rows of rows in t's buckets: one per key, with
// this flush's visits and the running total. Each generated row is looked
// up once: a total already in this flush's output is added to in place
// (no map of the output, no intermediate slice of every generated row).
func (c *cumulative) rollup(t *runningTotals[storage.RollupKey], rows []storage.VisitCount, width int64) []storage.RollupCount {
	t.begin()
	out := make([]storage.RollupCount, 0, len(rows)*2)
	tracked := c.tracked[:0]          // out[i]'s total; nil: not tracked
	var own map[storage.RollupKey]int // untracked rows (beyond the horizon), by key
	for _, r := range rows {
		c.scratch = storage.Rollups(c.scratch[:0], r, width)
		for _, rc := range c.scratch {
			k := rc.Key()
			tt, first := t.total(k)
			if tt == nil {
				if i, ok := own[k]; ok {
					out[i].Visits += rc.Visits
					continue
				}
				if own == nil {
					own = map[storage.RollupKey]int{}
				}
				own[k] = len(out)
				out = append(out, rc)
				tracked = append(tracked, nil)
				continue
			}
			tt.visits += rc.Visits
			if !first {
				out[tt.out].Visits += rc.Visits
				continue
			}
			tt.out = int32(len(out))
			out = append(out, rc)
			tracked = append(tracked, tt)
		}
	}
	for i, tt := range tracked {
		if tt != nil {
			out[i].Cumulative, out[i].Epoch = tt.visits, tt.epoch
		}
	}
	clear(tracked) // no pointers kept past the flush
	c.tracked = tracked[:0]
	t.done()
	return out
}

func (c *cumulative) reset(code string) {
	c.minute.reset(code)
	c.hour.reset(code)
	c.day.reset(code)
}
