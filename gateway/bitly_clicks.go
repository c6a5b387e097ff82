package gateway

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/minibitly/minibitly/storage"
	"github.com/valyala/fasthttp"
)

// Clicks of a bitlink, from the same visit aggregates as /api/v1 stats.
// unit is minute, hour, day (default), week (ISO weeks, from Monday) or
// month; buckets are in UTC. units is how many units end with the one
// holding unit_reference (default now); -1 (the default) means every unit
// since the link was made. At most size (default 50, 1..1000) buckets are
// returned, newest first; months are capped at 300 (the day series behind
// them must fit storage.MaxSeriesPoints).

const (
	defaultClicksSize = 50
	maxClicksSize     = 1000
	maxClicksMonths   = 300
)

// clicksRange is a parsed clicks query.
type clicksRange struct {
	unit    string
	units   int
	ref     time.Time
	starts  []time.Time // bucket starts, oldest first
	end     time.Time   // end of the newest bucket
	size    int         // the size parameter
	storage storage.Interval
}

// bucketStart is the start of the unit holding t.
func bucketStart(unit string, t time.Time) time.Time {
	t = t.UTC()
	switch unit {
	case "minute":
		return t.Truncate(time.Minute)
	case "hour":
		return t.Truncate(time.Hour)
	case "week":
		d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		return d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7))
	case "month":
		return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// addUnits moves a bucket start by n units.
func addUnits(unit string, t time.Time, n int) time.Time {
	switch unit {
	case "minute":
		return t.Add(time.Duration(n) * time.Minute)
	case "hour":
		return t.Add(time.Duration(n) * time.Hour)
	case "week":
		return t.AddDate(0, 0, 7*n)
	case "month":
		return t.AddDate(0, n, 0)
	}
	return t.AddDate(0, 0, n)
}

func parseUnitReference(v string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339, bitlyTime} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// clicksQuery reads unit, units, size and unit_reference for link l. With
// sizeBuckets, size caps the buckets (clicks); else it is the length of the
// breakdowns (referrers, countries), and the buckets are capped at
// maxClicksSize.
func clicksQuery(ctx *fasthttp.RequestCtx, l *storage.Link, sizeBuckets bool) (clicksRange, error) {
	r := clicksRange{unit: "day", units: -1, ref: time.Now().UTC()}
	args, err := queryArgs(ctx, "unit", "units", "size", "unit_reference")
	if err != nil {
		return r, err
	}
	if v, ok := args["unit"]; ok {
		switch v {
		case "minute", "hour", "day", "week", "month":
			r.unit = v
		default:
			return r, errorf(http.StatusBadRequest, "invalid_unit", fmt.Sprintf("query parameter \"unit\" must be minute, hour, day, week or month, got %s", quoteShort(v)))
		}
	}
	if v, ok := args["units"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n == 0 || n < -1 {
			return r, errorf(http.StatusBadRequest, "invalid_units", fmt.Sprintf("query parameter \"units\" must be a positive integer or -1 (since the link was made), got %s", quoteShort(v)))
		}
		r.units = n
	}
	size := defaultClicksSize
	if v, ok := args["size"]; ok && v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxClicksSize {
			return r, errorf(http.StatusBadRequest, "invalid_size", fmt.Sprintf("query parameter \"size\" must be an integer from 1 to %d, got %s", maxClicksSize, quoteShort(v)))
		}
		size = n
	}
	r.size = size
	if !sizeBuckets {
		size = maxClicksSize
	}
	if v, ok := args["unit_reference"]; ok && v != "" {
		t, ok := parseUnitReference(v)
		if !ok {
			return r, errorf(http.StatusBadRequest, "invalid_unit_reference", fmt.Sprintf("query parameter \"unit_reference\" must be an ISO 8601 time such as 2030-01-02T15:04:05+0000, got %s", quoteShort(v)))
		}
		r.ref = t
	}
	last := bucketStart(r.unit, r.ref)
	n := r.units
	if n == -1 {
		// Every unit from the one the link was made in to the reference.
		first := bucketStart(r.unit, l.CreatedAt)
		n = 1
		for t := last; t.After(first) && n < size; t = addUnits(r.unit, t, -1) {
			n++
		}
	}
	n = min(n, size)
	if r.unit == "month" {
		n = min(n, maxClicksMonths)
	}
	r.starts = make([]time.Time, n)
	for i := range r.starts {
		r.starts[i] = addUnits(r.unit, last, i-(n-1))
	}
	r.end = addUnits(r.unit, last, 1)
	switch r.unit {
	case "minute":
		r.storage = storage.Minute
	case "hour":
		r.storage = storage.Hour
	default:
		r.storage = storage.Day
	}
	return r, nil
}

// clicksStats loads the link and its stats over the query's range.
func (s *Server) clicksStats(c context.Context, ctx *fasthttp.RequestCtx, id string) (clicksRange, storage.Stats, error) {
	return s.bitlyStats(c, ctx, id, true)
}

// bitlyStats loads the link and its stats over the query's range; see
// clicksQuery for sizeBuckets.
func (s *Server) bitlyStats(c context.Context, ctx *fasthttp.RequestCtx, id string, sizeBuckets bool) (clicksRange, storage.Stats, error) {
	code, err := s.bitlinkCode(id)
	if err != nil {
		return clicksRange{}, storage.Stats{}, err
	}
	l, err := s.d.Links.GetLink(c, code)
	if err != nil {
		return clicksRange{}, storage.Stats{}, notFoundLink(code, err)
	}
	r, err := clicksQuery(ctx, &l, sizeBuckets)
	if err != nil {
		return r, storage.Stats{}, err
	}
	q := storage.StatsQuery{Code: code, From: r.starts[0], To: r.end, Interval: r.storage}
	if !sizeBuckets {
		q.TopN = r.size
	}
	if err := storage.ValidateStatsQuery(q); err != nil {
		return r, storage.Stats{}, err
	}
	st, err := s.d.Stats.Stats(c, q)
	return r, st, err
}

type linkClick struct {
	Clicks uint64 `json:"clicks"`
	Date   string `json:"date"`
}

type clicksOut struct {
	LinkClicks    []linkClick `json:"link_clicks"`
	Units         int         `json:"units"`
	Unit          string      `json:"unit"`
	UnitReference string      `json:"unit_reference"`
}

func (s *Server) bitlyClicks(c context.Context, ctx *fasthttp.RequestCtx, id string) error {
	r, st, err := s.clicksStats(c, ctx, id)
	if err != nil {
		return err
	}
	counts := make([]uint64, len(r.starts))
	for _, p := range st.Series {
		b := bucketStart(r.unit, p.T)
		if i := sort.Search(len(r.starts), func(i int) bool { return !r.starts[i].Before(b) }); i < len(r.starts) && r.starts[i].Equal(b) {
			counts[i] += p.Visits
		}
	}
	out := clicksOut{LinkClicks: make([]linkClick, len(r.starts)), Units: r.units, Unit: r.unit, UnitReference: r.ref.Format(bitlyTime)}
	for i := range r.starts {
		j := len(r.starts) - 1 - i // newest first
		out.LinkClicks[i] = linkClick{Clicks: counts[j], Date: r.starts[j].Format(bitlyTime)}
	}
	s.writeJSON(ctx, http.StatusOK, &out)
	return nil
}

type clicksSummaryOut struct {
	TotalClicks   uint64 `json:"total_clicks"`
	Units         int    `json:"units"`
	Unit          string `json:"unit"`
	UnitReference string `json:"unit_reference"`
}

func (s *Server) bitlyClicksSummary(c context.Context, ctx *fasthttp.RequestCtx, id string) error {
	r, st, err := s.clicksStats(c, ctx, id)
	if err != nil {
		return err
	}
	s.writeJSON(ctx, http.StatusOK, &clicksSummaryOut{TotalClicks: st.Total, Units: r.units, Unit: r.unit, UnitReference: r.ref.Format(bitlyTime)})
	return nil
}

// bitlyMetric is one value of a breakdown.
type bitlyMetric struct {
	Value  string `json:"value"`
	Clicks uint64 `json:"clicks"`
}

type metricsOut struct {
	Metrics       []bitlyMetric `json:"metrics"`
	Facet         string        `json:"facet"`
	Units         int           `json:"units"`
	Unit          string        `json:"unit"`
	UnitReference string        `json:"unit_reference"`
}

// bitlyMetrics answers a breakdown (referrers, countries) over the same
// range parameters as clicks; size is the number of values (default 50).
func (s *Server) bitlyMetrics(c context.Context, ctx *fasthttp.RequestCtx, id, facet string) error {
	r, st, err := s.bitlyStats(c, ctx, id, false)
	if err != nil {
		return err
	}
	bs, unknown := st.Referrers, "direct" // a visit without a referrer
	if facet == "countries" {
		bs, unknown = st.Countries, "Unknown"
	}
	out := metricsOut{Metrics: make([]bitlyMetric, len(bs)), Facet: facet, Units: r.units, Unit: r.unit, UnitReference: r.ref.Format(bitlyTime)}
	for i, b := range bs {
		out.Metrics[i] = bitlyMetric{Value: b.Key, Clicks: b.Visits}
		if b.Key == "" {
			out.Metrics[i].Value = unknown
		}
	}
	s.writeJSON(ctx, http.StatusOK, &out)
	return nil
}

// bitlyReferrers answers GET /v4/bitlinks/{bitlink}/referrers: the
// referrer hosts, "direct" for none.
func (s *Server) bitlyReferrers(c context.Context, ctx *fasthttp.RequestCtx, id string) error {
	return s.bitlyMetrics(c, ctx, id, "referrers")
}

// bitlyCountries answers GET /v4/bitlinks/{bitlink}/countries: ISO 3166
// codes (from --country-header), "Unknown" for none.
func (s *Server) bitlyCountries(c context.Context, ctx *fasthttp.RequestCtx, id string) error {
	return s.bitlyMetrics(c, ctx, id, "countries")
}
