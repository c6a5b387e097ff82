package gateway

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/minibitly/minibitly/storage"
	"github.com/valyala/fasthttp"
)

// defaultStatsRange is the stats window when "from" is not given.
const defaultStatsRange = 7 * 24 * time.Hour

type pointOut struct {
	T      time.Time `json:"t"`
	Visits uint64    `json:"visits"`
}

type bucketOut struct {
	Key    string `json:"key"`
	Visits uint64 `json:"visits"`
}

type botsOut struct {
	Bot   uint64 `json:"bot"`
	Human uint64 `json:"human"`
}

type statsOut struct {
	Code      string           `json:"code"`
	From      time.Time        `json:"from"`
	To        time.Time        `json:"to"`
	Interval  storage.Interval `json:"interval"`
	Total     uint64           `json:"total"`
	Series    []pointOut       `json:"series"`
	Referrers []bucketOut      `json:"referrers"`
	Devices   []bucketOut      `json:"devices"`
	Browsers  []bucketOut      `json:"browsers"`
	OS        []bucketOut      `json:"os"`
	Countries []bucketOut      `json:"countries"`
	Bots      botsOut          `json:"bots"`
}

func buckets(bs []storage.Bucket) []bucketOut {
	out := make([]bucketOut, len(bs))
	for i, b := range bs {
		out[i] = bucketOut{Key: b.Key, Visits: b.Visits}
	}
	return out
}

func queryTime(name, v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, errorf(http.StatusBadRequest, "invalid_"+name,
			fmt.Sprintf("query parameter %q must be an RFC 3339 time such as 2030-01-02T15:04:05Z, got %q", name, v))
	}
	return t.UTC(), nil
}

// statsQuery reads from, to and interval: to defaults to now (the end of
// the current second), from to a
// week before to, interval to hour. Whether the range can be answered
// (from before to, at most storage.MaxSeriesPoints buckets) is decided by
// storage.ValidateStatsQuery, the rule every store applies too, checked
// here before the link lookup so a bad range is the answer even for an
// unknown code; its errors are mapped by toAPIError.
func statsQuery(ctx *fasthttp.RequestCtx, code string) (storage.StatsQuery, error) {
	// Ranges count in whole seconds; the default "to" is the end of the
	// current second, so visits made in it are counted.
	q := storage.StatsQuery{Code: code, Interval: storage.Hour, To: time.Now().UTC().Truncate(time.Second).Add(time.Second)}
	args, err := queryArgs(ctx, "from", "to", "interval")
	if err != nil {
		return q, err
	}
	if v, ok := args["to"]; ok {
		if q.To, err = queryTime("to", v); err != nil {
			return q, err
		}
	}
	q.From = q.To.Add(-defaultStatsRange)
	if v, ok := args["from"]; ok {
		if q.From, err = queryTime("from", v); err != nil {
			return q, err
		}
	}
	if v, ok := args["interval"]; ok {
		q.Interval = storage.Interval(v)
		if q.Interval.Seconds() == 0 {
			return q, errorf(http.StatusBadRequest, "invalid_interval", fmt.Sprintf("query parameter \"interval\" must be minute, hour or day, got %q", v))
		}
	}
	return q, storage.ValidateStatsQuery(q)
}

func (s *Server) linkStats(c context.Context, ctx *fasthttp.RequestCtx, code string) error {
	if err := linkCode(code); err != nil {
		return err
	}
	q, err := statsQuery(ctx, code)
	if err != nil {
		return err
	}
	if _, err := s.d.Links.GetLink(c, code); err != nil {
		return notFoundLink(code, err)
	}
	st, err := s.d.Stats.Stats(c, q)
	if err != nil {
		return err
	}
	out := statsOut{
		Code: code, From: q.From, To: q.To, Interval: q.Interval, Total: st.Total,
		Series:    make([]pointOut, len(st.Series)),
		Referrers: buckets(st.Referrers),
		Devices:   buckets(st.Devices),
		Browsers:  buckets(st.Browsers),
		OS:        buckets(st.OS),
		Countries: buckets(st.Countries),
		Bots:      botsOut{Bot: st.Bots, Human: st.Humans},
	}
	for i, p := range st.Series {
		out.Series[i] = pointOut{T: p.T.UTC(), Visits: p.Visits}
	}
	s.writeJSON(ctx, http.StatusOK, &out)
	return nil
}
