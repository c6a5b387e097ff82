package gateway

import (
	"bytes"
	"context"
	"errors"
	"net/http"

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
	s.recordVisit(ctx, e, now)
	s.m.observeRedirect(e.Status, start)
}

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
		sep := byte('?')
		if bytes.IndexByte(e.Location, '?') >= 0 {
			sep = '&'
		}
		bb := bytebufferpool.Get()
		bb.B = append(append(append(bb.B[:0], e.Location...), sep), q...)
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

// recordVisit classifies the visitor and queues one visit for the batcher.
func (s *Server) recordVisit(ctx *fasthttp.RequestCtx, e *nearcache.Entry, now int64) {
	h := &ctx.Request.Header
	class := s.uaCache.Classify(h.PeekBytes(hdrUserAgent))
	var country [2]byte
	if s.cfg.CountryHeader != "" {
		country = countryCode(h.Peek(s.cfg.CountryHeader))
	}
	dims := class.Pack(country)
	s.d.Visits.Record(ctx.ConnID(), e.Code, now-now%60, dims, referrerHost(h.PeekBytes(hdrReferer)))
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
	if len(ref) > 0 && ref[0] != '[' {
		for j := len(ref) - 1; j >= 0; j-- {
			if ref[j] == ':' {
				ref = ref[:j]
				break
			}
		}
	}
	return ref
}
