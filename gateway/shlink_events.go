package gateway

import (
	"context"
	"encoding/json"

	"github.com/minibitly/minibitly/storage"
	"github.com/valyala/fasthttp"
)

// With --raw-visits the Shlink visit lists of links (GET
// /short-urls/{shortCode}/visits, /tags/{tag}/visits, /domains/{domain}/visits,
// /visits/non-orphan) are the stored raw events rather than expanded
// aggregates: each visit is one event, newest first (ties by short code),
// paged by the store, and
//
//   - date: the visit's second;
//   - referer: the Referer URL without its query string and fragment
//     (cut at 200 bytes), "" for direct;
//   - userAgent: the visitor's user agent (cut at 256 bytes);
//   - visitLocation: as for aggregates, from the country only;
//   - potentialBot: the user agent classed as a bot.
//
// The lists show only what the events table holds: visits since raw
// events were turned on and within --raw-visits-ttl (older ones remain in
// the aggregates: stats, totals and visitsSummary count them). Events the
// ring or a failing store dropped are missing (minibitly_raw_visits_dropped_total).
// Orphan visits stay aggregates.

func (s *Server) writeShlinkEvents(c context.Context, ctx *fasthttp.RequestCtx, links []storage.Link) error {
	r, err := shlinkVisitsParams(ctx)
	if err != nil {
		return err
	}
	byCode := make(map[string]*storage.Link, len(links))
	q := storage.EventsQuery{From: r.from, To: r.to, ExcludeBots: r.excludeBots, Codes: make([]string, 0, len(links))}
	for i := range links {
		byCode[links[i].Code] = &links[i]
		q.Codes = append(q.Codes, links[i].Code)
	}
	var n uint64
	if q.To.Unix() > q.From.Unix() {
		if n, err = s.d.Events.CountEvents(c, q); err != nil {
			return err
		}
	}
	lo, hi, pg := paginate(int(min(n, 1<<31-1)), r.page, r.per)
	var events []storage.Event
	if hi > lo {
		q.Offset, q.Limit = lo, hi-lo
		if events, err = s.d.Events.Events(c, q); err != nil {
			return err
		}
	}
	buf := append(make([]byte, 0, 512+300*len(events)), `{"visits":{"data":[`...)
	for i := range events {
		e := &events[i]
		v := shlinkVisit{Referer: e.Referrer, Date: atom(e.Time), UserAgent: e.UserAgent, PotentialBot: e.Bot}
		if l := byCode[e.Code]; l != nil {
			v.VisitedURL = s.linkOut(l, nil).ShortURL
		}
		if e.Country != "" {
			v.VisitLocation = &shlinkLocation{CountryCode: e.Country, CountryName: e.Country}
		}
		j, err := json.Marshal(&v)
		if err != nil {
			return err
		}
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, j...)
	}
	pg.ItemsInCurrentPage = len(events) // the store may hold fewer by now
	return writeVisitsPage(ctx, buf, &pg)
}
