package gateway

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/minibitly/minibitly/internal/nearcache"
	"github.com/minibitly/minibitly/internal/useragent"
	"github.com/minibitly/minibitly/storage"
	"github.com/valyala/fasthttp"
)

// flushVisits does what the actor layer's batcher and flusher do: it
// drains the gateway's visit log, aggregates it and writes it to the store
// as one batch.
func (e *apiEnv) flushVisits() {
	e.t.Helper()
	agg := map[storage.VisitKey]uint64{}
	e.srv.d.Visits.Drain(func(code []byte, minute int64, dims uint32, ref []byte) {
		device, browser, os, country, bot := useragent.Unpack(dims)
		agg[storage.VisitKey{Code: string(code), Minute: minute, Referrer: strings.ToLower(string(ref)),
			Device: device, Browser: browser, OS: os, Country: country, Bot: bot}]++
	})
	e.srv.d.Visits.CommitDrained()
	rows := make([]storage.VisitCount, 0, len(agg))
	for k, n := range agg {
		rows = append(rows, storage.VisitCount{VisitKey: k, Visits: n})
	}
	if len(rows) > 0 {
		e.store.addVisits(rows...)
	}
}

type shlinkOverview struct {
	Visits struct {
		NonOrphanVisits shlinkVisitsSummary `json:"nonOrphanVisits"`
		OrphanVisits    shlinkVisitsSummary `json:"orphanVisits"`
	} `json:"visits"`
}

func TestShlink_OrphanVisits(t *testing.T) {
	e := newAPIEnv(t)
	e.createLink(map[string]any{"url": "https://example.com/real", "code": "real"})
	e.createLink(map[string]any{"url": "https://example.com/gone", "code": "gone"})
	e.do("DELETE", "/api/v1/links/gone", nil).wantStatus(t, http.StatusNoContent)
	m0 := time.Now().Unix()/60*60 - 600
	e.store.addVisits(
		storage.VisitCount{VisitKey: storage.VisitKey{Code: "real", Minute: m0}, Visits: 2},
		// An older orphan visit, as a flush of an earlier minute wrote it.
		storage.VisitCount{VisitKey: storage.VisitKey{Code: orphanCodeRegular404, Minute: m0, Referrer: "old.example"}, Visits: 1},
	)

	const chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
	visit := func(method, path, ua string, status int) {
		t.Helper()
		e.do(method, path, nil, noAuth(), withHeader("User-Agent", ua), withHeader("Referer", "https://News.Example.com/a")).wantStatus(t, status)
	}
	visit("GET", "/", chrome, http.StatusFound)                     // base_url
	visit("HEAD", "/", chrome, http.StatusFound)                    // base_url
	visit("GET", "/nope", chrome, http.StatusNotFound)              // invalid_short_url: unknown
	visit("GET", "/bad.code", "Googlebot/2.1", http.StatusNotFound) // invalid_short_url: malformed, a bot
	visit("GET", "/gone", chrome, http.StatusNotFound)              // invalid_short_url: deleted
	visit("GET", "/a/b/c", chrome, http.StatusNotFound)             // regular_404
	visit("GET", "/real", chrome, http.StatusFound)                 // a link's visit
	// Not orphan visits: the API's, the UI's and the operational routes,
	// and methods a redirect does not answer.
	for _, r := range []string{"GET /api/v1/nope", "GET /rest/v3/nope", "GET /v4/nope", "GET /ui/assets/nope.js",
		"GET /nope/qr-code", "GET /health", "GET /ready", "GET /metrics", "POST /nope", "DELETE /a/b", "POST /"} {
		method, path, _ := strings.Cut(r, " ")
		e.do(method, path, nil, noAuth(), withHeader("User-Agent", chrome))
	}
	e.flushVisits()

	get := func(query string) shlinkVisitsOut {
		t.Helper()
		var out shlinkVisitsOut
		e.shlink("GET", "/rest/v3/visits/orphan"+query, nil).wantStatus(t, http.StatusOK).decode(t, &out)
		if out.Visits.Pagination.ItemsInCurrentPage != len(out.Visits.Data) {
			t.Errorf("%s: itemsInCurrentPage %d, %d visits", query, out.Visits.Pagination.ItemsInCurrentPage, len(out.Visits.Data))
		}
		return out
	}
	types := func(out shlinkVisitsOut) string {
		var ts []string
		for _, v := range out.Visits.Data {
			ts = append(ts, fmt.Sprint(v["type"]))
		}
		return strings.Join(ts, ",")
	}
	out := get("")
	if got, want := types(out), "base_url,base_url,invalid_short_url,invalid_short_url,invalid_short_url,regular_404,regular_404"; got != want {
		t.Fatalf("orphan visit types %s, want %s (newest minute first, then by type)", got, want)
	}
	if out.Visits.Pagination.TotalItems != 7 {
		t.Errorf("pagination %+v", out.Visits.Pagination)
	}
	for i, v := range out.Visits.Data {
		wantURL := ""
		if v["type"] == orphanBaseURL {
			wantURL = testBaseURL + "/"
		}
		if v["visitedUrl"] != wantURL || v["redirectUrl"] != nil {
			t.Errorf("visit %d: visitedUrl %q, redirectUrl %v", i, v["visitedUrl"], v["redirectUrl"])
		}
		if i < 6 && v["referer"] != "news.example.com" {
			t.Errorf("visit %d: referer %v", i, v["referer"])
		}
	}
	last := out.Visits.Data[6]
	if last["referer"] != "old.example" || last["date"] != atom(time.Unix(m0, 0)) {
		t.Errorf("the oldest orphan visit is not last: %v", last)
	}
	bots := 0
	for _, v := range out.Visits.Data {
		if v["potentialBot"] == true {
			bots++
			if v["type"] != orphanInvalidShortURL {
				t.Errorf("the bot visited /bad.code, not %v", v["type"])
			}
		}
	}
	if bots != 1 {
		t.Errorf("%d bot visits, want 1", bots)
	}

	if got := types(get("?type=invalid_short_url&excludeBots=true")); got != "invalid_short_url,invalid_short_url" {
		t.Errorf("type=invalid_short_url&excludeBots: %s", got)
	}
	if got := types(get("?type=base_url")); got != "base_url,base_url" {
		t.Errorf("type=base_url: %s", got)
	}
	if got := types(get("?page=2&itemsPerPage=3")); got != "invalid_short_url,invalid_short_url,regular_404" {
		t.Errorf("page 2 of 3: %s", got)
	}
	since := strings.ReplaceAll(atom(time.Unix(m0+60, 0)), "+", "%2B")
	if out := get("?type=regular_404&startDate=" + since); out.Visits.Pagination.TotalItems != 1 {
		t.Errorf("regular_404 since %s: %+v", since, out.Visits.Pagination)
	}
	if out := get("?domain=other.example"); len(out.Visits.Data) != 0 {
		t.Errorf("another domain has orphan visits: %+v", out.Visits)
	}
	p := e.shlink("GET", "/rest/v3/visits/orphan?type=bogus", nil).wantProblem(t, http.StatusBadRequest, "invalid-data")
	if strings.Join(p.InvalidElements, ",") != "type" {
		t.Errorf("invalidElements %v", p.InvalidElements)
	}
	e.shlink("GET", "/rest/v3/visits/orphan", nil, withHeader("X-Api-Key", "wrong")).wantProblem(t, http.StatusUnauthorized, "invalid-api-key")

	var ov shlinkOverview
	e.shlink("GET", "/rest/v3/visits", nil).wantStatus(t, http.StatusOK).decode(t, &ov)
	if ov.Visits.OrphanVisits != (shlinkVisitsSummary{Total: 7, NonBots: 6, Bots: 1}) {
		t.Errorf("orphanVisits %+v, want 7 (6 + 1 bot)", ov.Visits.OrphanVisits)
	}
	if ov.Visits.NonOrphanVisits != (shlinkVisitsSummary{Total: 3, NonBots: 3}) {
		t.Errorf("nonOrphanVisits %+v, want the 3 of real", ov.Visits.NonOrphanVisits)
	}
	// Orphans never count as a link's visits.
	var nonOrphan shlinkVisitsOut
	e.shlink("GET", "/rest/v3/visits/non-orphan", nil).wantStatus(t, http.StatusOK).decode(t, &nonOrphan)
	if len(nonOrphan.Visits.Data) != 3 {
		t.Errorf("non-orphan visits: %d, want 3", len(nonOrphan.Visits.Data))
	}
	for _, v := range nonOrphan.Visits.Data {
		if _, ok := v["type"]; ok || v["visitedUrl"] != testBaseURL+"/real" {
			t.Errorf("non-orphan visit %v", v)
		}
	}
	if l := e.getLink("real"); l.Visits == nil || *l.Visits != 3 {
		t.Errorf("/api/v1 visits of real: %v, want 3", l.Visits)
	}

	// Deleting the orphan visits (Shlink's DELETE /visits/orphan) leaves
	// the link's.
	var del struct{ DeletedVisits uint64 }
	e.shlink("DELETE", "/rest/v3/visits/orphan", nil).wantStatus(t, http.StatusOK).decode(t, &del)
	if del.DeletedVisits != 7 {
		t.Errorf("deletedVisits %d, want 7", del.DeletedVisits)
	}
	if out := get(""); len(out.Visits.Data) != 0 {
		t.Errorf("orphan visits after the delete: %+v", out.Visits.Data)
	}
	if l := e.getLink("real"); l.Visits == nil || *l.Visits != 3 {
		t.Errorf("after deleting orphans /api/v1 visits of real: %v, want 3", l.Visits)
	}
}

// TestServer_OrphanVisitAllocatesNothing: counting the base URL's visit
// costs the redirect to the base-URL redirect no allocation.
func TestServer_OrphanVisitAllocatesNothing(t *testing.T) {
	s, _, vl := newRedirectServer(t, &nearcache.Entry{Code: "abc", Location: []byte("https://example.com/x"), Status: 302})
	s.redirects.cur.Store(newSpecialRedirects(storage.DomainRedirects{BaseURL: "https://example.com/home"}, nil))
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI("/")
	ctx.Request.Header.Set("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36")
	ctx.Request.Header.Set("Referer", "https://news.example.com/story")
	s.handle(&ctx)
	var codes []string
	vl.Drain(func(code []byte, _ int64, _ uint32, _ []byte) { codes = append(codes, string(code)) })
	vl.CommitDrained()
	if ctx.Response.StatusCode() != 302 || fmt.Sprint(codes) != "["+orphanCodeBaseURL+"]" {
		t.Fatalf("GET /: status %d, visits of %v", ctx.Response.StatusCode(), codes)
	}
	if allocs := handleAllocs(t, s, vl, &ctx, 302); allocs != 0 {
		t.Fatalf("GET / allocates %v times per request", allocs)
	}
}

// TestOrphanCodes: no link can have a pseudo-code, and each type has its
// own.
func TestOrphanCodes(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range orphanKinds {
		if !strings.HasPrefix(k.code, orphanCodePrefix) || !strings.HasSuffix(k.code, k.typ) || seen[k.code] {
			t.Errorf("%+v", k)
		}
		seen[k.code] = true
		if validCode := linkCode(k.code); validCode == nil {
			t.Errorf("%q is a valid link code", k.code)
		}
	}
	ts := make([]string, 0, len(orphanKinds))
	for _, k := range orphanKinds {
		ts = append(ts, k.typ)
	}
	if !sort.StringsAreSorted(ts) {
		t.Errorf("types %v are not in Shlink's (sorted) order", ts)
	}
}
