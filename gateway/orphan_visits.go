package gateway

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/minibitly/minibitly/storage"
	"github.com/valyala/fasthttp"
)

// Orphan visits (Shlink's term): requests of the redirect side that
// resolve no link. They are counted by the visit pipeline like any other
// visit, off the request path (visitlog → batcher → shards → sink), under a
// pseudo-code per type, so they land in the same visits table, aggregated
// by minute, referrer host, browser/OS/device, country and bot, and never
// keyed by the requested path (which the requester chooses):
//
//   - base_url: GET or HEAD / (whether it redirects to the base-URL
//     redirect or to the web UI);
//   - invalid_short_url: /{one segment} that resolves no enabled link
//     (unknown or malformed code, deleted, expired, visit limit reached);
//   - regular_404: a longer path no route owns (/a/b).
//
// The API's, the UI's and the operational routes (/api/v1, /rest, /v4,
// /ui, /{code}/qr-code, /health, /ready, /metrics) are not counted; a
// redirect-side request with another method than GET or HEAD is not
// either (it is a 405).
//
// A pseudo-code starts with orphanCodePrefix, '~', outside the short-code
// alphabet (shortcode.WellFormed), so no link can ever have it, and
// nothing that reads the visits of links (every list and summary reads by
// a link's code) counts orphans. SQL over the visits table excludes them
// with code NOT LIKE '~%'.
const orphanCodePrefix = "~"

// Shlink's orphan visit types (OrphanVisitType.php).
const (
	orphanBaseURL         = "base_url"
	orphanInvalidShortURL = "invalid_short_url"
	orphanRegular404      = "regular_404"
)

// The pseudo-codes orphan visits are stored under, one per type.
const (
	orphanCodeBaseURL         = orphanCodePrefix + "orphan:" + orphanBaseURL
	orphanCodeInvalidShortURL = orphanCodePrefix + "orphan:" + orphanInvalidShortURL
	orphanCodeRegular404      = orphanCodePrefix + "orphan:" + orphanRegular404
)

// orphanKind is one orphan visit type and its pseudo-code.
type orphanKind struct{ typ, code string }

// orphanKinds in Shlink's order.
var orphanKinds = []orphanKind{
	{orphanBaseURL, orphanCodeBaseURL},
	{orphanInvalidShortURL, orphanCodeInvalidShortURL},
	{orphanRegular404, orphanCodeRegular404},
}

// orphanVisitedURL is what orphan visits of a type report as visitedUrl:
// the base URL for base_url; "" for the others (the requested path is
// not stored).
func (s *Server) orphanVisitedURL(typ string) string {
	if typ == orphanBaseURL {
		return strings.TrimSuffix(s.cfg.BaseURL, "/") + "/" // as linkOut's short URLs
	}
	return ""
}

// orphanSummary is the stored orphan visits (all types): three stats
// reads over the last storage.MaxSeriesPoints days. Visits not flushed
// yet are not included.
func (s *Server) orphanSummary(c context.Context) (shlinkVisitsSummary, error) {
	if ownLinksOnly(c) {
		return shlinkVisitsSummary{}, nil // not its links' visits
	}
	to := time.Now().UTC().Truncate(time.Second).Add(time.Second)
	day := 24 * time.Hour
	from := to.Truncate(day).Add(-(storage.MaxSeriesPoints - 2) * day)
	var sum shlinkVisitsSummary
	for _, k := range orphanKinds {
		st, err := s.d.Stats.Stats(c, storage.StatsQuery{Code: k.code, From: from, To: to, Interval: storage.Day, TopN: 1})
		if err != nil {
			return shlinkVisitsSummary{}, err
		}
		bots := min(st.Bots, st.Total)
		sum.add(shlinkVisitsSummary{Total: st.Total, NonBots: st.Total - bots, Bots: bots})
	}
	return sum, nil
}

// shlinkDeleteOrphanVisits answers DELETE /rest/v3/visits/orphan as Shlink
// does: every stored orphan visit is deleted, 200 {"deletedVisits": N}.
func (s *Server) shlinkDeleteOrphanVisits(c context.Context, ctx *fasthttp.RequestCtx, _ string) error {
	if ownLinksOnly(c) {
		return errOrphansOwnOnly
	}
	d, ok := s.d.Stats.(storage.VisitDeleter)
	if !ok {
		return errorf(http.StatusNotImplemented, "not_implemented", "this visit store cannot delete visits")
	}
	var total uint64
	for _, k := range orphanKinds {
		s.visitsDeleted(c, k.code)
		n, err := d.DeleteVisits(c, k.code)
		if err != nil {
			return err
		}
		total += n
	}
	s.writeJSON(ctx, http.StatusOK, struct {
		DeletedVisits uint64 `json:"deletedVisits"`
	}{total})
	return nil
}

// ownLinksOnly reports whether the request's key is limited to the links it
// created: orphan visits belong to no link, so such a key neither reads nor
// deletes them (and the overview shows it none).
func ownLinksOnly(c context.Context) bool {
	k, err := keyOf(c)
	return err == nil && k.OwnLinksOnly
}

var errOrphansOwnOnly = errorf(http.StatusForbidden, "forbidden", "this API key is limited to the links it created; orphan visits belong to no link")
