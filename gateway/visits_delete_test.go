package gateway

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/minibitly/minibitly/storage"
)

// Deleting a link's visits, through Shlink's route and the native one:
// the count answered is what was stored, the link's visits read 0 after,
// the neighbour keeps its own; the caches hear of it; unknown codes 404.
func TestDeleteVisits_ShlinkAndNative(t *testing.T) {
	e := newAPIEnv(t)
	e.createLink(map[string]any{"url": "https://example.com/a", "code": "dv1"})
	e.createLink(map[string]any{"url": "https://example.com/b", "code": "dv2"})
	minute := time.Now().Unix() / 60 * 60
	e.store.addVisits(
		storage.VisitCount{VisitKey: storage.VisitKey{Code: "dv1", Minute: minute, Browser: "chrome"}, Visits: 7},
		storage.VisitCount{VisitKey: storage.VisitKey{Code: "dv1", Minute: minute - 60, Bot: true}, Visits: 2},
		storage.VisitCount{VisitKey: storage.VisitKey{Code: "dv2", Minute: minute}, Visits: 4},
	)
	m := e.shlink("DELETE", "/rest/v3/short-urls/dv1/visits", nil).wantStatus(t, http.StatusOK).json(t)
	if m["deletedVisits"] != float64(9) {
		t.Fatalf("Shlink delete answered %v, want deletedVisits 9", m)
	}
	if st := e.do("GET", "/api/v1/links/dv1/stats", nil).wantStatus(t, http.StatusOK).json(t); st["total"] != float64(0) {
		t.Errorf("dv1 total after the delete = %v", st["total"])
	}
	if st := e.do("GET", "/api/v1/links/dv2/stats", nil).wantStatus(t, http.StatusOK).json(t); st["total"] != float64(4) {
		t.Errorf("the neighbour's total = %v, want 4", st["total"])
	}
	e.res.mu.Lock()
	changed := slices.Contains(e.res.changed, "dv1")
	e.res.mu.Unlock()
	if !changed {
		t.Error("the caches were not told the link changed (a max_visits link must count from zero)")
	}
	m = e.do("DELETE", "/api/v1/links/dv2/visits", nil).wantStatus(t, http.StatusOK).json(t)
	if m["deleted_visits"] != float64(4) || m["code"] != "dv2" {
		t.Fatalf("native delete answered %v", m)
	}
	if m := e.do("DELETE", "/api/v1/links/dv2/visits", nil).wantStatus(t, http.StatusOK).json(t); m["deleted_visits"] != float64(0) {
		t.Errorf("a second delete answered %v", m)
	}
	e.do("DELETE", "/api/v1/links/nope/visits", nil).wantError(t, http.StatusNotFound, "not_found", "nope")
	r := e.shlink("DELETE", "/rest/v3/short-urls/nope/visits", nil)
	if r.status != http.StatusNotFound {
		t.Fatalf("Shlink delete of an unknown code: %d %s", r.status, r.body)
	}
	e.store.down.Store(true)
	e.do("DELETE", "/api/v1/links/dv1/visits", nil).wantStatus(t, http.StatusServiceUnavailable)
}
