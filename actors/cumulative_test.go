package actors

import (
	"fmt"
	"testing"

	"github.com/minibitly/minibitly/storage"
)

func cumRow(code string, minute int64, n uint64) storage.VisitCount {
	return storage.VisitCount{VisitKey: storage.VisitKey{Code: code, Minute: minute}, Visits: n}
}

func TestCumulative_RunningTotals(t *testing.T) {
	c := newCumulative()
	const m = 1_700_000_040
	rows := []storage.VisitCount{cumRow("a", m, 3), cumRow("b", m, 1)}
	c.apply(rows, 1<<40)
	if rows[0].Cumulative != 3 || rows[1].Cumulative != 1 {
		t.Fatalf("first flush: %+v", rows)
	}
	rows = []storage.VisitCount{cumRow("a", m, 2), cumRow("a", m+60, 5)}
	c.apply(rows, 1<<40)
	if rows[0].Cumulative != 5 || rows[1].Cumulative != 5 {
		t.Fatalf("second flush: %+v", rows)
	}
	// Far ahead: the old minute is pruned; a late row for it counts on its own.
	c.apply([]storage.VisitCount{cumRow("z", m+2*cumulativeHorizon, 1)}, 1<<40)
	late := []storage.VisitCount{cumRow("a", m, 4)}
	c.apply(late, 1<<40)
	if late[0].Cumulative != 0 {
		t.Fatalf("a bucket beyond the horizon got running total %d, want 0 (on its own)", late[0].Cumulative)
	}
	// Reset: the code's totals count from zero.
	r := []storage.VisitCount{cumRow("z", m+2*cumulativeHorizon, 1)}
	c.reset("z")
	c.apply(r, 1<<40)
	if r[0].Cumulative != 1 {
		t.Fatalf("after reset: %d, want 1", r[0].Cumulative)
	}
}

func TestMergeRows_KeepsOwnRowsApart(t *testing.T) {
	tracked := cumRow("a", 60, 2)
	tracked.Cumulative = 9
	own := cumRow("a", 60, 3)
	later := cumRow("a", 60, 1)
	later.Cumulative = 10
	got := mergeRows([]storage.VisitCount{tracked}, []storage.VisitCount{own, later})
	if len(got) != 2 || got[0].Visits != 3 || got[0].Cumulative != 10 || got[1].Visits != 3 || got[1].Cumulative != 0 {
		t.Fatalf("merged %+v", got)
	}
}

func TestJournal_FlushRecordsKeepRunningTotals(t *testing.T) {
	l := newMemLog()
	j := testJournal(t, l)
	r := cumRow("a", 60, 2)
	r.Cumulative = 7
	j.flush(storage.VisitBatch{NodeID: "n#1", Seq: 1, Rows: []storage.VisitCount{r}}, 0)
	_, rep := reopen(t, l)
	if len(rep.flushes) != 1 || rep.flushes[0].b.Rows[0].Cumulative != 7 {
		t.Fatalf("replayed %+v", rep.flushes)
	}
	// A flush record of the earlier version (no totals) reads back with none.
	l2 := newMemLog()
	var e encoder
	e.str("n#0")
	e.uint(3)
	e.uint(0)
	e.rows([]storage.VisitCount{cumRow("b", 60, 4)})
	l2.Append(recFlush, e.b)
	_, rep = reopen(t, l2)
	if len(rep.flushes) != 1 || rep.flushes[0].b.Rows[0].Visits != 4 || rep.flushes[0].b.Rows[0].Cumulative != 0 {
		t.Fatalf("replayed %+v", rep.flushes)
	}
}

// A day bucket idle for longer than the idle time is forgotten; touched
// again the same day it continues under the next epoch (a new writer), so
// its first row is never replaced by a smaller total.
func TestRunningTotals_IdleBucketStartsANewEpoch(t *testing.T) {
	c := newCumulative()
	const day = 1_700_006_400 - 1_700_006_400%86400
	total := func(rows []storage.RollupCount, code string) storage.RollupCount {
		for _, r := range rows {
			if r.Code == code && r.Dim == storage.RollupTotal {
				return r
			}
		}
		t.Fatalf("no total row of %s in %+v", code, rows)
		return storage.RollupCount{}
	}
	_, daily := c.apply([]storage.VisitCount{cumRow("a", day+60, 5)}, 1<<40)
	if r := total(daily, "a"); r.Cumulative != 5 || r.Epoch != 0 || r.Bucket != day {
		t.Fatalf("first: %+v", r)
	}
	// Three hours of other traffic: a's day total goes idle and is pruned.
	for m := int64(day + 120); m < day+3*3600; m += 600 {
		c.apply([]storage.VisitCount{cumRow("b", m, 1)}, 1<<40)
	}
	_, daily = c.apply([]storage.VisitCount{cumRow("a", day+3*3600+60, 2)}, 1<<40)
	if r := total(daily, "a"); r.Cumulative != 2 || r.Epoch != 1 {
		t.Fatalf("after idle: %+v, want total 2 under epoch 1", r)
	}
	// Beyond the horizon (2 days later): on its own.
	c.apply([]storage.VisitCount{cumRow("b", day+3*86400, 1)}, 1<<40)
	_, daily = c.apply([]storage.VisitCount{cumRow("a", day+3600, 4)}, 1<<40)
	if r := total(daily, "a"); r.Cumulative != 0 {
		t.Fatalf("a bucket beyond the horizon: %+v, want on its own", r)
	}
	// One rollup row per dimension value, and one for bots only when a bot.
	bot := cumRow("z", day+3*86400, 1)
	bot.Bot, bot.Referrer = true, "t.co"
	hourly, _ := c.apply([]storage.VisitCount{bot}, 1<<40)
	dims := map[string]string{}
	for _, r := range hourly {
		dims[r.Dim] = r.Value
	}
	if len(hourly) != 7 || dims[storage.RollupBots] != "1" || dims[storage.RollupReferrer] != "t.co" {
		t.Fatalf("rollup rows of one bot visit: %+v", hourly)
	}
}

// TestCumulative_ForgottenBucketsNeverReuseAWriter: a total forgotten while
// idle starts again under an epoch the bucket never had, however often it
// is forgotten, and a reset moves it on too; a bucket touched all along
// keeps its epoch.
func TestCumulative_ForgottenBucketsNeverReuseAWriter(t *testing.T) {
	const m = 1_700_000_040
	g := granularity{width: 86400, horizon: 1 << 40, idle: 120}
	tt := newRunningTotals(g, func(k storage.VisitKey) int64 { return k.Minute }, func(k storage.VisitKey) string { return k.Code })
	a, b := storage.VisitKey{Code: "a", Minute: m}, storage.VisitKey{Code: "b", Minute: m}
	now := int64(m)
	flush := func(keys ...storage.VisitKey) (epochs []uint32) {
		tt.see(now, now)
		for _, k := range keys {
			cum, e, ok := tt.track(k, 1)
			if !ok {
				t.Fatalf("%v not tracked", k)
			}
			if k == a && cum != 1 {
				t.Fatalf("a's total after it was forgotten = %d, want 1 (a new writer starts from zero)", cum)
			}
			epochs = append(epochs, e)
		}
		tt.done()
		now += 60
		return epochs
	}
	seen := map[uint32]bool{}
	var bEpoch uint32
	for round := 0; round < 4; round++ {
		e := flush(a, b)
		if seen[e[0]] {
			t.Fatalf("round %d: epoch %d again for a bucket whose total was forgotten", round, e[0])
		}
		seen[e[0]] = true
		if round > 0 && e[1] != bEpoch {
			t.Fatalf("round %d: a bucket touched all along changed epoch: %d → %d", round, bEpoch, e[1])
		}
		bEpoch = e[1]
		for range 4 { // a idles past g.idle (and is forgotten), b stays touched
			flush(b)
		}
		if _, ok := tt.totals[a]; ok {
			t.Fatalf("round %d: a's idle total was not forgotten", round)
		}
	}
	tt.reset("b")
	if e := flush(b); e[0] == bEpoch {
		t.Fatalf("after reset b kept epoch %d", bEpoch)
	}
}

// TestCumulative_RollupMergesRowsOfOneKey: minute rows that share a rollup
// key (an hour, a dimension value) give one row with their visits summed
// and the running total, within a flush and across flushes; rows beyond
// the horizon are merged too, on their own.
func TestCumulative_RollupMergesRowsOfOneKey(t *testing.T) {
	c := newCumulative()
	const h = 1_700_002_800 // a whole hour
	row := func(minute int64, ref string, n uint64) storage.VisitCount {
		r := cumRow("a", minute, n)
		r.Referrer = ref
		return r
	}
	find := func(rows []storage.RollupCount, dim, value string) storage.RollupCount {
		t.Helper()
		var got []storage.RollupCount
		for _, r := range rows {
			if r.Dim == dim && r.Value == value {
				got = append(got, r)
			}
		}
		if len(got) != 1 {
			t.Fatalf("%d rows for %s=%q in %+v, want 1", len(got), dim, value, rows)
		}
		return got[0]
	}
	hourly, _ := c.apply([]storage.VisitCount{row(h, "x.com", 2), row(h+60, "y.com", 3), row(h+120, "x.com", 4)}, 1<<40)
	if r := find(hourly, storage.RollupTotal, ""); r.Visits != 9 || r.Cumulative != 9 {
		t.Fatalf("hour total: %+v, want 9 visits, total 9", r)
	}
	if r := find(hourly, storage.RollupReferrer, "x.com"); r.Visits != 6 || r.Cumulative != 6 {
		t.Fatalf("x.com: %+v, want 6 visits, total 6", r)
	}
	hourly, _ = c.apply([]storage.VisitCount{row(h+180, "y.com", 1), row(h+240, "y.com", 1)}, 1<<40)
	if r := find(hourly, storage.RollupReferrer, "y.com"); r.Visits != 2 || r.Cumulative != 5 {
		t.Fatalf("y.com, second flush: %+v, want 2 visits, total 5", r)
	}
	if r := find(hourly, storage.RollupTotal, ""); r.Visits != 2 || r.Cumulative != 11 {
		t.Fatalf("hour total, second flush: %+v, want 2 visits, total 11", r)
	}
	// Far ahead: the hour leaves the horizon; late rows of it count on their own, merged.
	c.apply([]storage.VisitCount{cumRow("z", h+10*3600, 1)}, 1<<40)
	hourly, _ = c.apply([]storage.VisitCount{row(h, "x.com", 1), row(h+60, "x.com", 2)}, 1<<40)
	if r := find(hourly, storage.RollupTotal, ""); r.Visits != 3 || r.Cumulative != 0 {
		t.Fatalf("late rows: %+v, want 3 visits on their own", r)
	}
}

// TestRunningTotals_ShedsTheLeastRecentlyTouched: past max, the totals
// touched longest ago are forgotten (down to 3/4 of max), the ones touched
// since are kept with their totals, and a shed bucket touched again starts
// a new writer from zero.
func TestRunningTotals_ShedsTheLeastRecentlyTouched(t *testing.T) {
	const m = 1_700_000_040
	g := granularity{width: 60, horizon: 1 << 40, idle: 1 << 40, max: 8}
	tt := newRunningTotals(g, func(k storage.VisitKey) int64 { return k.Minute }, func(k storage.VisitKey) string { return k.Code })
	key := func(i int) storage.VisitKey { return storage.VisitKey{Code: fmt.Sprintf("k%d", i), Minute: m} }
	flush := func(keys ...int) (cum map[int]uint64, epoch map[int]uint32) {
		cum, epoch = map[int]uint64{}, map[int]uint32{}
		tt.begin()
		tt.see(m, m)
		for _, i := range keys {
			c, e, ok := tt.track(key(i), 1)
			if !ok {
				t.Fatalf("k%d not tracked", i)
			}
			cum[i], epoch[i] = c, e
		}
		tt.done()
		return cum, epoch
	}
	_, e1 := flush(0, 1, 2, 3, 4, 5)
	flush(0, 1, 6, 7, 8, 9) // 10 totals > 8: shed to 6, the four touched once, first
	if len(tt.totals) != 6 || tt.shed != 4 {
		t.Fatalf("%d totals kept, %d shed; want 6 and 4", len(tt.totals), tt.shed)
	}
	for _, i := range []int{0, 1, 6, 7, 8, 9} {
		if _, ok := tt.totals[key(i)]; !ok {
			t.Fatalf("k%d, touched in the last flush, was shed", i)
		}
	}
	cum, e3 := flush(0, 2)
	if cum[0] != 3 || e3[0] != e1[0] {
		t.Fatalf("a kept total: %d under epoch %d, want 3 under %d", cum[0], e3[0], e1[0])
	}
	if cum[2] != 1 || e3[2] <= e1[2] {
		t.Fatalf("a shed bucket touched again: %d under epoch %d, want 1 under a later epoch than %d", cum[2], e3[2], e1[2])
	}
	// One flush of more new totals than the bound: shed among them too.
	keys := make([]int, 12)
	for i := range keys {
		keys[i] = 100 + i
	}
	flush(keys...)
	if len(tt.totals) != 6 {
		t.Fatalf("after a flush of 12 new totals: %d kept, want 6", len(tt.totals))
	}
}
