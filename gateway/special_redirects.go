package gateway

import (
	"bytes"
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minibitly/minibitly/internal/blocklist"
	"github.com/minibitly/minibitly/storage"
	"github.com/valyala/fasthttp"
)

// The default domain's "not found" redirects (Shlink's special redirects,
// https://shlink.io/documentation/advanced/special-redirects), set through
// PATCH /rest/v3/domains/redirects and kept in the link store
// (storage.DomainRedirects). The gateway answers from a copy in memory,
// never reading the store per request:
//
//   - GET / (the base URL) → BaseURL; unset: the web UI (/ui/).
//   - /{one segment} that resolves no enabled link (unknown or malformed
//     code, deleted, expired, visit limit reached: Shlink's "invalid short
//     URL") → InvalidShortURL; unset: the 404 or 410 JSON error.
//   - a longer path no route owns (/a/b: Shlink's "regular 404") →
//     Regular404; unset: the 404 JSON error.
//
// The API's and the UI's own 404s (/api/v1/…, /rest/…, /v4/…, /ui/assets/…,
// /{code}/qr-code) are not redirected. A redirect is a 302 with
// "Cache-Control: private, max-age=0"; the URL is used as stored (Shlink's
// placeholders such as {DOMAIN} and {ORIGINAL_PATH} are not expanded).
//
// The copy is loaded when the server starts serving, replaced on this
// node by a PATCH, and re-read every Config.RedirectsRefresh: on other
// nodes of a cluster a change shows within that bound.

// specialRedirects is one immutable snapshot; a nil field is not set.
type specialRedirects struct {
	stored          storage.DomainRedirects
	base            []byte
	regular404      []byte
	invalidShortURL []byte
}

// newSpecialRedirects snapshots r; a redirect to a domain on blocked is
// left unset (the default answer), as a link to it would answer 410. The
// snapshot is rebuilt every --redirects-refresh, so a blocklist reload
// applies to them within that bound.
func newSpecialRedirects(r storage.DomainRedirects, blocked *blocklist.List) *specialRedirects {
	b := func(s string) []byte {
		if s == "" || blocked.BlockedURL(s) {
			return nil
		}
		return []byte(s)
	}
	return &specialRedirects{stored: r, base: b(r.BaseURL), regular404: b(r.Regular404), invalidShortURL: b(r.InvalidShortURL)}
}

// redirectsState is the server's copy and the refresher that owns it.
type redirectsState struct {
	cur      atomic.Pointer[specialRedirects]
	mu       sync.Mutex // serialises PATCHes on this node
	start    sync.Once
	stopOnce sync.Once
	stop     chan struct{}
	wg       sync.WaitGroup
}

var ccSpecialRedirect = []byte("private, max-age=0")

// specialRedirect returns the current snapshot (never nil).
func (s *Server) specialRedirect() *specialRedirects {
	if r := s.redirects.cur.Load(); r != nil {
		return r
	}
	return &specialRedirects{}
}

// loadRedirects reads the redirects from the store into memory.
func (s *Server) loadRedirects(ctx context.Context) error {
	r, err := s.d.Links.DomainRedirects(ctx)
	if err != nil {
		return err
	}
	s.redirects.cur.Store(newSpecialRedirects(r, s.d.Blocklist))
	return nil
}

// startRedirects loads the redirects and starts their refresher, once;
// Serve calls it. A failed load is logged and retried by the refresher.
func (s *Server) startRedirects() {
	s.redirects.start.Do(func() {
		if s.d.Links == nil {
			return // no link store (redirect-only tests and benchmarks): none set
		}
		c, cancel := context.WithTimeout(context.Background(), apiTimeout)
		if err := s.loadRedirects(c); err != nil {
			s.log.Warn("load domain redirects", "err", err)
		}
		cancel()
		s.redirects.wg.Add(1)
		go s.refreshRedirects()
	})
}

func (s *Server) refreshRedirects() {
	defer s.redirects.wg.Done()
	t := time.NewTicker(s.cfg.RedirectsRefresh)
	defer t.Stop()
	for {
		select {
		case <-s.redirects.stop:
			return
		case <-t.C:
		}
		c, cancel := context.WithTimeout(context.Background(), apiTimeout)
		s.redirects.mu.Lock() // not over a PATCH's write: its copy would be undone by an older read
		err := s.loadRedirects(c)
		s.redirects.mu.Unlock()
		cancel()
		if err != nil {
			s.log.Warn("refresh domain redirects", "err", err)
		}
	}
}

// stopRedirects stops the refresher and waits for it; idempotent.
func (s *Server) stopRedirects() {
	s.redirects.stopOnce.Do(func() { close(s.redirects.stop) })
	s.redirects.wg.Wait()
}

// writeSpecialRedirect answers a 302 to loc.
func writeSpecialRedirect(ctx *fasthttp.RequestCtx, loc []byte) {
	ctx.Response.SetStatusCode(fasthttp.StatusFound)
	h := &ctx.Response.Header
	h.SetCanonical(hdrLocation, loc)
	h.SetCanonical(hdrCacheControl, ccSpecialRedirect)
}

// writeNoLink answers a redirect path that resolves no enabled link: the
// invalid-short-URL redirect for one segment, the regular-404 one for a
// longer path, err when that one is not set. It counts the orphan visit
// of that type (orphan_visits.go).
func (s *Server) writeNoLink(ctx *fasthttp.RequestCtx, code []byte, err error) {
	r := s.specialRedirect()
	loc, orphan := r.invalidShortURL, orphanCodeInvalidShortURL
	if bytes.IndexByte(code, '/') >= 0 {
		loc, orphan = r.regular404, orphanCodeRegular404
	}
	s.recordCode(ctx, orphan, s.d.Clock.Unix())
	if loc == nil {
		s.writeError(ctx, err)
		return
	}
	writeSpecialRedirect(ctx, loc)
}
