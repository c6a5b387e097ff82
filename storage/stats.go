package storage

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"
)

// OtherReferrer is the referrer host under which a code's visits from
// hosts beyond its per-minute cap are counted (the Referer header is the
// visitor's to choose). It cannot be a real host: parentheses are not kept
// in referrer hosts.
const OtherReferrer = "(other)"

// MaxSeriesPoints bounds a stats series; a wider query is refused.
const MaxSeriesPoints = 10000

// ErrInvalidQuery: a StatsQuery that ValidateStatsQuery (or a backend)
// refuses: unknown interval, empty or reversed range, more than
// MaxSeriesPoints buckets. ErrEmptyRange and ErrTooManyPoints wrap it for
// the two reasons a client fixes by changing the range or the interval.
var ErrInvalidQuery = errors.New("invalid stats query")

var (
	// ErrEmptyRange: To is not after From (in whole seconds).
	ErrEmptyRange = fmt.Errorf("%w: the range is empty", ErrInvalidQuery)
	// ErrTooManyPoints: the series would hold more than MaxSeriesPoints.
	ErrTooManyPoints = fmt.Errorf("%w: too many points", ErrInvalidQuery)
)

// ValidateStatsQuery reports why q cannot be answered, wrapping
// ErrInvalidQuery, or nil. Every StatsReader calls it first.
func ValidateStatsQuery(q StatsQuery) error {
	if q.Interval.Seconds() == 0 {
		return fmt.Errorf("%w: unknown interval %q", ErrInvalidQuery, q.Interval)
	}
	if q.To.Unix() <= q.From.Unix() {
		return fmt.Errorf("%w: [%s, %s)", ErrEmptyRange,
			q.From.UTC().Format(time.RFC3339), q.To.UTC().Format(time.RFC3339))
	}
	if _, n := SeriesBounds(q); n > MaxSeriesPoints {
		return fmt.Errorf("%w: %d %s buckets, at most %d", ErrTooManyPoints, n, q.Interval, MaxSeriesPoints)
	}
	if q.TopN < 0 {
		return fmt.Errorf("%w: negative top-n %d", ErrInvalidQuery, q.TopN)
	}
	return nil
}

// SeriesBounds returns the first bucket start and the number of buckets of
// q's series. From and To count in whole seconds (sub-second parts are
// dropped); From is rounded down to the interval, To up. Buckets are aligned
// to the interval in UTC.
func SeriesBounds(q StatsQuery) (start int64, n int) {
	w := q.Interval.Seconds()
	if w == 0 {
		return 0, 0
	}
	from, to := q.From.Unix(), q.To.Unix()
	start = floorDiv(from, w) * w
	end := floorDiv(to+w-1, w) * w
	if end <= start {
		return start, 0
	}
	return start, int((end - start) / w)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// Aggregator builds Stats from visit rows; backends without a query engine
// feed it the rows of one code and range. A row belongs to [From, To) when
// its Minute (the start of its minute) does. Validate the query with
// ValidateStatsQuery first: an invalid one yields an empty series.
type Aggregator struct {
	q         StatsQuery
	start     int64
	series    []uint64
	total     uint64
	bots      uint64
	referrers map[string]uint64
	devices   map[string]uint64
	browsers  map[string]uint64
	oses      map[string]uint64
	countries map[string]uint64
}

// NewAggregator starts an aggregation for q.
func NewAggregator(q StatsQuery) *Aggregator {
	start, n := SeriesBounds(q)
	if n > MaxSeriesPoints {
		n = 0 // refused by ValidateStatsQuery; never allocate an unbounded series
	}
	return &Aggregator{
		q: q, start: start, series: make([]uint64, n),
		referrers: map[string]uint64{}, devices: map[string]uint64{},
		browsers: map[string]uint64{}, oses: map[string]uint64{}, countries: map[string]uint64{},
	}
}

// Add counts one row if it falls inside [From, To).
func (a *Aggregator) Add(r VisitCount) {
	if r.Minute < a.q.From.Unix() || r.Minute >= a.q.To.Unix() {
		return
	}
	if w := a.q.Interval.Seconds(); w > 0 {
		i := (r.Minute - a.start) / w
		if i >= 0 && i < int64(len(a.series)) {
			a.series[i] += r.Visits
		}
	}
	a.total += r.Visits
	if r.Bot {
		a.bots += r.Visits
	}
	a.referrers[r.Referrer] += r.Visits
	a.devices[r.Device] += r.Visits
	a.browsers[r.Browser] += r.Visits
	a.oses[r.OS] += r.Visits
	a.countries[r.Country] += r.Visits
}

// Stats returns the result.
func (a *Aggregator) Stats() Stats {
	s := Stats{Total: a.total, Bots: a.bots, Humans: a.total - a.bots}
	w := a.q.Interval.Seconds()
	s.Series = make([]Point, len(a.series))
	for i, v := range a.series {
		s.Series[i] = Point{T: time.Unix(a.start+int64(i)*w, 0).UTC(), Visits: v}
	}
	top := a.q.TopN
	if top <= 0 {
		top = 10
	}
	s.Referrers = TopBuckets(a.referrers, top)
	s.Devices = TopBuckets(a.devices, top)
	s.Browsers = TopBuckets(a.browsers, top)
	s.OS = TopBuckets(a.oses, top)
	s.Countries = TopBuckets(a.countries, top)
	return s
}

// TopBuckets sorts m by visits (descending, then key) and keeps the first n.
func TopBuckets(m map[string]uint64, n int) []Bucket {
	out := make([]Bucket, 0, len(m))
	for k, v := range m {
		out = append(out, Bucket{Key: k, Visits: v})
	}
	SortBuckets(out)
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// SortBuckets orders buckets by visits, descending, then by key.
func SortBuckets(b []Bucket) {
	sort.Slice(b, func(i, j int) bool {
		if b[i].Visits != b[j].Visits {
			return b[i].Visits > b[j].Visits
		}
		return b[i].Key < b[j].Key
	})
}

// VisitDeleter deletes the stored visits of a link (Shlink's DELETE
// /short-urls/{code}/visits). Both visit stores implement it.
type VisitDeleter interface {
	// DeleteVisits removes every stored visit aggregate of code and
	// returns how many visits they counted; 0 for a code without visits.
	// When it returns, reads no longer see them. Batches written after it
	// (visits still on their way when it ran) are counted as usual.
	DeleteVisits(ctx context.Context, code string) (uint64, error)
}
