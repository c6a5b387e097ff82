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

	"github.com/minibitly/minibitly/internal/shortcode"
	"github.com/minibitly/minibitly/storage"
	"github.com/valyala/fasthttp"
)

// atomTime is PHP's DATE_ATOM, the format of Shlink's dates.
const atomTime = "2006-01-02T15:04:05-07:00"

// shlinkScanLimit bounds the links a Shlink list, tag list, tag stats or
// visits overview reads: the store lists links newest first by cursor
// only, so the Shlink filters, orderings and page numbers are applied here
// over at most the newest shlinkScanLimit links.
const shlinkScanLimit = 10000

// shlinkDefaultPageSize is Shlink's default itemsPerPage of short URLs.
const shlinkDefaultPageSize = 10

type shlinkVisitsSummary struct {
	Total   uint64 `json:"total"`
	NonBots uint64 `json:"nonBots"`
	Bots    uint64 `json:"bots"`
}

func (v *shlinkVisitsSummary) add(o shlinkVisitsSummary) {
	v.Total += o.Total
	v.NonBots += o.NonBots
	v.Bots += o.Bots
}

type shlinkMeta struct {
	ValidSince *string `json:"validSince"`
	ValidUntil *string `json:"validUntil"`
	MaxVisits  *int64  `json:"maxVisits"`
}

type shlinkShortURL struct {
	ShortCode        string              `json:"shortCode"`
	ShortURL         string              `json:"shortUrl"`
	LongURL          string              `json:"longUrl"`
	DateCreated      string              `json:"dateCreated"`
	VisitsSummary    shlinkVisitsSummary `json:"visitsSummary"`
	Tags             []string            `json:"tags"`
	Meta             shlinkMeta          `json:"meta"`
	Domain           *string             `json:"domain"`
	Title            *string             `json:"title"`
	Crawlable        bool                `json:"crawlable"`
	ForwardQuery     bool                `json:"forwardQuery"`
	HasRedirectRules bool                `json:"hasRedirectRules"`
}

func atom(t time.Time) string { return t.UTC().Format(atomTime) }

func (s *Server) shlinkShortURLOut(l *storage.Link, v shlinkVisitsSummary) *shlinkShortURL {
	o := &shlinkShortURL{
		ShortCode:     l.Code,
		ShortURL:      s.linkOut(l, nil).ShortURL,
		LongURL:       l.URL,
		DateCreated:   atom(l.CreatedAt),
		VisitsSummary: v,
		Tags:          l.Tags,
		ForwardQuery:  l.ForwardQuery,
	}
	if o.Tags == nil {
		o.Tags = []string{}
	}
	if l.Title != "" {
		t := l.Title
		o.Title = &t
	}
	if !l.ExpiresAt.IsZero() {
		t := atom(l.ExpiresAt)
		o.Meta.ValidUntil = &t
	}
	if l.MaxVisits > 0 {
		n := l.MaxVisits
		o.Meta.MaxVisits = &n
	}
	return o
}

// shlinkSummary is a link's visitsSummary: the live total (stored plus
// not yet flushed, as /api/v1 reports it) and the stored bot visits; a
// bot visit not flushed yet counts as a non-bot one until it is.
func (s *Server) shlinkSummary(c context.Context, l *storage.Link) (shlinkVisitsSummary, error) {
	now := time.Now().UTC()
	q := storage.StatsQuery{Code: l.Code, From: l.CreatedAt.UTC().Truncate(time.Minute), To: now.Truncate(time.Second).Add(time.Second), Interval: storage.Day, TopN: 1}
	if !q.To.After(q.From) {
		q.From = q.To.Add(-time.Minute)
	}
	st, err := s.d.Stats.Stats(c, q)
	if err != nil {
		return shlinkVisitsSummary{}, err
	}
	total := st.Total
	if n, err := s.d.Resolver.Visits(c, l.Code); err == nil && n > total {
		total = n
	}
	bots := min(st.Bots, total)
	return shlinkVisitsSummary{Total: total, NonBots: total - bots, Bots: bots}, nil
}

// shlinkLink reads the link of a {shortCode} route with its ?domain=.
func (s *Server) shlinkLink(c context.Context, ctx *fasthttp.RequestCtx, code string) (storage.Link, error) {
	if !shortcode.WellFormedString(code) || !s.shlinkDefaultDomain(string(ctx.QueryArgs().Peek("domain"))) {
		return storage.Link{}, storage.ErrNotFound
	}
	return s.d.Links.GetLink(c, code)
}

func (s *Server) writeShlinkShortURL(c context.Context, ctx *fasthttp.RequestCtx, l *storage.Link) error {
	v, err := s.shlinkSummary(c, l)
	if err != nil {
		return err
	}
	s.writeJSON(ctx, http.StatusOK, s.shlinkShortURLOut(l, v))
	return nil
}

func (s *Server) shlinkGetShortURL(c context.Context, ctx *fasthttp.RequestCtx, code string) error {
	l, err := s.shlinkLink(c, ctx, code)
	if err != nil {
		return err
	}
	return s.writeShlinkShortURL(c, ctx, &l)
}

func (s *Server) shlinkDeleteShortURL(c context.Context, ctx *fasthttp.RequestCtx, code string) error {
	if _, err := s.shlinkLink(c, ctx, code); err != nil {
		return err
	}
	if err := s.d.Links.DeleteLink(c, code); err != nil {
		return err
	}
	s.d.Resolver.LinkChanged(c, code)
	ctx.SetStatusCode(http.StatusNoContent)
	return nil
}

// shlinkLinkIn reads the Shlink fields that have an /api/v1 counterpart
// into a linkIn, for linkFields (and newLink) to validate: longUrl,
// title, tags, validUntil, maxVisits, forwardQuery; and validSince and
// crawlable, which Mini Bitly does not store: validSince is accepted when
// it is not in the future (a link is valid from its creation), crawlable
// is accepted and ignored (the redirect path serves no robots.txt).
func shlinkLinkIn(body map[string]json.RawMessage, now time.Time) (linkIn, error) {
	var in linkIn
	var err error
	if in.URL, err = shlinkField[string](body, "longUrl", "a string"); err != nil {
		return in, err
	}
	if in.Title, err = shlinkField[string](body, "title", "a string or null"); err != nil {
		return in, err
	}
	if in.Title.Null { // null clears the title
		in.Title = nullable[string]{Set: true}
	}
	if in.Tags, err = shlinkField[[]string](body, "tags", "an array of strings"); err != nil {
		return in, err
	}
	if in.Tags.Null {
		in.Tags = nullable[[]string]{Set: true, V: []string{}}
	}
	if in.ExpiresAt, err = shlinkField[string](body, "validUntil", "an ISO 8601 date or null"); err != nil {
		return in, err
	}
	if in.MaxVisits, err = shlinkField[int64](body, "maxVisits", "an integer or null"); err != nil {
		return in, err
	}
	if in.ForwardQuery, err = shlinkField[bool](body, "forwardQuery", "a boolean"); err != nil {
		return in, err
	}
	if in.ForwardQuery.Null {
		in.ForwardQuery = nullable[bool]{}
	}
	since, err := shlinkField[string](body, "validSince", "an ISO 8601 date or null")
	if err != nil {
		return in, err
	}
	if since.Set && !since.Null {
		t, err := time.Parse(time.RFC3339, since.V)
		if err != nil {
			return in, shlinkInvalid("validSince", "%q is not an ISO 8601 date such as 2030-01-02T15:04:05+00:00", since.V)
		}
		if t.After(now) {
			return in, shlinkInvalid("validSince", "a validSince in the future is not supported: links are valid from their creation")
		}
	}
	if _, err := shlinkField[bool](body, "crawlable", "a boolean"); err != nil {
		return in, err
	}
	return in, nil
}

func (s *Server) shlinkCreateShortURL(c context.Context, ctx *fasthttp.RequestCtx, _ string) error {
	body, err := shlinkBody(ctx)
	if err != nil {
		return err
	}
	return s.shlinkCreate(c, ctx, body, nil)
}

// shlinkCreate creates the link body describes and answers it as JSON, or
// through write when given (GET /short-urls/shorten's text format).
func (s *Server) shlinkCreate(c context.Context, ctx *fasthttp.RequestCtx, body map[string]json.RawMessage, write func(*storage.Link)) error {
	now := apiNow()
	in, err := shlinkLinkIn(body, now)
	if err != nil {
		return err
	}
	if !in.URL.Set || in.URL.Null {
		return shlinkInvalid("longUrl", "is required")
	}
	if !in.ForwardQuery.Set { // Shlink's default
		in.ForwardQuery = nullable[bool]{Set: true, V: true}
	}
	slug, err := shlinkField[string](body, "customSlug", "a string")
	if err != nil {
		return err
	}
	if slug.Set && !slug.Null && slug.V != "" {
		in.Code = slug
	}
	domain, err := shlinkField[string](body, "domain", "a string")
	if err != nil {
		return err
	}
	if domain.Set && !domain.Null && !s.shlinkDefaultDomain(domain.V) {
		return shlinkInvalid("domain", "only the default domain %q is served here, not %q", s.shlinkDomain(), domain.V)
	}
	generate := shortcode.Generate
	if raw, ok := body["shortCodeLength"]; ok && string(raw) != "null" {
		n, err := strconv.Atoi(strings.Trim(string(raw), `"`))
		if err != nil || n < shortcode.MinLength || n > shortcode.MaxLength {
			return shlinkInvalid("shortCodeLength", "must be an integer from %d to %d, got %s", shortcode.MinLength, shortcode.MaxLength, raw)
		}
		generate = func() (string, error) { return shortcode.GenerateLength(n) }
	}
	find, err := shlinkField[bool](body, "findIfExists", "a boolean")
	if err != nil {
		return err
	}
	l, err := s.newLink(&in, now)
	if err != nil {
		return err
	}
	if find.V {
		if found, ok, err := s.shlinkFind(c, &l); err != nil {
			return err
		} else if ok {
			if write != nil {
				write(&found)
				return nil
			}
			return s.writeShlinkShortURL(c, ctx, &found)
		}
	}
	if err := s.insertLink(c, &l, generate); err != nil {
		if in.Code.Set {
			return &slugError{slug: in.Code.V, err: err}
		}
		return err
	}
	if write != nil {
		write(&l)
		return nil
	}
	s.writeJSON(ctx, http.StatusOK, s.shlinkShortURLOut(&l, shlinkVisitsSummary{}))
	return nil
}

// shlinkShorten is Shlink's single-step GET /short-urls/shorten?longUrl=
// (the key also as ?apiKey=, see routeShlink): a create with only longUrl
// and Shlink's defaults; format=txt answers the short URL alone, as
// text/plain (errors stay problems).
func (s *Server) shlinkShorten(c context.Context, ctx *fasthttp.RequestCtx, _ string) error {
	args := ctx.QueryArgs()
	format := string(args.Peek("format"))
	if format != "" && format != "json" && format != "txt" {
		return shlinkInvalid("format", "must be json or txt, got %q", format)
	}
	body := map[string]json.RawMessage{}
	if args.Has("longUrl") {
		v, _ := json.Marshal(string(args.Peek("longUrl")))
		body["longUrl"] = v
	}
	var write func(*storage.Link)
	if format == "txt" {
		write = func(l *storage.Link) {
			ctx.SetStatusCode(http.StatusOK)
			ctx.SetContentType("text/plain; charset=utf-8")
			ctx.SetBodyString(s.linkOut(l, nil).ShortURL)
		}
	}
	return s.shlinkCreate(c, ctx, body, write)
}

// slugError is an error of a create with a custom slug, which Shlink's
// non-unique-slug problem names.
type slugError struct {
	slug string
	err  error
}

func (e *slugError) Error() string { return e.err.Error() }
func (e *slugError) Unwrap() error { return e.err }

// shlinkFind is findIfExists: a link with want's long URL and, when given,
// its custom slug, tags, validUntil and maxVisits (the newest of the
// newest shlinkScanLimit links).
func (s *Server) shlinkFind(c context.Context, want *storage.Link) (storage.Link, bool, error) {
	var found storage.Link
	ok := false
	err := s.scanLinks(c, func(l *storage.Link) bool {
		match := l.URL == want.URL &&
			(want.Code == "" || l.Code == want.Code) &&
			(len(want.Tags) == 0 || sameTags(l.Tags, want.Tags)) &&
			(want.MaxVisits == 0 || l.MaxVisits == want.MaxVisits) &&
			(want.ExpiresAt.IsZero() || l.ExpiresAt.Equal(want.ExpiresAt))
		if match {
			found, ok = *l, true
		}
		return !match
	})
	return found, ok, err
}

func sameTags(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}

// scanLinks calls fn on the newest shlinkScanLimit links, newest first,
// until it returns false.
func (s *Server) scanLinks(c context.Context, fn func(*storage.Link) bool) error {
	q := storage.ListQuery{Limit: maxListSize}
	seen := 0
	for {
		links, next, err := s.d.Links.ListLinks(c, q)
		if err != nil {
			return err
		}
		for i := range links {
			if !fn(&links[i]) {
				return nil
			}
			if seen++; seen >= shlinkScanLimit {
				return nil
			}
		}
		if next == "" {
			return nil
		}
		q.Cursor = next
	}
}

func (s *Server) shlinkEditShortURL(c context.Context, ctx *fasthttp.RequestCtx, code string) error {
	if _, err := s.shlinkLink(c, ctx, code); err != nil {
		return err
	}
	body, err := shlinkBody(ctx)
	if err != nil {
		return err
	}
	now := apiNow()
	in, err := shlinkLinkIn(body, now)
	if err != nil {
		return err
	}
	p, err := s.linkFields(&in, now)
	if err != nil {
		return err
	}
	var l storage.Link
	if p == (storage.LinkPatch{}) { // nothing Mini Bitly stores changes
		l, err = s.d.Links.GetLink(c, code)
	} else {
		l, err = s.d.Links.UpdateLink(c, code, p)
		if err == nil {
			s.d.Resolver.LinkChanged(c, code)
		}
	}
	if err != nil {
		return err
	}
	return s.writeShlinkShortURL(c, ctx, &l)
}

// shlinkPagination is Shlink's pagination object.
type shlinkPagination struct {
	CurrentPage        int `json:"currentPage"`
	PagesCount         int `json:"pagesCount"`
	ItemsPerPage       int `json:"itemsPerPage"`
	ItemsInCurrentPage int `json:"itemsInCurrentPage"`
	TotalItems         int `json:"totalItems"`
}

// maxPageParam bounds page and itemsPerPage, so page × itemsPerPage
// cannot overflow.
const maxPageParam = 1 << 30

// shlinkPage reads page and itemsPerPage (def when absent; below 1 = all).
func shlinkPage(ctx *fasthttp.RequestCtx, def int) (page, per int, err error) {
	page, per = 1, def
	args := ctx.QueryArgs()
	if v := args.Peek("page"); len(v) > 0 {
		if page, err = strconv.Atoi(string(v)); err != nil || page < 1 || page > maxPageParam {
			return 0, 0, shlinkInvalid("page", "must be an integer from 1 to %d, got %q", maxPageParam, v)
		}
	}
	if v := args.Peek("itemsPerPage"); len(v) > 0 {
		if per, err = strconv.Atoi(string(v)); err != nil || per > maxPageParam {
			return 0, 0, shlinkInvalid("itemsPerPage", "must be an integer up to %d (-1 for all), got %q", maxPageParam, v)
		}
	}
	return page, per, nil
}

// paginate returns the bounds of page in n items and its pagination.
func paginate(n, page, per int) (lo, hi int, p shlinkPagination) {
	if per < 1 {
		per = max(n, 1)
	}
	pages := max((n+per-1)/per, 1)
	lo = min((page-1)*per, n)
	hi = min(lo+per, n)
	return lo, hi, shlinkPagination{CurrentPage: page, PagesCount: pages, ItemsPerPage: per, ItemsInCurrentPage: hi - lo, TotalItems: n}
}

// shlinkQueryTime reads an ISO 8601 query date ("" when absent).
func shlinkQueryTime(ctx *fasthttp.RequestCtx, name string) (time.Time, error) {
	v := ctx.QueryArgs().Peek(name)
	if len(v) == 0 {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, string(v))
	if err != nil {
		return time.Time{}, shlinkInvalid(name, "must be an ISO 8601 date such as 2030-01-02T15:04:05+00:00, got %q", v)
	}
	return t, nil
}

// queryList is the values of a repeated array parameter (tags[]=a&tags[]=b),
// also accepted without the brackets.
func queryList(ctx *fasthttp.RequestCtx, name string) []string {
	var out []string
	for _, k := range []string{name + "[]", name} {
		for _, v := range ctx.QueryArgs().PeekMulti(k) {
			out = append(out, string(v))
		}
	}
	return out
}

func shlinkMode(ctx *fasthttp.RequestCtx, name string) (all bool, err error) {
	switch v := string(ctx.QueryArgs().Peek(name)); v {
	case "", "any":
		return false, nil
	case "all":
		return true, nil
	default:
		return false, shlinkInvalid(name, "must be any or all, got %q", v)
	}
}

func hasTags(l *storage.Link, tags []string, all bool) bool {
	for _, t := range tags {
		if l.HasTag(t) != all {
			return !all
		}
	}
	return all
}

// shlinkListItem is a listed link with its summary once computed.
type shlinkListItem struct {
	l    storage.Link
	v    shlinkVisitsSummary
	done bool
}

func (s *Server) shlinkListShortURLs(c context.Context, ctx *fasthttp.RequestCtx, _ string) error {
	page, per, err := shlinkPage(ctx, shlinkDefaultPageSize)
	if err != nil {
		return err
	}
	tags, excl := queryList(ctx, "tags"), queryList(ctx, "excludeTags")
	tagsAll, err := shlinkMode(ctx, "tagsMode")
	if err != nil {
		return err
	}
	exclAll, err := shlinkMode(ctx, "excludeTagsMode")
	if err != nil {
		return err
	}
	from, err := shlinkQueryTime(ctx, "startDate")
	if err != nil {
		return err
	}
	to, err := shlinkQueryTime(ctx, "endDate")
	if err != nil {
		return err
	}
	field, desc := "dateCreated", true
	if v := string(ctx.QueryArgs().Peek("orderBy")); v != "" {
		f, dir, _ := strings.Cut(v, "-")
		switch f {
		case "longUrl", "shortCode", "dateCreated", "title", "visits", "nonBotVisits":
		default:
			return shlinkInvalid("orderBy", "field must be one of longUrl, shortCode, dateCreated, title, visits, nonBotVisits, got %q", f)
		}
		switch dir {
		case "", "ASC", "asc":
			desc = false
		case "DESC", "desc":
			desc = true
		default:
			return shlinkInvalid("orderBy", "direction must be ASC or DESC, got %q", dir)
		}
		field = f
	}
	term := strings.ToLower(string(ctx.QueryArgs().Peek("searchTerm")))
	exclMax := string(ctx.QueryArgs().Peek("excludeMaxVisitsReached")) == "true"
	exclPast := string(ctx.QueryArgs().Peek("excludePastValidUntil")) == "true"
	domainOK := s.shlinkDefaultDomain(string(ctx.QueryArgs().Peek("domain")))
	now := time.Now()
	host := strings.ToLower(s.shlinkDomain())

	var items []*shlinkListItem
	err = s.scanLinks(c, func(l *storage.Link) bool {
		switch {
		case !domainOK:
			return false
		case len(tags) > 0 && !hasTags(l, tags, tagsAll):
		case len(excl) > 0 && hasTags(l, excl, exclAll):
		case !from.IsZero() && l.CreatedAt.Before(from):
		case !to.IsZero() && l.CreatedAt.After(to):
		case exclPast && !l.ExpiresAt.IsZero() && !l.ExpiresAt.After(now):
		case term != "" && !matchesTerm(l, term, host):
		default:
			items = append(items, &shlinkListItem{l: *l})
		}
		return true
	})
	if err != nil {
		return err
	}
	summary := func(it *shlinkListItem) error {
		if !it.done {
			v, err := s.shlinkSummary(c, &it.l)
			if err != nil {
				return err
			}
			it.v, it.done = v, true
		}
		return nil
	}
	if exclMax || field == "visits" || field == "nonBotVisits" {
		for _, it := range items {
			if err := summary(it); err != nil {
				return err
			}
		}
	}
	if exclMax {
		items = slices.DeleteFunc(items, func(it *shlinkListItem) bool {
			return it.l.MaxVisits > 0 && it.v.Total >= uint64(it.l.MaxVisits)
		})
	}
	slices.SortStableFunc(items, func(a, b *shlinkListItem) int {
		var r int
		switch field {
		case "longUrl":
			r = strings.Compare(a.l.URL, b.l.URL)
		case "shortCode":
			r = strings.Compare(a.l.Code, b.l.Code)
		case "title":
			r = strings.Compare(a.l.Title, b.l.Title)
		case "visits":
			r = cmp.Compare(a.v.Total, b.v.Total)
		case "nonBotVisits":
			r = cmp.Compare(a.v.NonBots, b.v.NonBots)
		default:
			r = a.l.CreatedAt.Compare(b.l.CreatedAt)
		}
		if desc {
			r = -r
		}
		return r
	})
	lo, hi, pg := paginate(len(items), page, per)
	out := struct {
		ShortURLs struct {
			Data       []*shlinkShortURL `json:"data"`
			Pagination shlinkPagination  `json:"pagination"`
		} `json:"shortUrls"`
	}{}
	out.ShortURLs.Data = make([]*shlinkShortURL, 0, hi-lo)
	out.ShortURLs.Pagination = pg
	for _, it := range items[lo:hi] {
		if err := summary(it); err != nil {
			return err
		}
		out.ShortURLs.Data = append(out.ShortURLs.Data, s.shlinkShortURLOut(&it.l, it.v))
	}
	s.writeJSON(ctx, http.StatusOK, &out)
	return nil
}

// matchesTerm is Shlink's searchTerm: a case-insensitive substring of the
// long URL, short code, title, a tag or the domain.
func matchesTerm(l *storage.Link, term, host string) bool {
	if strings.Contains(strings.ToLower(l.URL), term) || strings.Contains(strings.ToLower(l.Code), term) ||
		strings.Contains(strings.ToLower(l.Title), term) || strings.Contains(host, term) {
		return true
	}
	for _, t := range l.Tags {
		if strings.Contains(strings.ToLower(t), term) {
			return true
		}
	}
	return false
}
