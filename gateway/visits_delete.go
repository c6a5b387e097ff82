package gateway

import (
	"context"
	"net/http"

	"github.com/minibitly/minibitly/storage"
	"github.com/valyala/fasthttp"
)

// statsRVisitsW: reading a link's visits needs stats:read, deleting them
// links:write (it changes the link: a max_visits link counts from zero).
var statsRVisitsW = routeScopes{http.MethodGet: storage.ScopeStatsRead, "": storage.ScopeLinksWrite}

// deleteVisits removes the stored visits of a live link and returns how
// many there were. The owner shard forgets the link (LinkChanged), so a
// max_visits link reloads its count — now zero — and redirects again.
// Visits still in the pipeline when it runs are flushed after it and
// counted (docs/storage.md).
func (s *Server) deleteVisits(c context.Context, code string) (uint64, error) {
	if _, err := s.d.Links.GetLink(c, code); err != nil {
		return 0, notFoundLink(code, err)
	}
	d, ok := s.d.Stats.(storage.VisitDeleter)
	if !ok {
		return 0, errorf(http.StatusNotImplemented, "not_implemented", "this visit store cannot delete visits")
	}
	// Before the delete: from now on every node counts the code from zero
	// under a new writer, so no running total from before the delete is
	// written after it (docs/storage.md).
	s.visitsDeleted(c, code)
	// Raw visit events first (--raw-visits, now or earlier), so the Shlink
	// lists agree with the aggregates: deleting them is idempotent, so when
	// either step fails the client's retry completes both and still reports
	// the visits deleted.
	if ed, ok := s.d.Stats.(storage.EventDeleter); ok {
		if err := ed.DeleteEvents(c, code); err != nil {
			return 0, err
		}
	}
	n, err := d.DeleteVisits(c, code)
	s.d.Resolver.LinkChanged(c, code) // a max_visits link reloads its count
	if err != nil {
		return 0, err
	}
	return n, nil
}

// visitsResetter is a Resolver that also forgets what it has counted of a
// code whose stored visits are being deleted (actors.System: the flushers'
// running totals, see docs/storage.md).
type visitsResetter interface {
	VisitsDeleted(ctx context.Context, code string)
}

// visitsDeleted tells the resolver that code's stored visits are gone.
func (s *Server) visitsDeleted(c context.Context, code string) {
	if r, ok := s.d.Resolver.(visitsResetter); ok {
		r.VisitsDeleted(c, code)
		return
	}
	s.d.Resolver.LinkChanged(c, code)
}

// deleteLinkVisits answers DELETE /api/v1/links/{code}/visits.
func (s *Server) deleteLinkVisits(c context.Context, ctx *fasthttp.RequestCtx, code string) error {
	if err := linkCode(code); err != nil {
		return err
	}
	n, err := s.deleteVisits(c, code)
	if err != nil {
		return err
	}
	s.writeJSON(ctx, http.StatusOK, struct {
		Code          string `json:"code"`
		DeletedVisits uint64 `json:"deleted_visits"`
	}{code, n})
	return nil
}

// shlinkDeleteVisits answers DELETE /rest/v3/short-urls/{code}/visits as
// Shlink does: 200 {"deletedVisits": N}.
func (s *Server) shlinkDeleteVisits(c context.Context, ctx *fasthttp.RequestCtx, code string) error {
	if _, err := s.shlinkLink(c, ctx, code); err != nil {
		return err
	}
	n, err := s.deleteVisits(c, code)
	if err != nil {
		return err
	}
	s.writeJSON(ctx, http.StatusOK, struct {
		DeletedVisits uint64 `json:"deletedVisits"`
	}{n})
	return nil
}
