package gateway

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/minibitly/minibitly/internal/nearcache"
	"github.com/minibitly/minibitly/internal/shortcode"
	"github.com/minibitly/minibitly/storage"
	"github.com/valyala/bytebufferpool"
	"github.com/valyala/fasthttp"
)

var (
	hdrLocation     = []byte("Location")
	hdrCacheControl = []byte("Cache-Control")
	hdrReferer      = []byte("Referer")
	hdrUserAgent    = []byte("User-Agent")
)

// serveRedirect is the hot path: a near-cache hit writes the redirect and
// queues the visit without locks (beyond a cache shard's read lock),
// allocations, I/O or logging.
func (s *Server) serveRedirect(ctx *fasthttp.RequestCtx, code []byte) {
	start := ctx.Time()
	if !ctx.IsGet() && !ctx.IsHead() {
		s.writeError(ctx, errorf(http.StatusMethodNotAllowed, "method_not_allowed", "redirects answer GET and HEAD only"))
		return
	}
	if !s.limitRedirect(ctx) {
		return
	}
	if !shortcode.WellFormed(code) {
		if !s.limitMiss(ctx) {
			return
		}
		s.m.redirect404.Inc()
		s.writeNoLink(ctx, code, errorf(http.StatusNotFound, "not_found", "no such link"))
		return
	}
	now := s.d.Clock.Unix()
	e := s.d.Cache.Get(code, now)
	if e != nil {
		s.m.cacheHits.Inc()
	} else {
		s.m.cacheMisses.Inc()
		if !s.limitMiss(ctx) {
			return
		}
		var err error
		e, err = s.resolveMiss(string(code))
		if err != nil {
			if errors.Is(err, storage.ErrNotFound) {
				s.m.redirect404.Inc()
				s.writeNoLink(ctx, code, err)
				return
			}
			s.m.redirect5xx.Inc()
			s.writeError(ctx, err)
			return
		}
	}
	if e.Gone {
		if !s.limitMiss(ctx) {
			return
		}
		s.m.redirect404.Inc()
		s.writeNoLink(ctx, code, errorf(http.StatusNotFound, "not_found", "no such link"))
		return
	}
	if e.Blocked || e.Disabled {
		s.m.redirect410.Inc()
		if e.Disabled {
			s.writeNoLink(ctx, code, errDisabled)
		} else {
			s.writeNoLink(ctx, code, errBlocked)
		}
		return
	}
	if e.Expired(now) {
		s.m.redirect410.Inc()
		s.writeNoLink(ctx, code, errorf(http.StatusGone, "link_expired", "this link has expired"))
		return
	}
	if e.Limited {
		ok, err := s.admit(e.Code)
		if err != nil {
			s.m.redirect5xx.Inc()
			s.writeError(ctx, err)
			return
		}
		if !ok {
			s.m.redirect410.Inc()
			s.writeNoLink(ctx, code, errorf(http.StatusGone, "visit_limit_reached", "this link has reached its visit limit"))
			return
		}
	}
	s.writeRedirect(ctx, e)
	s.recordCode(ctx, e.Code, now)
	s.m.observeRedirect(e.Status, start)
}

// errBlocked answers a link whose destination is on the blocklist.
var errBlocked = errorf(http.StatusGone, "link_blocked", "this link's destination is blocked on this service")

// errDisabled answers a link an admin disabled.
var errDisabled = errorf(http.StatusGone, "link_disabled", "this link has been disabled")

func (s *Server) resolveMiss(code string) (*nearcache.Entry, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ResolveTimeout)
	defer cancel()
	return s.d.Resolver.Resolve(ctx, code)
}

func (s *Server) admit(code string) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ResolveTimeout)
	defer cancel()
	return s.d.Resolver.Admit(ctx, code)
}

func (s *Server) writeRedirect(ctx *fasthttp.RequestCtx, e *nearcache.Entry) {
	ctx.Response.SetStatusCode(e.Status)
	h := &ctx.Response.Header
	if q := ctx.URI().QueryString(); e.ForwardQuery && len(q) > 0 {
		// The visitor's query goes before the long URL's fragment, after
		// its own query if it has one.
		loc := e.Location
		frag := bytes.IndexByte(loc, '#')
		if frag < 0 {
			frag = len(loc)
		}
		bb := bytebufferpool.Get()
		bb.B = append(bb.B[:0], loc[:frag]...)
		switch {
		case frag > 0 && (loc[frag-1] == '?' || loc[frag-1] == '&'):
		case bytes.IndexByte(loc[:frag], '?') >= 0:
			bb.B = append(bb.B, '&')
		default:
			bb.B = append(bb.B, '?')
		}
		bb.B = appendQuery(bb.B, q)
		bb.B = append(bb.B, loc[frag:]...)
		h.SetCanonical(hdrLocation, bb.B)
		bytebufferpool.Put(bb)
	} else {
		h.SetCanonical(hdrLocation, e.Location)
	}
	cc := e.CacheControl
	if cc == nil {
		cc = s.defaultCC
	}
	h.SetCanonical(hdrCacheControl, cc)
}

// appendQuery appends a visitor's raw query string to dst, percent-encoding
// every byte that is not valid in a URL's query (RFC 3986: controls, space,
// non-ASCII, " # < > \ ^ ` { | } and a % that does not start an escape), so
// the Location header carries only URL bytes and the query cannot start a
// fragment.
func appendQuery(dst, q []byte) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(q); i++ {
		c := q[i]
		if queryByte[c] || c == '%' && i+2 < len(q) && isHex(q[i+1]) && isHex(q[i+2]) {
			dst = append(dst, c)
			continue
		}
		dst = append(dst, '%', hex[c>>4], hex[c&15])
	}
	return dst
}

// queryByte marks the bytes copied as they are by appendQuery.
var queryByte = func() (t [256]bool) {
	for c := 0x21; c < 0x7f; c++ {
		t[c] = true
	}
	for _, c := range []byte("\"#<>\\^`{|}%") {
		t[c] = false
	}
	return t
}()

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// recordCode classifies the visitor and queues one visit of code (a
// link's, or an orphan pseudo-code: orphan_visits.go) for the batcher.
// code is kept, not copied: the entry's code or a constant.
func (s *Server) recordCode(ctx *fasthttp.RequestCtx, code string, now int64) {
	h := &ctx.Request.Header
	ua := h.PeekBytes(hdrUserAgent)
	class := s.uaCache.Classify(ua)
	var country [2]byte
	if s.cfg.CountryHeader != "" {
		country = countryCode(h.Peek(s.cfg.CountryHeader))
	}
	dims := class.Pack(country)
	ref := h.PeekBytes(hdrReferer)
	s.d.Visits.Record(ctx.ConnID(), code, now-now%60, dims, referrerHost(ref))
	if s.d.RawVisits != nil && !strings.HasPrefix(code, orphanCodePrefix) {
		// --raw-visits: the event too, to the second (orphans stay
		// aggregates). No address of the client is recorded.
		s.d.RawVisits.Record(ctx.ConnID(), code, now, dims, referrerURL(ref), ua)
	}
}

// referrerURL is a Referer header value without its query string and
// fragment (which may carry tokens or personal data).
func referrerURL(ref []byte) []byte {
	for i, c := range ref {
		if c == '?' || c == '#' {
			return ref[:i]
		}
	}
	return ref
}

// countryCode keeps a two-letter code, upper-cased; anything else is unknown.
func countryCode(b []byte) (c [2]byte) {
	if len(b) != 2 {
		return c
	}
	for i := 0; i < 2; i++ {
		x := b[i]
		if x >= 'a' && x <= 'z' {
			x -= 'a' - 'A'
		}
		if x < 'A' || x > 'Z' {
			return [2]byte{}
		}
		c[i] = x
	}
	return c
}

// referrerHost returns the host of a Referer header value (lower case is the
// batcher's job), without scheme, credentials, port or path.
func referrerHost(ref []byte) []byte {
	if len(ref) == 0 {
		return nil
	}
	i := 0
	for ; i+2 < len(ref); i++ {
		if ref[i] == ':' && ref[i+1] == '/' && ref[i+2] == '/' {
			ref = ref[i+3:]
			break
		}
		if ref[i] == '/' {
			break
		}
	}
	end := len(ref)
	for j, c := range ref {
		if c == '/' || c == '?' || c == '#' {
			end = j
			break
		}
	}
	ref = ref[:end]
	for j := len(ref) - 1; j >= 0; j-- {
		if ref[j] == '@' {
			ref = ref[j+1:]
			break
		}
	}
	if len(ref) > 0 && ref[0] == '[' { // an IPv6 literal: up to its ']'
		if j := bytes.IndexByte(ref, ']'); j > 0 {
			ref = ref[:j+1]
		}
		return ref
	}
	for j := len(ref) - 1; j >= 0; j-- {
		if ref[j] == ':' {
			ref = ref[:j]
			break
		}
	}
	return ref
}
