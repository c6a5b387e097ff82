package storage

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

var t0 = time.Date(2024, 3, 10, 12, 0, 0, 0, time.UTC)

func TestSeriesBounds(t *testing.T) {
	for name, tc := range map[string]struct {
		q     StatsQuery
		start time.Time
		n     int
	}{
		"aligned minutes": {StatsQuery{From: t0, To: t0.Add(5 * time.Minute), Interval: Minute}, t0, 5},
		"unaligned hours": {StatsQuery{From: t0.Add(30 * time.Minute), To: t0.Add(130 * time.Minute), Interval: Hour}, t0, 3},
		"one day":         {StatsQuery{From: t0, To: t0.Add(time.Hour), Interval: Day}, t0.Truncate(24 * time.Hour), 1},
		"before 1970":     {StatsQuery{From: time.Unix(-90, 0), To: time.Unix(30, 0), Interval: Minute}, time.Unix(-120, 0), 3},
		"empty":           {StatsQuery{From: t0, To: t0, Interval: Minute}, t0, 0},
		"unknown":         {StatsQuery{From: t0, To: t0.Add(time.Hour), Interval: "week"}, time.Unix(0, 0), 0},
	} {
		t.Run(name, func(t *testing.T) {
			start, n := SeriesBounds(tc.q)
			if start != tc.start.Unix() || n != tc.n {
				t.Fatalf("SeriesBounds = %v, %d; want %v, %d", time.Unix(start, 0).UTC(), n, tc.start, tc.n)
			}
		})
	}
}

func TestValidateStatsQuery(t *testing.T) {
	ok := StatsQuery{Code: "x", From: t0, To: t0.Add(time.Hour), Interval: Minute}
	if err := ValidateStatsQuery(ok); err != nil {
		t.Fatalf("valid query refused: %v", err)
	}
	widest := ok
	widest.To = t0.Add(MaxSeriesPoints * time.Minute)
	if err := ValidateStatsQuery(widest); err != nil {
		t.Fatalf("query of exactly MaxSeriesPoints refused: %v", err)
	}
	for name, mod := range map[string]func(*StatsQuery){
		"no interval":       func(q *StatsQuery) { q.Interval = "" },
		"unknown interval":  func(q *StatsQuery) { q.Interval = "week" },
		"empty range":       func(q *StatsQuery) { q.To = q.From },
		"reversed range":    func(q *StatsQuery) { q.From, q.To = q.To, q.From },
		"too many points":   func(q *StatsQuery) { q.To = q.From.Add((MaxSeriesPoints + 1) * time.Minute) },
		"negative top-n":    func(q *StatsQuery) { q.TopN = -1 },
		"sub-second window": func(q *StatsQuery) { q.To = q.From.Add(time.Second / 2) },
	} {
		t.Run(name, func(t *testing.T) {
			q := ok
			mod(&q)
			if err := ValidateStatsQuery(q); !errors.Is(err, ErrInvalidQuery) {
				t.Fatalf("ValidateStatsQuery = %v, want ErrInvalidQuery", err)
			}
		})
	}
}

func row(min int, ref string, bot bool, n uint64) VisitCount {
	return VisitCount{VisitKey: VisitKey{
		Code: "x", Minute: t0.Add(time.Duration(min) * time.Minute).Unix(),
		Referrer: ref, Device: "desktop", Browser: "Chrome", OS: "Linux", Country: "DE", Bot: bot,
	}, Visits: n}
}

func TestAggregator_Stats(t *testing.T) {
	a := NewAggregator(StatsQuery{Code: "x", From: t0, To: t0.Add(3 * time.Minute), Interval: Minute, TopN: 2})
	for _, r := range []VisitCount{
		row(-1, "early.com", false, 100), // before From
		row(0, "a.com", false, 2),
		row(0, "b.com", true, 2),
		row(1, "c.com", false, 3),
		row(2, "a.com", false, 1),
		row(3, "late.com", false, 100), // at To: excluded
	} {
		a.Add(r)
	}
	got := a.Stats()
	want := Stats{
		Total: 8, Bots: 2, Humans: 6,
		Series: []Point{
			{T: t0, Visits: 4},
			{T: t0.Add(time.Minute), Visits: 3},
			{T: t0.Add(2 * time.Minute), Visits: 1},
		},
		Referrers: []Bucket{{"a.com", 3}, {"c.com", 3}},
		Devices:   []Bucket{{"desktop", 8}},
		Browsers:  []Bucket{{"Chrome", 8}},
		OS:        []Bucket{{"Linux", 8}},
		Countries: []Bucket{{"DE", 8}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Stats:\n got %+v\nwant %+v", got, want)
	}
}

func TestAggregator_HourSeriesDense(t *testing.T) {
	q := StatsQuery{Code: "x", From: t0.Add(-30 * time.Minute), To: t0.Add(150 * time.Minute), Interval: Hour}
	a := NewAggregator(q)
	a.Add(row(-40, "", false, 9)) // before From although inside the first bucket
	a.Add(row(-20, "", false, 1))
	a.Add(row(130, "", false, 5))
	s := a.Stats()
	want := []Point{
		{T: t0.Add(-time.Hour), Visits: 1},
		{T: t0, Visits: 0},
		{T: t0.Add(time.Hour), Visits: 0},
		{T: t0.Add(2 * time.Hour), Visits: 5},
	}
	if !reflect.DeepEqual(s.Series, want) {
		t.Fatalf("Series = %+v, want %+v", s.Series, want)
	}
	if s.Total != 6 {
		t.Fatalf("Total = %d, want 6", s.Total)
	}
}

func TestAggregator_DefaultTopN(t *testing.T) {
	a := NewAggregator(StatsQuery{Code: "x", From: t0, To: t0.Add(time.Minute), Interval: Minute})
	for i := range 12 {
		a.Add(row(0, string(rune('a'+i))+".com", false, uint64(i+1)))
	}
	s := a.Stats()
	if len(s.Referrers) != 10 || s.Referrers[0].Key != "l.com" || s.Referrers[9].Key != "c.com" {
		t.Fatalf("Referrers = %+v, want the 10 largest, descending", s.Referrers)
	}
}

func TestAggregator_InvalidIntervalDoesNotPanic(t *testing.T) {
	a := NewAggregator(StatsQuery{Code: "x", From: t0, To: t0.Add(time.Hour)})
	a.Add(row(0, "a.com", false, 1))
	if s := a.Stats(); len(s.Series) != 0 || s.Total != 1 {
		t.Fatalf("Stats = %+v", s)
	}
}

func TestAggregator_TooWideDoesNotAllocate(t *testing.T) {
	a := NewAggregator(StatsQuery{Code: "x", From: time.Unix(0, 0), To: time.Unix(1<<40, 0), Interval: Minute})
	a.Add(row(0, "a.com", false, 1))
	if s := a.Stats(); len(s.Series) != 0 {
		t.Fatalf("len(Series) = %d, want 0", len(s.Series))
	}
}

func TestSortBuckets(t *testing.T) {
	b := []Bucket{{"b", 2}, {"", 2}, {"c", 5}, {"a", 2}, {"d", 1}}
	SortBuckets(b)
	want := []Bucket{{"c", 5}, {"", 2}, {"a", 2}, {"b", 2}, {"d", 1}}
	if !reflect.DeepEqual(b, want) {
		t.Fatalf("SortBuckets = %+v, want %+v", b, want)
	}
}
