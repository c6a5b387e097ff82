package gateway

import (
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/minibitly/minibitly/storage"
	"github.com/valyala/fasthttp"
)

// Shlink lists single visits; Mini Bitly stores aggregates (a code ×
// minute × referrer host × device × browser × OS × country × bot, with a
// count). GET /short-urls/{shortCode}/visits expands each aggregate row
// into as many visits as it counts, all alike:
//
//   - date: the start of the row's minute (the second is not stored);
//   - referer: the referrer's host alone ("" for direct), not its URL;
//   - userAgent: a representative user agent of the row's browser and OS
//     families and device class (shlinkUserAgent), not the visitor's;
//   - visitLocation: null without a country; else countryCode and
//     countryName both the ISO code, every other member null/"" (no
//     region, city or coordinates are stored);
//   - potentialBot: the row's bot flag;
//   - visitedUrl: the short URL (the query string is not stored);
//     redirectUrl: null (the long URL at the time is not stored).
//
// The visits of a tag, a domain or every link (non-orphan) merge the rows
// of the links (the newest shlinkScanLimit), newest minute first, then by
// short code.
//
// Orphan visits (GET /visits/orphan, orphan_visits.go) are the rows of the
// type's pseudo-codes, expanded alike, each visit with its "type" (a link's
// visit never has one: the web client takes a visit with a type for an
// orphan one); visitedUrl is the base URL for base_url and "" for the
// other types (the requested path is not stored).
//
// With --raw-visits (Deps.Events set) the lists of links are the stored
// raw events instead (shlink_events.go); orphan visits stay as here.
//
// Bounds: the newest storage.MaxVisitRows rows of the range, and at most
// shlinkMaxVisitsPage visits per page (Shlink's default of "all" and an
// itemsPerPage above it are answered with pages of that size; the
// pagination object says so, and clients page by it).
const shlinkMaxVisitsPage = 5000

type shlinkLocation struct {
	CountryCode string   `json:"countryCode"`
	CountryName string   `json:"countryName"`
	RegionName  string   `json:"regionName"`
	CityName    string   `json:"cityName"`
	Latitude    *float64 `json:"latitude"`
	Longitude   *float64 `json:"longitude"`
	Timezone    *string  `json:"timezone"`
	IsEmpty     bool     `json:"isEmpty"`
}

type shlinkVisit struct {
	Referer       string          `json:"referer"`
	Date          string          `json:"date"`
	UserAgent     string          `json:"userAgent"`
	VisitLocation *shlinkLocation `json:"visitLocation"`
	PotentialBot  bool            `json:"potentialBot"`
	VisitedURL    string          `json:"visitedUrl"`
	RedirectURL   *string         `json:"redirectUrl"`
	// Type is an orphan visit's type; never set on a link's visit (the
	// web client takes a visit with a type for an orphan one).
	Type string `json:"type,omitempty"`
}

// shlinkUserAgent is a user agent that user-agent parsers (bowser, as
// shlink-web-component uses) read as the row's browser, OS and device.
func shlinkUserAgent(r *storage.VisitKey) string {
	if r.Bot || strings.EqualFold(r.Browser, "bot") {
		return "Mozilla/5.0 (compatible; Bot/1.0; a bot visit counted by minibitly)"
	}
	mobile := strings.EqualFold(r.Device, "mobile")
	tablet := strings.EqualFold(r.Device, "tablet")
	var osPart string
	switch strings.ToLower(r.OS) {
	case "windows":
		osPart = "Windows NT 10.0; Win64; x64"
	case "macos":
		osPart = "Macintosh; Intel Mac OS X 10_15_7"
	case "ios":
		osPart = "iPhone; CPU iPhone OS 17_0 like Mac OS X"
		if tablet {
			osPart = "iPad; CPU OS 17_0 like Mac OS X"
		}
	case "android":
		osPart = "Linux; Android 14; K"
	case "linux":
		osPart = "X11; Linux x86_64"
	case "chromeos":
		osPart = "X11; CrOS x86_64 15633.69.0"
	default:
		osPart = "compatible"
	}
	mob := ""
	if mobile {
		mob = "Mobile "
	}
	chrome := "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 " + mob + "Safari/537.36"
	var b string
	switch strings.ToLower(r.Browser) {
	case "chrome":
		b = chrome
	case "edge":
		b = chrome + " Edg/120.0.0.0"
	case "opera":
		b = chrome + " OPR/105.0.0.0"
	case "samsung":
		b = "AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 " + mob + "Safari/537.36"
	case "firefox":
		return "Mozilla/5.0 (" + osPart + "; rv:120.0) Gecko/20100101 Firefox/120.0"
	case "safari":
		if mobile || tablet {
			mob = "Mobile/15E148 "
		}
		b = "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 " + mob + "Safari/605.1.15"
	case "ie":
		return "Mozilla/5.0 (Windows NT 10.0; Trident/7.0; rv:11.0) like Gecko"
	default:
		return "Mozilla/5.0 (" + osPart + ")"
	}
	return "Mozilla/5.0 (" + osPart + ") " + b
}

// shlinkVisitJSON is the JSON of each visit of row r of src.
func (s *Server) shlinkVisitJSON(r *storage.VisitCount, src *visitSource) ([]byte, error) {
	v := shlinkVisit{
		Referer: r.Referrer, Date: atom(time.Unix(r.Minute, 0)), UserAgent: shlinkUserAgent(&r.VisitKey),
		PotentialBot: r.Bot, VisitedURL: src.visitedURL, Type: src.orphanType,
	}
	if src.link != nil {
		v.VisitedURL = s.linkOut(src.link, nil).ShortURL
	}
	if r.Country != "" {
		v.VisitLocation = &shlinkLocation{CountryCode: r.Country, CountryName: r.Country}
	}
	return json.Marshal(&v)
}

func (s *Server) shlinkShortURLVisits(c context.Context, ctx *fasthttp.RequestCtx, code string) error {
	l, err := s.shlinkLink(c, ctx, code)
	if err != nil {
		return err
	}
	return s.writeShlinkVisits(c, ctx, []storage.Link{l})
}

// shlinkTagVisits is the visits of every link carrying the tag (the newest
// shlinkScanLimit of them).
func (s *Server) shlinkTagVisits(c context.Context, ctx *fasthttp.RequestCtx, tag string) error {
	if !validTag(tag) || !s.shlinkDefaultDomain(string(ctx.QueryArgs().Peek("domain"))) {
		return errorf(http.StatusNotFound, "tag_not_found", "Tag with name "+strconv.Quote(tag)+" could not be found")
	}
	codes, err := s.linksWithTag(c, tag, shlinkScanLimit)
	if err != nil {
		return err
	}
	if len(codes) == 0 {
		return errorf(http.StatusNotFound, "tag_not_found", "Tag with name "+strconv.Quote(tag)+" could not be found")
	}
	links := make([]storage.Link, 0, len(codes))
	for _, code := range codes {
		l, err := s.d.Links.GetLink(c, code)
		if err != nil && !errNotFound(err) {
			return err
		}
		if err == nil {
			links = append(links, l)
		}
	}
	return s.writeShlinkVisits(c, ctx, links)
}

// shlinkDomainVisits is the visits of every link of the domain: all links
// for the default one (DEFAULT or --base-url's authority).
func (s *Server) shlinkDomainVisits(c context.Context, ctx *fasthttp.RequestCtx, domain string) error {
	if !s.shlinkDefaultDomain(domain) || domain == "" {
		return errorf(http.StatusNotFound, "domain_not_found", "Domain with authority "+strconv.Quote(domain)+" could not be found")
	}
	return s.shlinkAllVisits(c, ctx)
}

// shlinkNonOrphanVisits is the visits of every link.
func (s *Server) shlinkNonOrphanVisits(c context.Context, ctx *fasthttp.RequestCtx, _ string) error {
	if !s.shlinkDefaultDomain(string(ctx.QueryArgs().Peek("domain"))) {
		return s.writeShlinkVisits(c, ctx, nil)
	}
	return s.shlinkAllVisits(c, ctx)
}

func (s *Server) shlinkAllVisits(c context.Context, ctx *fasthttp.RequestCtx) error {
	var links []storage.Link
	if err := s.scanLinks(c, func(l *storage.Link) bool { links = append(links, *l); return true }); err != nil {
		return err
	}
	return s.writeShlinkVisits(c, ctx, links)
}

// shlinkOrphanVisits is the orphan visits (orphan_visits.go), of every
// type or of ?type=; none for another domain than the default one.
func (s *Server) shlinkOrphanVisits(c context.Context, ctx *fasthttp.RequestCtx, _ string) error {
	if ownLinksOnly(c) {
		return errOrphansOwnOnly
	}
	typ := string(ctx.QueryArgs().Peek("type"))
	var srcs []visitSource
	for _, k := range orphanKinds {
		if typ == "" || typ == k.typ {
			srcs = append(srcs, visitSource{code: k.code, visitedURL: s.orphanVisitedURL(k.typ), orphanType: k.typ})
		}
	}
	if len(srcs) == 0 {
		return shlinkInvalid("type", "must be %s, %s or %s, got %q", orphanBaseURL, orphanInvalidShortURL, orphanRegular404, typ)
	}
	if !s.shlinkDefaultDomain(string(ctx.QueryArgs().Peek("domain"))) {
		srcs = nil
	}
	return s.writeVisitSources(c, ctx, srcs)
}

// visitSource is a code whose visits are listed: a link's, or an orphan
// pseudo-code with its type.
type visitSource struct {
	code       string
	link       *storage.Link // visitedUrl is its short URL; nil for orphans
	visitedURL string        // without a link
	orphanType string        // "" for a link
}

// linkRow is an aggregate row with the index of its source.
type linkRow struct {
	storage.VisitCount
	link int
}

// writeShlinkVisits answers the visits of links, merged newest first (then
// by code and storage.LessVisitKey), at most storage.MaxVisitRows rows.
func (s *Server) writeShlinkVisits(c context.Context, ctx *fasthttp.RequestCtx, links []storage.Link) error {
	if s.d.Events != nil { // --raw-visits: the real events (shlink_events.go)
		return s.writeShlinkEvents(c, ctx, links)
	}
	srcs := make([]visitSource, len(links))
	for i := range links {
		srcs[i] = visitSource{code: links[i].Code, link: &links[i]}
	}
	return s.writeVisitSources(c, ctx, srcs)
}

// writeVisitSources is writeShlinkVisits of any sources.
func (s *Server) writeVisitSources(c context.Context, ctx *fasthttp.RequestCtx, links []visitSource) error {
	r, err := shlinkVisitsParams(ctx)
	if err != nil {
		return err
	}
	page, per := r.page, r.per
	q := storage.VisitRowsQuery{From: r.from, To: r.to, Limit: storage.MaxVisitRows, ExcludeBots: r.excludeBots}
	var rows []linkRow
	if q.To.Unix() > q.From.Unix() {
		for i := range links {
			q.Code = links[i].code
			rs, err := s.d.Stats.VisitRows(c, q)
			if err != nil {
				return err
			}
			for _, r := range rs {
				rows = append(rows, linkRow{VisitCount: r, link: i})
			}
			if len(rows) > 2*storage.MaxVisitRows { // keep the newest, bounded
				sortLinkRows(rows, links)
				rows = rows[:storage.MaxVisitRows]
			}
		}
		if len(links) > 1 {
			sortLinkRows(rows, links)
		}
		rows = rows[:min(len(rows), storage.MaxVisitRows)]
	}
	var total uint64
	for _, r := range rows {
		total += r.Visits
	}
	n := int(min(total, uint64(1<<31-1)))
	lo, hi, pg := paginate(n, page, per)

	buf := append(make([]byte, 0, 4096), `{"visits":{"data":[`...)
	at, first := 0, true // at: index of the first visit of the row
	for i := range rows {
		rn := int(min(rows[i].Visits, uint64(n)))
		if at+rn <= lo {
			at += rn
			continue
		}
		if at >= hi {
			break
		}
		j, err := s.shlinkVisitJSON(&rows[i].VisitCount, &links[rows[i].link])
		if err != nil {
			return err
		}
		for k := max(lo, at); k < min(hi, at+rn); k++ {
			if !first {
				buf = append(buf, ',')
			}
			first = false
			buf = append(buf, j...)
		}
		at += rn
	}
	return writeVisitsPage(ctx, buf, &pg)
}

// writeVisitsPage ends a Shlink visits page whose items are in buf (from
// `{"visits":{"data":[`) with its pagination object, and sends it.
func writeVisitsPage(ctx *fasthttp.RequestCtx, buf []byte, pg *shlinkPagination) error {
	p, err := json.Marshal(pg)
	if err != nil {
		return err
	}
	buf = append(append(append(buf, `],"pagination":`...), p...), "}}\n"...)
	ctx.SetStatusCode(http.StatusOK)
	ctx.SetContentType("application/json")
	ctx.SetBody(buf)
	return nil
}

func sortLinkRows(rows []linkRow, links []visitSource) {
	slices.SortStableFunc(rows, func(a, b linkRow) int {
		switch {
		case a.Minute != b.Minute:
			return cmp.Compare(b.Minute, a.Minute)
		case a.link != b.link:
			return strings.Compare(links[a.link].code, links[b.link].code)
		case storage.LessVisitKey(a.VisitKey, b.VisitKey):
			return -1
		case storage.LessVisitKey(b.VisitKey, a.VisitKey):
			return 1
		}
		return 0
	})
}

// visitsParams are the parameters every Shlink visit list takes.
type visitsParams struct {
	page, per   int
	from, to    time.Time // [from, to)
	excludeBots bool
}

func shlinkVisitsParams(ctx *fasthttp.RequestCtx) (visitsParams, error) {
	var r visitsParams
	var err error
	if r.page, r.per, err = shlinkPage(ctx, -1); err != nil {
		return r, err
	}
	if r.per < 1 || r.per > shlinkMaxVisitsPage {
		r.per = shlinkMaxVisitsPage
	}
	if r.from, err = shlinkQueryTime(ctx, "startDate"); err != nil {
		return r, err
	}
	if r.to, err = shlinkQueryTime(ctx, "endDate"); err != nil {
		return r, err
	}
	r.excludeBots = ctx.QueryArgs().Has("excludeBots") // Shlink: any value
	if r.from.IsZero() {
		r.from = time.Unix(0, 0)
	}
	if r.to.IsZero() {
		r.to = time.Now().Truncate(time.Second).Add(time.Second)
	} else {
		r.to = r.to.Add(time.Second) // endDate is inclusive
	}
	return r, nil
}
