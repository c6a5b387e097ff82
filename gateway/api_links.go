package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/minibitly/minibitly/internal/shortcode"
	"github.com/minibitly/minibitly/internal/urlcheck"
	"github.com/minibitly/minibitly/storage"
	"github.com/valyala/fasthttp"
)

// Limits of link fields.
const (
	maxTitleRunes   = 512
	maxTags         = 20
	maxTagLen       = 64
	maxCacheMaxAge  = 365 * 24 * 3600
	maxBulkLinks    = 1000
	generateRetries = 5
	defaultListSize = 50
	maxListSize     = 1000
)

// linkOut is the link object of every API answer.
type linkOut struct {
	Code           string     `json:"code"`
	ShortURL       string     `json:"short_url"`
	URL            string     `json:"url"`
	Title          string     `json:"title"`
	Tags           []string   `json:"tags"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	ExpiresAt      *time.Time `json:"expires_at"`
	MaxVisits      *int64     `json:"max_visits"`
	RedirectStatus int        `json:"redirect_status"`
	ForwardQuery   bool       `json:"forward_query"`
	CacheMaxAge    *int       `json:"cache_max_age"`
	Disabled       bool       `json:"disabled"`
	Version        int64      `json:"version"`
	Visits         *uint64    `json:"visits"`
}

func (s *Server) linkOut(l *storage.Link, visits *uint64) *linkOut {
	o := &linkOut{
		Code:           l.Code,
		ShortURL:       strings.TrimSuffix(s.cfg.BaseURL, "/") + "/" + l.Code,
		URL:            l.URL,
		Title:          l.Title,
		Tags:           l.Tags,
		CreatedAt:      l.CreatedAt.UTC(),
		UpdatedAt:      l.UpdatedAt.UTC(),
		RedirectStatus: l.RedirectStatus,
		ForwardQuery:   l.ForwardQuery,
		Disabled:       l.Disabled,
		Version:        l.Version,
		Visits:         visits,
	}
	if o.Tags == nil {
		o.Tags = []string{}
	}
	if !l.ExpiresAt.IsZero() {
		t := l.ExpiresAt.UTC()
		o.ExpiresAt = &t
	}
	if l.MaxVisits > 0 {
		n := l.MaxVisits
		o.MaxVisits = &n
	}
	if l.CacheMaxAge >= 0 {
		n := l.CacheMaxAge
		o.CacheMaxAge = &n
	}
	return o
}

// linkIn is the body of a create (every field) or a patch (every field but
// code). Absent, null and a value are told apart; which fields accept null
// is decided by linkFields.
type linkIn struct {
	URL            nullable[string]   `json:"url"`
	Code           nullable[string]   `json:"code"`
	Title          nullable[string]   `json:"title"`
	Tags           nullable[[]string] `json:"tags"`
	ExpiresAt      nullable[string]   `json:"expires_at"`
	MaxVisits      nullable[int64]    `json:"max_visits"`
	RedirectStatus nullable[int]      `json:"redirect_status"`
	ForwardQuery   nullable[bool]     `json:"forward_query"`
	CacheMaxAge    nullable[int]      `json:"cache_max_age"`
	Disabled       nullable[bool]     `json:"disabled"`
}

func fieldError(status int, field, format string, args ...any) *Error {
	return errorf(status, "invalid_"+field, fmt.Sprintf("field %q: ", field)+fmt.Sprintf(format, args...))
}

func notNull(field string) *Error {
	return errorf(http.StatusBadRequest, "invalid_type", fmt.Sprintf("field %q must not be null", field))
}

// linkFields validates the fields of in other than code and returns them
// as a patch. null clears expires_at and max_visits and resets
// cache_max_age to the server default; it is refused elsewhere.
func (s *Server) linkFields(in *linkIn, now time.Time) (storage.LinkPatch, error) {
	var p storage.LinkPatch
	if in.URL.Set {
		if in.URL.Null {
			return p, notNull("url")
		}
		u, err := s.canonicalURL(in.URL.V)
		if err != nil {
			return p, fieldError(http.StatusUnprocessableEntity, "url", "%s", strings.TrimPrefix(err.Error(), urlcheck.ErrInvalid.Error()+": "))
		}
		p.URL = &u
	}
	if p.URL != nil && s.d.Blocklist.BlockedURL(*p.URL) {
		return p, fieldError(http.StatusUnprocessableEntity, "url", "the destination's domain is on this service's blocklist")
	}
	if in.Title.Set {
		if in.Title.Null {
			return p, notNull("title")
		}
		if err := checkTitle(in.Title.V); err != nil {
			return p, err
		}
		p.Title = &in.Title.V
	}
	if in.Tags.Set {
		if in.Tags.Null {
			return p, notNull("tags")
		}
		tags := in.Tags.V
		if tags == nil {
			tags = []string{}
		}
		if err := checkTags(tags); err != nil {
			return p, err
		}
		p.Tags = &tags
	}
	if in.ExpiresAt.Set {
		var t time.Time // null: never expires
		if !in.ExpiresAt.Null {
			var err error
			t, err = time.Parse(time.RFC3339, in.ExpiresAt.V)
			if err != nil {
				return p, fieldError(http.StatusUnprocessableEntity, "expires_at", "%q is not an RFC 3339 time such as 2030-01-02T15:04:05Z", excerpt(in.ExpiresAt.V))
			}
			if !t.After(now) {
				return p, fieldError(http.StatusUnprocessableEntity, "expires_at", "%s is not in the future", in.ExpiresAt.V)
			}
			t = t.UTC()
		}
		p.ExpiresAt = &t
	}
	if in.MaxVisits.Set {
		var n int64 // null: unlimited
		if !in.MaxVisits.Null {
			if in.MaxVisits.V < 1 {
				return p, fieldError(http.StatusUnprocessableEntity, "max_visits", "must be at least 1 (or null for no limit), got %d", in.MaxVisits.V)
			}
			n = in.MaxVisits.V
		}
		p.MaxVisits = &n
	}
	if in.RedirectStatus.Set {
		if in.RedirectStatus.Null {
			return p, notNull("redirect_status")
		}
		switch in.RedirectStatus.V {
		case 301, 302, 307, 308:
		default:
			return p, fieldError(http.StatusUnprocessableEntity, "redirect_status", "must be 301, 302, 307 or 308, got %d", in.RedirectStatus.V)
		}
		p.RedirectStatus = &in.RedirectStatus.V
	}
	if in.ForwardQuery.Set {
		if in.ForwardQuery.Null {
			return p, notNull("forward_query")
		}
		p.ForwardQuery = &in.ForwardQuery.V
	}
	if in.CacheMaxAge.Set {
		n := -1 // null: the server default
		if !in.CacheMaxAge.Null {
			if in.CacheMaxAge.V < 0 || in.CacheMaxAge.V > maxCacheMaxAge {
				return p, fieldError(http.StatusUnprocessableEntity, "cache_max_age", "must be between 0 and %d seconds (or null for the server default), got %d", maxCacheMaxAge, in.CacheMaxAge.V)
			}
			n = in.CacheMaxAge.V
		}
		p.CacheMaxAge = &n
	}
	if in.Disabled.Set {
		if in.Disabled.Null {
			return p, notNull("disabled")
		}
		p.Disabled = &in.Disabled.V
	}
	return p, nil
}

// hiddenRunes are refused in titles with their names: bidirectional
// controls make a title display in another order than it is written (the
// "Trojan Source" trick), zero-width characters hide text or split a word
// so it no longer matches what it looks like.
var hiddenRunes = map[rune]string{
	0x00AD: "SOFT HYPHEN",
	0x061C: "ARABIC LETTER MARK",
	0x180E: "MONGOLIAN VOWEL SEPARATOR",
	0x200B: "ZERO WIDTH SPACE",
	0x200C: "ZERO WIDTH NON-JOINER",
	0x200D: "ZERO WIDTH JOINER",
	0x200E: "LEFT-TO-RIGHT MARK",
	0x200F: "RIGHT-TO-LEFT MARK",
	0x202A: "LEFT-TO-RIGHT EMBEDDING",
	0x202B: "RIGHT-TO-LEFT EMBEDDING",
	0x202C: "POP DIRECTIONAL FORMATTING",
	0x202D: "LEFT-TO-RIGHT OVERRIDE",
	0x202E: "RIGHT-TO-LEFT OVERRIDE",
	0x2060: "WORD JOINER",
	0x2061: "FUNCTION APPLICATION",
	0x2062: "INVISIBLE TIMES",
	0x2063: "INVISIBLE SEPARATOR",
	0x2064: "INVISIBLE PLUS",
	0x2066: "LEFT-TO-RIGHT ISOLATE",
	0x2067: "RIGHT-TO-LEFT ISOLATE",
	0x2068: "FIRST STRONG ISOLATE",
	0x2069: "POP DIRECTIONAL ISOLATE",
	0xFEFF: "ZERO WIDTH NO-BREAK SPACE",
}

// checkTitle refuses titles too long, with control characters, or with
// bidirectional controls or zero-width characters (hiddenRunes). The
// error names the character and counts characters, not bytes.
func checkTitle(t string) error {
	if n := utf8.RuneCountInString(t); n > maxTitleRunes {
		return fieldError(http.StatusUnprocessableEntity, "title", "is %d characters long; the maximum is %d", n, maxTitleRunes)
	}
	pos := 0
	for _, r := range t {
		pos++
		if unicode.IsControl(r) {
			return fieldError(http.StatusUnprocessableEntity, "title", "contains a control character (%U) at character %d", r, pos)
		}
		if name, ok := hiddenRunes[r]; ok {
			return fieldError(http.StatusUnprocessableEntity, "title", "contains %U %s at character %d; bidirectional controls and zero-width characters are not allowed", r, name, pos)
		}
	}
	return nil
}

// validTag reports whether t is 1..64 characters of [A-Za-z0-9_:.-].
func validTag(t string) bool {
	if len(t) == 0 || len(t) > maxTagLen {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == ':' || c == '.') {
			return false
		}
	}
	return true
}

func checkTags(tags []string) error {
	if len(tags) > maxTags {
		return fieldError(http.StatusUnprocessableEntity, "tags", "has %d tags; the maximum is %d", len(tags), maxTags)
	}
	seen := make(map[string]bool, len(tags))
	for i, t := range tags {
		if !validTag(t) {
			return fieldError(http.StatusUnprocessableEntity, "tags", "tag %d (%q) must be 1 to %d characters of A-Z, a-z, 0-9, '_', '-', ':' and '.'", i, excerpt(t), maxTagLen)
		}
		if seen[t] {
			return fieldError(http.StatusUnprocessableEntity, "tags", "tag %q appears more than once", excerpt(t))
		}
		seen[t] = true
	}
	return nil
}

// newLink validates a create body and returns the link to store; its Code
// is "" when one must be generated.
func (s *Server) newLink(in *linkIn, now time.Time) (storage.Link, error) {
	if !in.URL.Set {
		return storage.Link{}, fieldError(http.StatusUnprocessableEntity, "url", "is required")
	}
	p, err := s.linkFields(in, now)
	if err != nil {
		return storage.Link{}, err
	}
	if p.Disabled != nil {
		return storage.Link{}, fieldError(http.StatusUnprocessableEntity, "disabled", "is set on an existing link, with PATCH and an admin key")
	}
	l := storage.Link{
		Tags:           []string{},
		CreatedAt:      now,
		UpdatedAt:      now,
		RedirectStatus: http.StatusFound,
		CacheMaxAge:    -1,
		Version:        1,
	}
	if in.Code.Set && !in.Code.Null {
		if err := shortcode.Valid(in.Code.V); err != nil {
			return storage.Link{}, fieldError(http.StatusUnprocessableEntity, "code", "%s", strings.TrimPrefix(err.Error(), shortcode.ErrInvalid.Error()+": "))
		}
		l.Code = in.Code.V
	}
	p.Apply(&l, now)
	l.Version = 1 // Apply counts an update; this is the first version
	return l, nil
}

// apiNow is the time of an API write, at the microsecond precision every
// store keeps.
func apiNow() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

func (s *Server) createLink(c context.Context, ctx *fasthttp.RequestCtx, _ string) error {
	body, err := jsonBody(ctx)
	if err != nil {
		return err
	}
	var in linkIn
	if err := decodeStrict(body, &in, ""); err != nil {
		return err
	}
	l, err := s.storeNewLink(c, &in)
	if err != nil {
		return err
	}
	var zero uint64
	ctx.Response.Header.Set("Location", "/api/v1/links/"+l.Code)
	s.writeJSON(ctx, http.StatusCreated, s.linkOut(&l, &zero))
	return nil
}

// storeNewLink validates a create body and stores the link, generating its
// code unless one is given; the APIs that create links from a linkIn call
// it (the Shlink one builds its own linkIn and calls insertLink with its
// code length).
func (s *Server) storeNewLink(c context.Context, in *linkIn) (storage.Link, error) {
	l, err := s.newLink(in, apiNow())
	if err != nil {
		return l, err
	}
	if err := s.insertLink(c, &l, shortcode.Generate); err != nil {
		return l, err
	}
	return l, nil
}

// insertLink stores l, a link from newLink: with its custom code, or with
// a code from generate (retried on a collision) when l.Code is "".
func (s *Server) insertLink(c context.Context, l *storage.Link, generate func() (string, error)) error {
	custom := l.Code != ""
	for attempt := 0; ; attempt++ {
		if !custom {
			var err error
			if l.Code, err = generate(); err != nil {
				return err
			}
		}
		err := s.d.Links.CreateLink(c, *l)
		if err == nil {
			break
		}
		if !errors.Is(err, storage.ErrConflict) {
			return err
		}
		if custom {
			return errorf(http.StatusConflict, "code_taken", fmt.Sprintf("code %q is already taken (codes of deleted links are never reused)", l.Code))
		}
		if attempt+1 >= generateRetries {
			return errorf(http.StatusServiceUnavailable, "code_generation_failed", fmt.Sprintf("no free code found in %d attempts; try again", generateRetries))
		}
	}
	if custom {
		// Someone may have asked for this code before it existed: drop the
		// cached "no such link".
		s.d.Resolver.LinkChanged(c, l.Code)
	}
	return nil
}

// linkCode checks the {code} segment's syntax: anything else is no link.
func linkCode(code string) error {
	if !shortcode.WellFormedString(code) {
		return errorf(http.StatusNotFound, "not_found", fmt.Sprintf("no such link: %q", code))
	}
	return nil
}

// notFoundLink turns the store's ErrNotFound into a 404 naming the code.
func notFoundLink(code string, err error) error {
	if errors.Is(err, storage.ErrNotFound) {
		return errorf(http.StatusNotFound, "not_found", fmt.Sprintf("no such link: %q", code))
	}
	return err
}

// liveVisits asks the resolver for the live total. When it cannot answer,
// the link is still served, with "visits": null.
func (s *Server) liveVisits(c context.Context, code string) *uint64 {
	n, err := s.d.Resolver.Visits(c, code)
	if err != nil {
		s.log.Warn("live visit total unavailable", "code", code, "err", err)
		return nil
	}
	return &n
}

func (s *Server) getLink(c context.Context, ctx *fasthttp.RequestCtx, code string) error {
	if err := linkCode(code); err != nil {
		return err
	}
	l, err := s.d.Links.GetLink(c, code)
	if err != nil {
		return notFoundLink(code, err)
	}
	s.writeJSON(ctx, http.StatusOK, s.linkOut(&l, s.liveVisits(c, code)))
	return nil
}

func (s *Server) patchLink(c context.Context, ctx *fasthttp.RequestCtx, code string) error {
	if err := linkCode(code); err != nil {
		return err
	}
	body, err := jsonBody(ctx)
	if err != nil {
		return err
	}
	var in linkIn
	if err := decodeStrict(body, &in, ""); err != nil {
		return err
	}
	if in.Code.Set {
		return errorf(http.StatusBadRequest, "unknown_field", `field "code" cannot be changed; create a new link instead`)
	}
	l, err := s.updateLink(c, code, &in)
	if err != nil {
		return err
	}
	s.writeJSON(ctx, http.StatusOK, s.linkOut(&l, s.liveVisits(c, code)))
	return nil
}

// updateLink validates a patch (every field of in but code) and applies it,
// invalidating the caches; every API that edits links calls it.
func (s *Server) updateLink(c context.Context, code string, in *linkIn) (storage.Link, error) {
	p, err := s.linkFields(in, apiNow())
	if err != nil {
		return storage.Link{}, err
	}
	if p.Disabled != nil {
		if k, err := keyOf(c); err != nil || !k.HasScope(storage.ScopeAdmin) {
			return storage.Link{}, errorf(http.StatusForbidden, "forbidden", "disabling or enabling a link needs an API key with the admin scope")
		}
	}
	if p == (storage.LinkPatch{}) {
		return storage.Link{}, errorf(http.StatusUnprocessableEntity, "empty_patch", "the patch changes nothing; send at least one of url, title, tags, expires_at, max_visits, redirect_status, forward_query, cache_max_age, disabled")
	}
	l, err := s.d.Links.UpdateLink(c, code, p)
	if err != nil {
		return l, notFoundLink(code, err)
	}
	s.d.Resolver.LinkChanged(c, code)
	return l, nil
}

func (s *Server) deleteLink(c context.Context, ctx *fasthttp.RequestCtx, code string) error {
	if err := linkCode(code); err != nil {
		return err
	}
	if err := s.removeLink(c, code); err != nil {
		return err
	}
	ctx.SetStatusCode(http.StatusNoContent)
	return nil
}

// removeLink deletes a link and invalidates the caches.
func (s *Server) removeLink(c context.Context, code string) error {
	if err := s.d.Links.DeleteLink(c, code); err != nil {
		return notFoundLink(code, err)
	}
	s.d.Resolver.LinkChanged(c, code)
	return nil
}

type listOut struct {
	Links      []*linkOut `json:"links"`
	NextCursor *string    `json:"next_cursor"`
}

// queryArgs returns the query parameters, refusing names outside allowed
// and repeated names.
func queryArgs(ctx *fasthttp.RequestCtx, allowed ...string) (map[string]string, error) {
	out := map[string]string{}
	seen := map[string]bool{}
	var err error
	ctx.QueryArgs().VisitAll(func(k, v []byte) {
		if err != nil {
			return
		}
		name := string(k)
		ok := false
		for _, a := range allowed {
			ok = ok || a == name
		}
		switch {
		case !ok:
			err = errorf(http.StatusBadRequest, "invalid_query", fmt.Sprintf("unknown query parameter %q; allowed: %s", name, strings.Join(allowed, ", ")))
		case seen[name]:
			err = errorf(http.StatusBadRequest, "invalid_query", fmt.Sprintf("query parameter %q is given more than once", name))
		default:
			seen[name] = true
			out[name] = string(v)
		}
	})
	return out, err
}

func (s *Server) listLinks(c context.Context, ctx *fasthttp.RequestCtx, _ string) error {
	q, err := queryArgs(ctx, "limit", "cursor", "tag")
	if err != nil {
		return err
	}
	lq := storage.ListQuery{Limit: defaultListSize, Cursor: q["cursor"], Tag: q["tag"]}
	if v, ok := q["limit"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxListSize {
			return errorf(http.StatusBadRequest, "invalid_limit", fmt.Sprintf("query parameter \"limit\" must be an integer from 1 to %d, got %q", maxListSize, v))
		}
		lq.Limit = n
	}
	if _, ok := q["tag"]; ok && !validTag(lq.Tag) {
		return errorf(http.StatusBadRequest, "invalid_tag", fmt.Sprintf("query parameter \"tag\" must be 1 to %d characters of A-Z, a-z, 0-9, '_', '-', ':' and '.', got %q", maxTagLen, excerpt(lq.Tag)))
	}
	if _, ok := q["cursor"]; ok && lq.Cursor == "" {
		return errorf(http.StatusBadRequest, "invalid_cursor", "query parameter \"cursor\" is empty; omit it for the first page")
	}
	links, next, err := s.d.Links.ListLinks(c, lq)
	if err != nil {
		return err
	}
	out := listOut{Links: make([]*linkOut, len(links))}
	for i := range links {
		out.Links[i] = s.linkOut(&links[i], nil)
	}
	if next != "" {
		out.NextCursor = &next
	}
	s.writeJSON(ctx, http.StatusOK, &out)
	return nil
}
