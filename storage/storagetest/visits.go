package storagetest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minibitly/minibitly/storage"
)

// RunVisits runs the VisitSink and StatsReader conformance tests. open
// returns a fresh, empty store (both values may be the same object) and
// registers its cleanup with t.Cleanup.
func RunVisits(t *testing.T, open func(t *testing.T) (storage.VisitSink, storage.StatsReader)) {
	run := func(name string, f func(*testing.T, storage.VisitSink, storage.StatsReader)) {
		t.Run(name, func(t *testing.T) {
			w, r := open(t)
			f(t, w, r)
		})
	}
	run("Ping", func(t *testing.T, w storage.VisitSink, r storage.StatsReader) {
		testPing(t, w)
		testPing(t, r)
	})
	run("StatsExact", testStatsExact)
	run("Intervals", testStatsIntervals)
	run("BatchIdempotent", testBatchIdempotent)
	run("UnknownCode", testStatsUnknown)
	run("TopN", testStatsTopN)
	run("InvalidQuery", testStatsInvalid)
	run("Random", testStatsRandom)
	run("VisitRows", testVisitRows)
	run("DeleteVisits", testDeleteVisits)
}

// testDeleteVisits: a link's visits go, its neighbours' (a prefix, an
// extension) stay; a replay of a batch from before counts nothing; visits
// written after are counted from zero.
func testDeleteVisits(t *testing.T, w storage.VisitSink, r storage.StatsReader) {
	d, ok := r.(storage.VisitDeleter)
	if !ok {
		t.Fatalf("%T does not implement storage.VisitDeleter", r)
	}
	visitFixture(t, w)
	ctx := t.Context()
	n, err := d.DeleteVisits(ctx, "vis")
	must(t, "DeleteVisits", err)
	if n != 44 {
		t.Errorf("DeleteVisits(vis) = %d, want 44", n)
	}
	total := func(code string) uint64 {
		t.Helper()
		n, err := r.VisitTotal(ctx, code)
		must(t, "VisitTotal", err)
		return n
	}
	if got := total("vis"); got != 0 {
		t.Errorf("after the delete VisitTotal(vis) = %d", got)
	}
	rows, err := r.VisitRows(ctx, storage.VisitRowsQuery{Code: "vis", From: base.Add(-time.Hour), To: base.Add(time.Hour), Limit: 100})
	must(t, "VisitRows", err)
	if len(rows) != 0 {
		t.Errorf("after the delete VisitRows(vis) = %v", rows)
	}
	for code, want := range map[string]uint64{"vi": 50, "visX": 60, "other": 100} {
		if got := total(code); got != want {
			t.Errorf("VisitTotal(%s) = %d after deleting vis, want %d", code, got, want)
		}
	}
	if n, err := d.DeleteVisits(ctx, "vis"); err != nil || n != 0 {
		t.Errorf("second DeleteVisits = %d, %v; want 0", n, err)
	}
	if n, err := d.DeleteVisits(ctx, "never"); err != nil || n != 0 {
		t.Errorf("DeleteVisits of a code without visits = %d, %v", n, err)
	}
	write(t, w, "n1", 3, vc("vis", m(2), dBing, 2))
	if got := total("vis"); got != 2 {
		t.Errorf("visits after the delete: VisitTotal = %d, want 2", got)
	}
	st, err := r.Stats(ctx, storage.StatsQuery{Code: "vis", From: base, To: base.Add(5 * time.Minute), Interval: storage.Minute})
	must(t, "Stats", err)
	if st.Total != 2 {
		t.Errorf("Stats after the delete: Total = %d, want 2", st.Total)
	}
}

func testVisitRows(t *testing.T, w storage.VisitSink, r storage.StatsReader) {
	visitFixture(t, w)
	write(t, w, "n1", 1, vc("vis", m(0), dGoogleWin, 5)) // a replayed batch: not counted again
	write(t, w, "n3", 1, vc("vis", m(0), dims{"a.example", "desktop", "Chrome", "Windows", "DE", false}, 2))
	rows := func(q storage.VisitRowsQuery) []storage.VisitCount {
		t.Helper()
		got, err := r.VisitRows(t.Context(), q)
		must(t, "VisitRows", err)
		return got
	}
	q := storage.VisitRowsQuery{Code: "vis", From: base, To: base.Add(5 * time.Minute), Limit: 100}
	want := []storage.VisitCount{
		vc("vis", m(4), dBing, 1),
		vc("vis", m(3), dBot, 4),
		vc("vis", m(2), dEdge, 10),
		vc("vis", m(1), dGoogleAnd, 2),
		vc("vis", m(0), dDirectIOS, 3), // "" < "a.example" < "google.com"
		vc("vis", m(0), dims{"a.example", "desktop", "Chrome", "Windows", "DE", false}, 2),
		vc("vis", m(0), dGoogleWin, 6), // two batches' rows of one bucket, summed
	}
	if got := rows(q); !slices.Equal(got, want) {
		t.Errorf("VisitRows = %v\nwant %v", got, want)
	}
	q.Limit = 3
	if got := rows(q); !slices.Equal(got, want[:3]) {
		t.Errorf("Limit 3: %v, want %v", got, want[:3])
	}
	q.Limit, q.ExcludeBots = 100, true
	if got := rows(q); !slices.Equal(got, slices.Delete(slices.Clone(want), 1, 2)) {
		t.Errorf("ExcludeBots: %v", got)
	}
	q.ExcludeBots, q.From, q.To = false, base.Add(time.Minute), base.Add(3*time.Minute)
	if got := rows(q); !slices.Equal(got, want[2:4]) {
		t.Errorf("[m1, m3): %v, want %v", got, want[2:4])
	}
	if got := rows(storage.VisitRowsQuery{Code: "nope", From: base, To: base.Add(time.Hour), Limit: 10}); len(got) != 0 {
		t.Errorf("unknown code: %v", got)
	}
	for name, bad := range map[string]storage.VisitRowsQuery{
		"limit 0":     {Code: "vis", From: base, To: base.Add(time.Hour)},
		"limit large": {Code: "vis", From: base, To: base.Add(time.Hour), Limit: storage.MaxVisitRows + 1},
		"empty range": {Code: "vis", From: base, To: base, Limit: 1},
	} {
		if _, err := r.VisitRows(t.Context(), bad); !errors.Is(err, storage.ErrInvalidQuery) {
			t.Errorf("%s: err %v, want ErrInvalidQuery", name, err)
		}
	}
}

// m is the start of minute i after base, in unix seconds.
func m(i int) int64 { return base.Add(time.Duration(i) * time.Minute).Unix() }

type dims struct {
	ref, dev, br, os, cc string
	bot                  bool
}

func vc(code string, minute int64, d dims, n uint64) storage.VisitCount {
	return storage.VisitCount{VisitKey: storage.VisitKey{
		Code: code, Minute: minute, Referrer: d.ref, Device: d.dev, Browser: d.br,
		OS: d.os, Country: d.cc, Bot: d.bot,
	}, Visits: n}
}

var (
	dGoogleWin = dims{"google.com", "desktop", "Chrome", "Windows", "DE", false}
	dDirectIOS = dims{"", "mobile", "Safari", "iOS", "US", false}
	dGoogleAnd = dims{"google.com", "mobile", "Chrome", "Android", "US", false}
	dBot       = dims{"t.co", "bot", "Googlebot", "other", "", true}
	dBing      = dims{"bing.com", "tablet", "Firefox", "Linux", "FR", false}
	dEdge      = dims{"google.com", "desktop", "Edge", "Windows", "GB", false}
)

func write(t *testing.T, w storage.VisitSink, node string, seq uint64, rows ...storage.VisitCount) {
	t.Helper()
	must(t, fmt.Sprintf("WriteVisits %s/%d", node, seq), w.WriteVisits(t.Context(), storage.VisitBatch{NodeID: node, Seq: seq, Rows: rows}))
}

// visitFixture writes the rows the exact tests read: code "vis" has 44
// visits in total, 26 of them in [base, base+5m); codes "vi", "visX" and
// "other" sit beside it.
func visitFixture(t *testing.T, w storage.VisitSink) {
	t.Helper()
	write(t, w, "n1", 1,
		vc("vis", m(0), dGoogleWin, 5),
		vc("vis", m(0), dDirectIOS, 3),
		vc("vis", m(1), dGoogleAnd, 2),
		vc("vis", m(3), dBot, 4),
		vc("vis", m(-1), dGoogleWin, 7), // before the range
		vc("vis", m(5), dGoogleWin, 11), // at its end: excluded
		vc("other", m(0), dGoogleWin, 100),
		vc("vi", m(0), dGoogleWin, 50), // a prefix of "vis"
		vc("visX", m(1), dGoogleWin, 60),
	)
	write(t, w, "n1", 2,
		vc("vis", m(0), dGoogleWin, 1), // same key as in batch 1: summed
		vc("vis", m(4), dBing, 1),
	)
	write(t, w, "n2", 1, vc("vis", m(2), dEdge, 10)) // another node, same Seq
}

func checkStats(t *testing.T, what string, got, want storage.Stats) {
	t.Helper()
	if got.Total != want.Total || got.Bots != want.Bots || got.Humans != want.Humans {
		t.Errorf("%s: Total/Bots/Humans = %d/%d/%d, want %d/%d/%d", what,
			got.Total, got.Bots, got.Humans, want.Total, want.Bots, want.Humans)
	}
	if len(got.Series) != len(want.Series) {
		t.Errorf("%s: %d series points, want %d: %v", what, len(got.Series), len(want.Series), got.Series)
	} else {
		for i := range got.Series {
			g, w := got.Series[i], want.Series[i]
			if !g.T.Equal(w.T) || g.Visits != w.Visits || g.T.Location() != time.UTC {
				t.Errorf("%s: Series[%d] = %v %d, want %v %d (UTC)", what, i, g.T, g.Visits, w.T, w.Visits)
			}
		}
	}
	for _, b := range []struct {
		name      string
		got, want []storage.Bucket
	}{
		{"Referrers", got.Referrers, want.Referrers},
		{"Devices", got.Devices, want.Devices},
		{"Browsers", got.Browsers, want.Browsers},
		{"OS", got.OS, want.OS},
		{"Countries", got.Countries, want.Countries},
	} {
		if !slices.Equal(b.got, b.want) {
			t.Errorf("%s: %s = %v, want %v", what, b.name, b.got, b.want)
		}
	}
}

func series(from time.Time, step time.Duration, visits ...uint64) []storage.Point {
	out := make([]storage.Point, len(visits))
	for i, v := range visits {
		out[i] = storage.Point{T: from.Add(time.Duration(i) * step), Visits: v}
	}
	return out
}

// bk is a breakdown bucket in the fixtures' expectations.
type bk struct {
	key    string
	visits uint64
}

func bs(xs ...bk) []storage.Bucket {
	var out []storage.Bucket
	for _, x := range xs {
		out = append(out, storage.Bucket{Key: x.key, Visits: x.visits})
	}
	return out
}

func testStatsExact(t *testing.T, w storage.VisitSink, r storage.StatsReader) {
	ctx := t.Context()
	visitFixture(t, w)
	got, err := r.Stats(ctx, storage.StatsQuery{Code: "vis", From: base, To: base.Add(5 * time.Minute), Interval: storage.Minute})
	must(t, "Stats", err)
	checkStats(t, "Stats minute", got, storage.Stats{
		Total: 26, Bots: 4, Humans: 22,
		Series:    series(base, time.Minute, 9, 2, 10, 4, 1),
		Referrers: bs(bk{"google.com", 18}, bk{"t.co", 4}, bk{"", 3}, bk{"bing.com", 1}),
		Devices:   bs(bk{"desktop", 16}, bk{"mobile", 5}, bk{"bot", 4}, bk{"tablet", 1}),
		Browsers:  bs(bk{"Edge", 10}, bk{"Chrome", 8}, bk{"Googlebot", 4}, bk{"Safari", 3}, bk{"Firefox", 1}),
		OS:        bs(bk{"Windows", 16}, bk{"other", 4}, bk{"iOS", 3}, bk{"Android", 2}, bk{"Linux", 1}),
		Countries: bs(bk{"GB", 10}, bk{"DE", 6}, bk{"US", 5}, bk{"", 4}, bk{"FR", 1}),
	})
	for code, want := range map[string]uint64{"vis": 44, "vi": 50, "visX": 60, "other": 100, "v": 0, "vis\x00": 0} {
		n, err := r.VisitTotal(ctx, code)
		must(t, "VisitTotal "+code, err)
		if n != want {
			t.Errorf("VisitTotal(%q) = %d, want %d", code, n, want)
		}
	}
	// The query's own range, not the rows', bounds the series.
	got, err = r.Stats(ctx, storage.StatsQuery{Code: "vis", From: base.Add(2 * time.Minute), To: base.Add(4 * time.Minute), Interval: storage.Minute})
	must(t, "Stats", err)
	checkStats(t, "Stats of two middle minutes", got, storage.Stats{
		Total: 14, Bots: 4, Humans: 10,
		Series:    series(base.Add(2*time.Minute), time.Minute, 10, 4),
		Referrers: bs(bk{"google.com", 10}, bk{"t.co", 4}),
		Devices:   bs(bk{"desktop", 10}, bk{"bot", 4}),
		Browsers:  bs(bk{"Edge", 10}, bk{"Googlebot", 4}),
		OS:        bs(bk{"Windows", 10}, bk{"other", 4}),
		Countries: bs(bk{"GB", 10}, bk{"", 4}),
	})
}

func testStatsIntervals(t *testing.T, w storage.VisitSink, r storage.StatsReader) {
	ctx := t.Context()
	visitFixture(t, w)
	// From is not hour-aligned: the series starts at 11:00, the 11:59 row
	// counts, and rows before From would not.
	got, err := r.Stats(ctx, storage.StatsQuery{Code: "vis", From: base.Add(-time.Minute), To: base.Add(5 * time.Minute), Interval: storage.Hour, TopN: 1})
	must(t, "Stats hour", err)
	checkStats(t, "Stats hour", got, storage.Stats{
		Total: 33, Bots: 4, Humans: 29,
		Series:    series(base.Add(-time.Hour), time.Hour, 7, 26),
		Referrers: bs(bk{"google.com", 25}),
		Devices:   bs(bk{"desktop", 23}),
		Browsers:  bs(bk{"Chrome", 15}),
		OS:        bs(bk{"Windows", 23}),
		Countries: bs(bk{"DE", 13}),
	})
	got, err = r.Stats(ctx, storage.StatsQuery{Code: "vis", From: base.Add(30 * time.Second), To: base.Add(90 * time.Minute), Interval: storage.Hour, TopN: 1})
	must(t, "Stats hour from mid-minute", err)
	// The minute starting at base is before From and does not count.
	checkStats(t, "Stats hour from mid-minute", got, storage.Stats{
		Total: 28, Bots: 4, Humans: 24,
		Series:    series(base, time.Hour, 28, 0),
		Referrers: bs(bk{"google.com", 23}),
		Devices:   bs(bk{"desktop", 21}),
		Browsers:  bs(bk{"Chrome", 13}),
		OS:        bs(bk{"Windows", 21}),
		Countries: bs(bk{"DE", 11}),
	})
	day := time.Date(2024, 3, 10, 0, 0, 0, 0, time.UTC)
	got, err = r.Stats(ctx, storage.StatsQuery{Code: "vis", From: day.Add(-24 * time.Hour), To: day.Add(24 * time.Hour), Interval: storage.Day, TopN: 2})
	must(t, "Stats day", err)
	checkStats(t, "Stats day", got, storage.Stats{
		Total: 44, Bots: 4, Humans: 40,
		Series:    series(day.Add(-24*time.Hour), 24*time.Hour, 0, 44),
		Referrers: bs(bk{"google.com", 36}, bk{"t.co", 4}),
		Devices:   bs(bk{"desktop", 34}, bk{"mobile", 5}),
		Browsers:  bs(bk{"Chrome", 26}, bk{"Edge", 10}),
		OS:        bs(bk{"Windows", 34}, bk{"other", 4}),
		Countries: bs(bk{"DE", 24}, bk{"GB", 10}),
	})
}

func testBatchIdempotent(t *testing.T, w storage.VisitSink, r storage.StatsReader) {
	ctx := t.Context()
	total := func(code string) uint64 {
		t.Helper()
		n, err := r.VisitTotal(ctx, code)
		must(t, "VisitTotal", err)
		return n
	}
	row := func(n uint64) storage.VisitCount { return vc("idem", m(0), dGoogleWin, n) }
	write(t, w, "a", 1, row(1))
	write(t, w, "a", 1, row(1)) // a retry of a batch that did land
	if n := total("idem"); n != 1 {
		t.Fatalf("after a batch written twice: total %d, want 1", n)
	}
	write(t, w, "b", 1, row(10)) // another node, same Seq
	write(t, w, "a", 2, row(100))
	write(t, w, "a", 5, row(1000))
	write(t, w, "a", 3, row(10000)) // late, never seen: counts
	write(t, w, "a", 2, row(100))   // seen: does not
	write(t, w, "a", 5, row(1000))
	write(t, w, "b", 1, row(10))
	write(t, w, "a\x00b", 1, row(100000)) // node IDs are opaque
	write(t, w, "ab", 1, row(1000000))
	write(t, w, "c", 0, row(10000000)) // Seq 0 is a sequence number like any other
	write(t, w, "c", 0, row(10000000))
	write(t, w, "c", 7) // an empty batch is fine
	if n, want := total("idem"), uint64(11111111); n != want {
		t.Fatalf("total %d, want %d", n, want)
	}
	// Rows of the same key within one batch are summed too.
	write(t, w, "d", 1, row(1), row(2), vc("idem", m(0), dBot, 4))
	s, err := r.Stats(ctx, storage.StatsQuery{Code: "idem", From: base, To: base.Add(time.Minute), Interval: storage.Minute})
	must(t, "Stats", err)
	if s.Total != 11111118 || s.Bots != 4 || len(s.Series) != 1 || s.Series[0].Visits != 11111118 {
		t.Fatalf("Stats = %+v, want 11111118 visits, 4 bots", s)
	}
	if n := total("idem"); n != 11111118 {
		t.Fatalf("VisitTotal = %d, want 11111118", n)
	}
}

func testStatsUnknown(t *testing.T, w storage.VisitSink, r storage.StatsReader) {
	ctx := t.Context()
	visitFixture(t, w)
	for _, code := range []string{"nope", "vi s", "v", "visX2"} {
		got, err := r.Stats(ctx, storage.StatsQuery{Code: code, From: base, To: base.Add(5 * time.Minute), Interval: storage.Minute})
		must(t, "Stats of an unknown code", err)
		checkStats(t, "Stats of "+code, got, storage.Stats{Series: series(base, time.Minute, 0, 0, 0, 0, 0)})
		n, err := r.VisitTotal(ctx, code)
		must(t, "VisitTotal of an unknown code", err)
		if n != 0 {
			t.Errorf("VisitTotal(%q) = %d, want 0", code, n)
		}
	}
	// A known code in a range without visits.
	got, err := r.Stats(ctx, storage.StatsQuery{Code: "vis", From: base.Add(time.Hour), To: base.Add(4 * time.Hour), Interval: storage.Hour})
	must(t, "Stats of an empty range", err)
	checkStats(t, "Stats of an empty range", got, storage.Stats{Series: series(base.Add(time.Hour), time.Hour, 0, 0, 0)})
}

func testStatsTopN(t *testing.T, w storage.VisitSink, r storage.StatsReader) {
	ctx := t.Context()
	var rows []storage.VisitCount
	for i, n := range []uint64{2, 2, 3, 1, 2} { // b.com, a.com, c.com, d.com, "" (direct)
		ref := []string{"b.com", "a.com", "c.com", "d.com", ""}[i]
		rows = append(rows, vc("top", m(0), dims{ref, "desktop", "Chrome", "Linux", "NL", false}, n))
	}
	for i := range 12 { // twelve browsers, i+1 visits each
		rows = append(rows, vc("top", m(1), dims{"", "mobile", fmt.Sprintf("B%02d", i), "iOS", "NL", true}, uint64(i+1)))
	}
	write(t, w, "n", 1, rows...)
	q := storage.StatsQuery{Code: "top", From: base, To: base.Add(2 * time.Minute), Interval: storage.Minute, TopN: 3}
	got, err := r.Stats(ctx, q)
	must(t, "Stats", err)
	checkStats(t, "Stats TopN 3", got, storage.Stats{
		Total: 88, Bots: 78, Humans: 10,
		Series:    series(base, time.Minute, 10, 78),
		Referrers: bs(bk{"", 80}, bk{"c.com", 3}, bk{"a.com", 2}), // a tie at the cut: by key
		Devices:   bs(bk{"mobile", 78}, bk{"desktop", 10}),
		Browsers:  bs(bk{"B11", 12}, bk{"B10", 11}, bk{"B09", 10}),
		OS:        bs(bk{"iOS", 78}, bk{"Linux", 10}),
		Countries: bs(bk{"NL", 88}),
	})
	q.TopN = 0 // the default, 10
	got, err = r.Stats(ctx, q)
	must(t, "Stats", err)
	checkStats(t, "Stats TopN 0", got, storage.Stats{
		Total: 88, Bots: 78, Humans: 10,
		Series:    series(base, time.Minute, 10, 78),
		Referrers: bs(bk{"", 80}, bk{"c.com", 3}, bk{"a.com", 2}, bk{"b.com", 2}, bk{"d.com", 1}),
		Devices:   bs(bk{"mobile", 78}, bk{"desktop", 10}),
		Browsers: bs(bk{"B11", 12}, bk{"B10", 11}, bk{"B09", 10}, bk{"Chrome", 10}, bk{"B08", 9},
			bk{"B07", 8}, bk{"B06", 7}, bk{"B05", 6}, bk{"B04", 5}, bk{"B03", 4}),
		OS:        bs(bk{"iOS", 78}, bk{"Linux", 10}),
		Countries: bs(bk{"NL", 88}),
	})
}

func testStatsInvalid(t *testing.T, w storage.VisitSink, r storage.StatsReader) {
	write(t, w, "n", 1, vc("x", m(0), dGoogleWin, 1))
	ok := storage.StatsQuery{Code: "x", From: base, To: base.Add(time.Hour), Interval: storage.Minute}
	for name, mod := range map[string]func(*storage.StatsQuery){
		"no interval":      func(q *storage.StatsQuery) { q.Interval = "" },
		"unknown interval": func(q *storage.StatsQuery) { q.Interval = "week" },
		"empty range":      func(q *storage.StatsQuery) { q.To = q.From },
		"reversed range":   func(q *storage.StatsQuery) { q.From, q.To = q.To, q.From },
		"too many points":  func(q *storage.StatsQuery) { q.To = q.From.Add((storage.MaxSeriesPoints + 1) * time.Minute) },
	} {
		q := ok
		mod(&q)
		_, err := r.Stats(t.Context(), q)
		wantErr(t, "Stats with "+name, err, storage.ErrInvalidQuery)
	}
	q := ok
	q.To = q.From.Add(storage.MaxSeriesPoints * time.Minute)
	s, err := r.Stats(t.Context(), q)
	must(t, "Stats of exactly MaxSeriesPoints buckets", err)
	if len(s.Series) != storage.MaxSeriesPoints || s.Total != 1 {
		t.Fatalf("Stats of MaxSeriesPoints buckets: %d points, total %d", len(s.Series), s.Total)
	}
}

// refModel is an independent, brute-force model of a visit store.
type refModel struct {
	rows []storage.VisitCount
	seen map[string]bool
}

func (m *refModel) write(b storage.VisitBatch) {
	k := fmt.Sprintf("%q/%d", b.NodeID, b.Seq)
	if m.seen[k] {
		return
	}
	m.seen[k] = true
	m.rows = append(m.rows, b.Rows...)
}

func (m *refModel) stats(q storage.StatsQuery) storage.Stats {
	w := q.Interval.Seconds()
	from, to := q.From.Unix(), q.To.Unix()
	first := from - ((from%w)+w)%w
	var s storage.Stats
	for b := first; b < to; b += w {
		s.Series = append(s.Series, storage.Point{T: time.Unix(b, 0).UTC()})
	}
	counts := make([]map[string]uint64, 5)
	for i := range counts {
		counts[i] = map[string]uint64{}
	}
	for _, r := range m.rows {
		if r.Code != q.Code || r.Minute < from || r.Minute >= to {
			continue
		}
		s.Series[(r.Minute-first)/w].Visits += r.Visits
		s.Total += r.Visits
		if r.Bot {
			s.Bots += r.Visits
		} else {
			s.Humans += r.Visits
		}
		for i, k := range []string{r.Referrer, r.Device, r.Browser, r.OS, r.Country} {
			counts[i][k] += r.Visits
		}
	}
	top := q.TopN
	if top == 0 {
		top = 10
	}
	var lists [5][]storage.Bucket
	for i, c := range counts {
		for k, v := range c {
			lists[i] = append(lists[i], storage.Bucket{Key: k, Visits: v})
		}
		slices.SortFunc(lists[i], func(a, b storage.Bucket) int {
			if a.Visits != b.Visits {
				if a.Visits > b.Visits {
					return -1
				}
				return 1
			}
			return strings.Compare(a.Key, b.Key)
		})
		lists[i] = lists[i][:min(top, len(lists[i]))]
	}
	s.Referrers, s.Devices, s.Browsers, s.OS, s.Countries = lists[0], lists[1], lists[2], lists[3], lists[4]
	return s
}

func (m *refModel) total(code string) uint64 {
	var n uint64
	for _, r := range m.rows {
		if r.Code == code {
			n += r.Visits
		}
	}
	return n
}

func testStatsRandom(t *testing.T, w storage.VisitSink, r storage.StatsReader) {
	ctx := t.Context()
	rnd := rand.New(rand.NewPCG(3, 5))
	ref := &refModel{seen: map[string]bool{}}
	codes := []string{"r", "r1", "R", "r-1", "r_1"}
	pick := func(xs ...string) string { return xs[rnd.IntN(len(xs))] }
	var batches []storage.VisitBatch
	for node := range 3 {
		for seq := range 12 {
			b := storage.VisitBatch{NodeID: fmt.Sprintf("node-%d", node), Seq: uint64(seq + 1)}
			for range rnd.IntN(30) {
				b.Rows = append(b.Rows, storage.VisitCount{VisitKey: storage.VisitKey{
					Code:     pick(codes...),
					Minute:   m(rnd.IntN(36*60) - 12*60),
					Referrer: pick("", "a.com", "b.com", "c.org", "x.y.z"),
					Device:   pick("desktop", "mobile", "tablet", "bot", "other"),
					Browser:  pick("Chrome", "Firefox", "Safari", "Edge"),
					OS:       pick("Windows", "macOS", "Linux", "iOS", "Android"),
					Country:  pick("", "DE", "US", "FR"),
					Bot:      rnd.IntN(4) == 0,
				}, Visits: uint64(1 + rnd.IntN(50))})
			}
			batches = append(batches, b)
		}
	}
	// Shuffle, then replay a third of them.
	rnd.Shuffle(len(batches), func(i, j int) { batches[i], batches[j] = batches[j], batches[i] })
	batches = append(batches, batches[:len(batches)/3]...)
	for _, b := range batches {
		must(t, "WriteVisits", w.WriteVisits(ctx, b))
		ref.write(b)
	}
	for _, code := range codes {
		n, err := r.VisitTotal(ctx, code)
		must(t, "VisitTotal", err)
		if want := ref.total(code); n != want {
			t.Errorf("VisitTotal(%q) = %d, want %d", code, n, want)
		}
		for i := range 6 {
			q := storage.StatsQuery{
				Code:     code,
				From:     base.Add(time.Duration(rnd.IntN(24*3600)-12*3600) * time.Second),
				Interval: []storage.Interval{storage.Minute, storage.Hour, storage.Day}[i%3],
				TopN:     rnd.IntN(4),
			}
			q.To = q.From.Add(time.Duration(1+rnd.IntN(1200)) * time.Minute)
			got, err := r.Stats(ctx, q)
			must(t, "Stats", err)
			checkStats(t, fmt.Sprintf("Stats %s [%s, %s) %s top %d", code,
				q.From.Format(time.TimeOnly), q.To.Format(time.TimeOnly), q.Interval, q.TopN), got, ref.stats(q))
		}
	}
}
