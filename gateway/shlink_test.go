package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minibitly/minibitly/storage"
)

// shlink sends a request to the Shlink API with the test key in X-Api-Key
// (as the Shlink SDK does) and no Authorization header.
func (e *apiEnv) shlink(method, path string, body any, opts ...reqOpt) *apiResponse {
	e.t.Helper()
	opts = append([]reqOpt{noAuth(), withHeader("X-Api-Key", testKey)}, opts...)
	return e.do(method, path, body, opts...)
}

// decode unmarshals r's body into v.
func (r *apiResponse) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// wantProblem checks a Shlink problem: status, Content-Type, the four
// members every Shlink client needs and the type suffix.
func (r *apiResponse) wantProblem(t *testing.T, status int, kind string) shlinkProblem {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type %q, want application/problem+json", ct)
	}
	var p shlinkProblem
	r.decode(t, &p)
	if p.Type != "https://shlink.io/api/error/"+kind || p.Title == "" || p.Detail == "" || p.Status != status {
		t.Fatalf("problem %+v, want type %s and every member set", p, kind)
	}
	return p
}

func (e *apiEnv) shlinkCreate(body map[string]any) shlinkShortURL {
	e.t.Helper()
	var out shlinkShortURL
	e.shlink("POST", "/rest/v3/short-urls", body).wantStatus(e.t, http.StatusOK).decode(e.t, &out)
	return out
}

func TestShlink_Health(t *testing.T) {
	e := newAPIEnv(t)
	for _, path := range []string{"/rest/v3/health", "/rest/health", "//rest/v3/health"} {
		r := e.do("GET", path, nil, noAuth()).wantStatus(t, http.StatusOK)
		if ct := r.header.Get("Content-Type"); ct != "application/health+json" {
			t.Errorf("%s: Content-Type %q", path, ct)
		}
		var h shlinkHealthOut
		r.decode(t, &h)
		if h.Status != "pass" || h.Version != shlinkVersion || h.Links["about"] == "" {
			t.Errorf("%s: %+v", path, h)
		}
	}
}

func TestShlink_Problems(t *testing.T) {
	e := newAPIEnv(t)
	p := e.do("GET", "/rest/v3/short-urls", nil, noAuth()).wantProblem(t, http.StatusUnauthorized, "missing-authentication")
	if len(p.ExpectedHeaders) != 1 || p.ExpectedHeaders[0] != "X-Api-Key" {
		t.Errorf("expectedHeaders %v", p.ExpectedHeaders)
	}
	e.do("GET", "/rest/v3/short-urls", nil, noAuth(), withHeader("X-Api-Key", "nope")).wantProblem(t, http.StatusUnauthorized, "invalid-api-key")
	e.do("GET", "/rest/v3/short-urls", nil, noAuth(), withHeader("X-Api-Key", revokedKey)).wantProblem(t, http.StatusUnauthorized, "invalid-api-key")
	e.shlink("GET", "/rest/v3/nothing-here", nil).wantProblem(t, http.StatusNotFound, "not-found")
	e.shlink("GET", "/rest/v2/short-urls", nil).wantProblem(t, http.StatusNotFound, "not-found")
	e.shlink("GET", "/rest/v3/short-urls/nope", nil).wantProblem(t, http.StatusNotFound, "short-url-not-found")
	r := e.shlink("PUT", "/rest/v3/short-urls", map[string]any{})
	r.wantProblem(t, http.StatusMethodNotAllowed, "method-not-allowed")
	if a := r.header.Get("Allow"); a != "GET, POST" {
		t.Errorf("Allow %q", a)
	}
	e.shlink("GET", "/rest/v3/mercure-info", nil).wantProblem(t, http.StatusNotImplemented, "mercure-not-configured")
	e.shlink("POST", "/rest/v3/short-urls", "{not json").wantProblem(t, http.StatusBadRequest, "malformed-request-body")
	// A body over the limit, refused unread: still a problem.
	req := fmt.Sprintf("POST /rest/v3/short-urls HTTP/1.1\r\nHost: x\r\nX-Api-Key: %s\r\nContent-Length: %d\r\n\r\n{", testKey, testMaxBody+1)
	rawExchange(t, e, req).wantProblem(t, http.StatusRequestEntityTooLarge, "body-too-large")
}

func TestShlink_CreateValidation(t *testing.T) {
	e := newAPIEnv(t)
	cases := map[string]struct {
		body  map[string]any
		field string
	}{
		"no longUrl":          {map[string]any{"title": "x"}, "longUrl"},
		"bad longUrl":         {map[string]any{"longUrl": "ftp://x"}, "longUrl"},
		"self longUrl":        {map[string]any{"longUrl": testBaseURL + "/abc"}, "longUrl"},
		"longUrl not string":  {map[string]any{"longUrl": 5}, "longUrl"},
		"reserved slug":       {map[string]any{"longUrl": "https://example.com", "customSlug": "api"}, "customSlug"},
		"bad slug":            {map[string]any{"longUrl": "https://example.com", "customSlug": "a/b"}, "customSlug"},
		"short length":        {map[string]any{"longUrl": "https://example.com", "shortCodeLength": 3}, "shortCodeLength"},
		"length not a number": {map[string]any{"longUrl": "https://example.com", "shortCodeLength": "x"}, "shortCodeLength"},
		"bad tag":             {map[string]any{"longUrl": "https://example.com", "tags": []string{"a b"}}, "tags"},
		"past validUntil":     {map[string]any{"longUrl": "https://example.com", "validUntil": "2001-01-01T00:00:00+00:00"}, "validUntil"},
		"future validSince":   {map[string]any{"longUrl": "https://example.com", "validSince": "2999-01-01T00:00:00+00:00"}, "validSince"},
		"zero maxVisits":      {map[string]any{"longUrl": "https://example.com", "maxVisits": 0}, "maxVisits"},
		"other domain":        {map[string]any{"longUrl": "https://example.com", "domain": "other.example"}, "domain"},
		"long title":          {map[string]any{"longUrl": "https://example.com", "title": strings.Repeat("t", 513)}, "title"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			p := e.shlink("POST", "/rest/v3/short-urls", c.body).wantProblem(t, http.StatusBadRequest, "invalid-data")
			if len(p.InvalidElements) != 1 || p.InvalidElements[0] != c.field {
				t.Errorf("invalidElements %v, want [%s]; detail %q", p.InvalidElements, c.field, p.Detail)
			}
		})
	}
	if n := e.store.linkCount(); n != 0 {
		t.Errorf("%d links stored by refused creates", n)
	}
}

func TestShlink_CreateGetEditDelete(t *testing.T) {
	e := newAPIEnv(t)
	// The web client's default form.
	u := e.shlinkCreate(map[string]any{"longUrl": "https://example.com/a", "tags": []string{}, "forwardQuery": true})
	if len(u.ShortCode) != 7 || u.ShortURL != testBaseURL+"/"+u.ShortCode || !u.ForwardQuery || u.Title != nil || u.Domain != nil ||
		u.Meta.MaxVisits != nil || u.Meta.ValidUntil != nil || len(u.Tags) != 0 || u.VisitsSummary != (shlinkVisitsSummary{}) {
		t.Errorf("created %+v", u)
	}
	if _, err := time.Parse(atomTime, u.DateCreated); err != nil || !strings.HasSuffix(u.DateCreated, "+00:00") {
		t.Errorf("dateCreated %q is not ATOM: %v", u.DateCreated, err)
	}
	// forwardQuery defaults to true; shortCodeLength as a numeric string.
	d := e.shlinkCreate(map[string]any{"longUrl": "https://example.com/b", "shortCodeLength": "12", "crawlable": true})
	if len(d.ShortCode) != 12 || !d.ForwardQuery {
		t.Errorf("created %+v", d)
	}
	full := e.shlinkCreate(map[string]any{
		"longUrl": "https://example.com/c", "customSlug": "my-slug", "title": "C", "tags": []string{"x", "y"},
		"validSince": "2001-01-01T00:00:00+00:00", "validUntil": "2099-01-02T03:04:05+02:00", "maxVisits": 7,
		"findIfExists": false, "domain": "DEFAULT", "unknown": 1,
	})
	if full.ShortCode != "my-slug" || *full.Title != "C" || *full.Meta.MaxVisits != 7 || *full.Meta.ValidUntil != "2099-01-02T01:04:05+00:00" {
		t.Errorf("created %+v", full)
	}
	p := e.shlink("POST", "/rest/v3/short-urls", map[string]any{"longUrl": "https://example.com/d", "customSlug": "my-slug"}).
		wantProblem(t, http.StatusBadRequest, "non-unique-slug")
	if p.CustomSlug != "my-slug" {
		t.Errorf("customSlug %q", p.CustomSlug)
	}
	// findIfExists answers the existing link.
	again := e.shlinkCreate(map[string]any{"longUrl": "https://example.com/c", "findIfExists": true, "tags": []string{"y", "x"}})
	if again.ShortCode != "my-slug" {
		t.Errorf("findIfExists made %q", again.ShortCode)
	}
	// The same link through /api/v1.
	if l := e.getLink("my-slug"); l.URL != "https://example.com/c" || l.MaxVisits == nil || *l.MaxVisits != 7 {
		t.Errorf("/api/v1 sees %+v", l)
	}

	var got shlinkShortURL
	e.shlink("GET", "/rest/v3/short-urls/my-slug", nil).wantStatus(t, http.StatusOK).decode(t, &got)
	if got.ShortCode != "my-slug" || got.LongURL != "https://example.com/c" {
		t.Errorf("got %+v", got)
	}
	e.shlink("GET", "/rest/v3/short-urls/my-slug?domain=other.example", nil).wantProblem(t, http.StatusNotFound, "short-url-not-found")

	// PATCH as the web client sends it: nulls clear, unknown keys (domain) ignored.
	var ed shlinkShortURL
	e.shlink("PATCH", "/rest/v3/short-urls/my-slug", map[string]any{
		"longUrl": "https://example.com/c2", "title": nil, "tags": []string{"z"}, "validSince": nil, "validUntil": nil,
		"maxVisits": nil, "crawlable": false, "forwardQuery": false, "domain": nil,
	}).wantStatus(t, http.StatusOK).decode(t, &ed)
	if ed.LongURL != "https://example.com/c2" || ed.Title != nil || ed.Meta.MaxVisits != nil || ed.Meta.ValidUntil != nil ||
		ed.ForwardQuery || len(ed.Tags) != 1 || ed.Tags[0] != "z" {
		t.Errorf("edited %+v", ed)
	}
	if l := e.getLink("my-slug"); l.URL != "https://example.com/c2" || l.MaxVisits != nil || l.ExpiresAt != nil || l.ForwardQuery {
		t.Errorf("/api/v1 sees %+v", l)
	}
	if ch := e.res.changes(); len(ch) == 0 || ch[len(ch)-1] != "my-slug" {
		t.Errorf("caches not invalidated: %v", ch)
	}
	p = e.shlink("PATCH", "/rest/v3/short-urls/my-slug", map[string]any{"longUrl": "javascript:alert(1)"}).wantProblem(t, http.StatusBadRequest, "invalid-data")
	if p.InvalidElements[0] != "longUrl" {
		t.Errorf("invalidElements %v", p.InvalidElements)
	}
	e.shlink("PATCH", "/rest/v3/short-urls/nope", map[string]any{"title": "x"}).wantProblem(t, http.StatusNotFound, "short-url-not-found")

	r := e.shlink("DELETE", "/rest/v3/short-urls/my-slug", nil).wantStatus(t, http.StatusNoContent)
	if len(r.body) != 0 {
		t.Errorf("delete body %q", r.body)
	}
	e.do("GET", "/api/v1/links/my-slug", nil).wantStatus(t, http.StatusNotFound)
	e.shlink("DELETE", "/rest/v3/short-urls/my-slug", nil).wantProblem(t, http.StatusNotFound, "short-url-not-found")
}

type shlinkListOut struct {
	ShortURLs struct {
		Data       []shlinkShortURL `json:"data"`
		Pagination shlinkPagination `json:"pagination"`
	} `json:"shortUrls"`
}

func (e *apiEnv) shlinkList(query string) ([]string, shlinkPagination) {
	e.t.Helper()
	var out shlinkListOut
	e.shlink("GET", "/rest/v3/short-urls"+query, nil).wantStatus(e.t, http.StatusOK).decode(e.t, &out)
	codes := make([]string, len(out.ShortURLs.Data))
	for i, u := range out.ShortURLs.Data {
		codes[i] = u.ShortCode
	}
	return codes, out.ShortURLs.Pagination
}

func TestShlink_List(t *testing.T) {
	e := newAPIEnv(t)
	mk := func(code, url, title string, tags []string, extra map[string]any) {
		if tags == nil {
			tags = []string{}
		}
		b := map[string]any{"url": url, "code": code, "title": title, "tags": tags}
		for k, v := range extra {
			b[k] = v
		}
		e.createLink(b)
		time.Sleep(2 * time.Millisecond) // distinct creation times, in order
	}
	mk("c1", "https://a.example/one", "Zeta", []string{"red"}, nil)
	mk("c2", "https://b.example/two", "Alpha", []string{"red", "blue"}, map[string]any{"max_visits": 2})
	mk("c3", "https://c.example/three", "", nil, map[string]any{"expires_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
	mk("c4", "https://d.example/four", "Mid", []string{"blue"}, nil)
	minute := time.Now().Unix() / 60 * 60
	e.store.addVisits(
		storage.VisitCount{VisitKey: storage.VisitKey{Code: "c2", Minute: minute, Browser: "chrome"}, Visits: 2},
		storage.VisitCount{VisitKey: storage.VisitKey{Code: "c4", Minute: minute, Bot: true, Device: "bot"}, Visits: 5},
		storage.VisitCount{VisitKey: storage.VisitKey{Code: "c1", Minute: minute}, Visits: 1},
	)

	f := func(query string, want ...string) shlinkPagination {
		t.Helper()
		got, pg := e.shlinkList(query)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: %v, want %v", query, got, want)
		}
		return pg
	}
	pg := f("", "c4", "c3", "c2", "c1")
	if pg != (shlinkPagination{CurrentPage: 1, PagesCount: 1, ItemsPerPage: 10, ItemsInCurrentPage: 4, TotalItems: 4}) {
		t.Errorf("pagination %+v", pg)
	}
	pg = f("?page=2&itemsPerPage=3", "c1")
	if pg != (shlinkPagination{CurrentPage: 2, PagesCount: 2, ItemsPerPage: 3, ItemsInCurrentPage: 1, TotalItems: 4}) {
		t.Errorf("pagination %+v", pg)
	}
	pg = f("?itemsPerPage=-1", "c4", "c3", "c2", "c1")
	if pg.ItemsPerPage != 4 || pg.PagesCount != 1 {
		t.Errorf("pagination %+v", pg)
	}
	f("?orderBy=dateCreated-ASC", "c1", "c2", "c3", "c4")
	f("?orderBy=title-ASC", "c3", "c2", "c4", "c1")
	f("?orderBy=longUrl-DESC", "c4", "c3", "c2", "c1")
	f("?orderBy=shortCode", "c1", "c2", "c3", "c4")
	f("?orderBy=visits-DESC", "c4", "c2", "c1", "c3")
	f("?orderBy=nonBotVisits-DESC", "c2", "c1", "c4", "c3")
	f("?searchTerm=TWO", "c2")
	f("?searchTerm=alpha", "c2")
	f("?searchTerm=blue", "c4", "c2")
	f("?tags%5B%5D=red", "c2", "c1")
	f("?tags%5B%5D=red&tags%5B%5D=blue", "c4", "c2", "c1")
	f("?tags%5B%5D=red&tags%5B%5D=blue&tagsMode=all", "c2")
	f("?excludeTags%5B%5D=red", "c4", "c3")
	f("?excludeTags%5B%5D=red&excludeTags%5B%5D=blue&excludeTagsMode=all", "c4", "c3", "c1")
	f("?excludeMaxVisitsReached=true", "c4", "c3", "c1")
	f("?domain=other.example")
	f("?startDate=" + strings.ReplaceAll(time.Now().Add(time.Hour).Format(time.RFC3339), "+", "%2B"))
	f("?endDate=2001-01-01T00:00:00%2B00:00")

	var out shlinkListOut
	e.shlink("GET", "/rest/v3/short-urls?orderBy=visits-DESC&itemsPerPage=1", nil).wantStatus(t, http.StatusOK).decode(t, &out)
	if v := out.ShortURLs.Data[0].VisitsSummary; v != (shlinkVisitsSummary{Total: 5, NonBots: 0, Bots: 5}) {
		t.Errorf("visitsSummary %+v", v)
	}
	for _, q := range []string{"?page=0", "?page=x", "?page=9223372036854775807&itemsPerPage=1073741824", "?itemsPerPage=9223372036854775807", "?itemsPerPage=x", "?orderBy=nope-ASC", "?orderBy=title-UP", "?tagsMode=some", "?startDate=yesterday"} {
		e.shlink("GET", "/rest/v3/short-urls"+q, nil).wantProblem(t, http.StatusBadRequest, "invalid-data")
	}
}

func TestShlink_TagsDomainsOverviewRules(t *testing.T) {
	e := newAPIEnv(t)
	e.createLink(map[string]any{"url": "https://example.com/1", "code": "t1", "tags": []string{"b", "a"}})
	e.createLink(map[string]any{"url": "https://example.com/2", "code": "t2", "tags": []string{"b"}})
	e.createLink(map[string]any{"url": "https://example.com/3", "code": "t3"})
	minute := time.Now().Unix() / 60 * 60
	e.store.addVisits(
		storage.VisitCount{VisitKey: storage.VisitKey{Code: "t1", Minute: minute}, Visits: 3},
		storage.VisitCount{VisitKey: storage.VisitKey{Code: "t2", Minute: minute, Bot: true}, Visits: 1},
		storage.VisitCount{VisitKey: storage.VisitKey{Code: "t3", Minute: minute}, Visits: 4},
	)
	var tags struct {
		Tags struct {
			Data       []string         `json:"data"`
			Pagination shlinkPagination `json:"pagination"`
		} `json:"tags"`
	}
	e.shlink("GET", "/rest/v3/tags", nil).wantStatus(t, http.StatusOK).decode(t, &tags)
	if strings.Join(tags.Tags.Data, ",") != "a,b" || tags.Tags.Pagination.TotalItems != 2 {
		t.Errorf("tags %+v", tags)
	}
	var stats struct {
		Tags struct {
			Data []shlinkTagInfo `json:"data"`
		} `json:"tags"`
	}
	e.shlink("GET", "/rest/v3/tags/stats", nil).wantStatus(t, http.StatusOK).decode(t, &stats)
	want := []shlinkTagInfo{
		{Tag: "a", ShortURLsCount: 1, VisitsSummary: shlinkVisitsSummary{Total: 3, NonBots: 3}},
		{Tag: "b", ShortURLsCount: 2, VisitsSummary: shlinkVisitsSummary{Total: 4, NonBots: 3, Bots: 1}},
	}
	if fmt.Sprint(stats.Tags.Data) != fmt.Sprint(want) {
		t.Errorf("tag stats %+v, want %+v", stats.Tags.Data, want)
	}
	var ov struct {
		Visits struct {
			NonOrphanVisits shlinkVisitsSummary `json:"nonOrphanVisits"`
			OrphanVisits    shlinkVisitsSummary `json:"orphanVisits"`
		} `json:"visits"`
	}
	e.shlink("GET", "/rest/v3/visits", nil).wantStatus(t, http.StatusOK).decode(t, &ov)
	if ov.Visits.NonOrphanVisits != (shlinkVisitsSummary{Total: 8, NonBots: 7, Bots: 1}) {
		t.Errorf("overview %+v", ov)
	}
	r := e.shlink("GET", "/rest/v3/domains", nil).wantStatus(t, http.StatusOK)
	if want := `{"domains":{"data":[{"domain":"sho.rt","isDefault":true,"redirects":{"baseUrlRedirect":null,"regular404Redirect":null,"invalidShortUrlRedirect":null}}],"defaultRedirects":{"baseUrlRedirect":null,"regular404Redirect":null,"invalidShortUrlRedirect":null}}}`; strings.TrimSpace(string(r.body)) != want {
		t.Errorf("domains %s", r.body)
	}
	var rules shlinkRedirectRules
	e.shlink("GET", "/rest/v3/short-urls/t1/redirect-rules", nil).wantStatus(t, http.StatusOK).decode(t, &rules)
	if rules.DefaultLongURL != "https://example.com/1" || rules.RedirectRules == nil || len(rules.RedirectRules) != 0 {
		t.Errorf("rules %+v", rules)
	}
	e.shlink("POST", "/rest/v3/short-urls/t1/redirect-rules", map[string]any{"redirectRules": []any{}}).wantStatus(t, http.StatusOK)
	p := e.shlink("POST", "/rest/v3/short-urls/t1/redirect-rules", map[string]any{"redirectRules": []any{
		map[string]any{"longUrl": "https://example.com/m", "conditions": []any{map[string]any{"type": "device", "matchValue": "android"}}},
	}}).wantProblem(t, http.StatusBadRequest, "invalid-data")
	if p.InvalidElements[0] != "redirectRules" {
		t.Errorf("invalidElements %v", p.InvalidElements)
	}
	e.shlink("GET", "/rest/v3/short-urls/nope/redirect-rules", nil).wantProblem(t, http.StatusNotFound, "short-url-not-found")
}

type shlinkVisitsOut struct {
	Visits struct {
		Data       []map[string]any `json:"data"`
		Pagination shlinkPagination `json:"pagination"`
	} `json:"visits"`
}

func TestShlink_ShortURLVisits(t *testing.T) {
	e := newAPIEnv(t)
	l := e.createLink(map[string]any{"url": "https://example.com/v", "code": "vis"})
	m0 := time.Now().Unix()/60*60 - 120
	e.store.addVisits(
		storage.VisitCount{VisitKey: storage.VisitKey{Code: "vis", Minute: m0, Referrer: "google.com", Device: "mobile", Browser: "chrome", OS: "android", Country: "DE"}, Visits: 3},
		storage.VisitCount{VisitKey: storage.VisitKey{Code: "vis", Minute: m0 + 60, Device: "bot", Browser: "bot", OS: "other", Bot: true}, Visits: 2},
		storage.VisitCount{VisitKey: storage.VisitKey{Code: "vis", Minute: m0 + 120, Device: "desktop", Browser: "firefox", OS: "linux"}, Visits: 1},
	)
	get := func(query string) shlinkVisitsOut {
		t.Helper()
		var out shlinkVisitsOut
		e.shlink("GET", "/rest/v3/short-urls/vis/visits"+query, nil).wantStatus(t, http.StatusOK).decode(t, &out)
		return out
	}
	out := get("")
	if pg := out.Visits.Pagination; pg != (shlinkPagination{CurrentPage: 1, PagesCount: 1, ItemsPerPage: 5000, ItemsInCurrentPage: 6, TotalItems: 6}) {
		t.Errorf("pagination %+v", pg)
	}
	dates := []string{}
	for _, v := range out.Visits.Data {
		dates = append(dates, v["date"].(string))
		if _, ok := v["type"]; ok {
			t.Errorf("a regular visit has a type: %v", v)
		}
	}
	d := func(sec int64) string { return atom(time.Unix(sec, 0)) }
	want := []string{d(m0 + 120), d(m0 + 60), d(m0 + 60), d(m0), d(m0), d(m0)}
	if fmt.Sprint(dates) != fmt.Sprint(want) {
		t.Errorf("dates %v, want newest first %v", dates, want)
	}
	last := out.Visits.Data[5]
	loc, _ := last["visitLocation"].(map[string]any)
	if last["referer"] != "google.com" || last["potentialBot"] != false || last["visitedUrl"] != l.ShortURL ||
		!strings.Contains(last["userAgent"].(string), "Android") || !strings.Contains(last["userAgent"].(string), "Chrome/") ||
		loc["countryCode"] != "DE" || loc["isEmpty"] != false {
		t.Errorf("visit %v", last)
	}
	if out.Visits.Data[0]["visitLocation"] != nil || out.Visits.Data[1]["potentialBot"] != true {
		t.Errorf("visits %v", out.Visits.Data[:2])
	}
	out = get("?page=2&itemsPerPage=4")
	if len(out.Visits.Data) != 2 || out.Visits.Pagination.PagesCount != 2 || out.Visits.Pagination.ItemsInCurrentPage != 2 {
		t.Errorf("page 2: %+v", out.Visits)
	}
	out = get("?page=1&itemsPerPage=1")
	if len(out.Visits.Data) != 1 || out.Visits.Data[0]["date"] != d(m0+120) {
		t.Errorf("latest visit: %+v", out.Visits)
	}
	if out = get("?excludeBots=true"); out.Visits.Pagination.TotalItems != 4 {
		t.Errorf("excludeBots: %+v", out.Visits.Pagination)
	}
	q := "?startDate=" + strings.ReplaceAll(d(m0+60), "+", "%2B") + "&endDate=" + strings.ReplaceAll(d(m0+60), "+", "%2B")
	if out = get(q); out.Visits.Pagination.TotalItems != 2 {
		t.Errorf("one minute: %+v", out.Visits.Pagination)
	}
	if out = get("?page=9&itemsPerPage=5000"); len(out.Visits.Data) != 0 || out.Visits.Data == nil {
		t.Errorf("beyond the last page: %+v", out.Visits)
	}
	e.shlink("GET", "/rest/v3/short-urls/nope/visits", nil).wantProblem(t, http.StatusNotFound, "short-url-not-found")
	e.shlink("GET", "/rest/v3/short-urls/vis/visits?startDate=x", nil).wantProblem(t, http.StatusBadRequest, "invalid-data")
}

func TestShlink_RenameDeleteTags(t *testing.T) {
	e := newAPIEnv(t)
	e.createLink(map[string]any{"url": "https://example.com/1", "code": "r1", "tags": []string{"old", "keep"}})
	e.createLink(map[string]any{"url": "https://example.com/2", "code": "r2", "tags": []string{"old"}})
	e.createLink(map[string]any{"url": "https://example.com/3", "code": "r3", "tags": []string{"taken"}})
	tagsOf := func(code string) string { t.Helper(); return strings.Join(e.getLink(code).Tags, ",") }

	for name, body := range map[string]map[string]any{
		"no oldName": {"newName": "x"}, "no newName": {"oldName": "old"}, "bad newName": {"oldName": "old", "newName": "a b"},
	} {
		t.Run(name, func(t *testing.T) {
			e.shlink("PUT", "/rest/v3/tags", body).wantProblem(t, http.StatusBadRequest, "invalid-data")
		})
	}
	e.shlink("PUT", "/rest/v3/tags", map[string]any{"oldName": "nope", "newName": "x"}).wantProblem(t, http.StatusNotFound, "tag-not-found")
	e.shlink("PUT", "/rest/v3/tags", map[string]any{"oldName": "old", "newName": "taken"}).wantProblem(t, http.StatusConflict, "tag-conflict")
	if tagsOf("r1") != "old,keep" || tagsOf("r2") != "old" {
		t.Fatalf("a refused rename changed tags: %s / %s", tagsOf("r1"), tagsOf("r2"))
	}
	e.shlink("PUT", "/rest/v3/tags", map[string]any{"oldName": "old", "newName": "new"}).wantStatus(t, http.StatusNoContent)
	if tagsOf("r1") != "new,keep" || tagsOf("r2") != "new" || tagsOf("r3") != "taken" {
		t.Errorf("after rename: %s / %s / %s", tagsOf("r1"), tagsOf("r2"), tagsOf("r3"))
	}
	e.shlink("DELETE", "/rest/v3/tags?tags%5B%5D=new&tags%5B%5D=taken&tags%5B%5D=none", nil).wantStatus(t, http.StatusNoContent)
	if tagsOf("r1") != "keep" || tagsOf("r2") != "" || tagsOf("r3") != "" {
		t.Errorf("after delete: %s / %s / %s", tagsOf("r1"), tagsOf("r2"), tagsOf("r3"))
	}
	var tags struct {
		Tags struct{ Data []string } `json:"tags"`
	}
	e.shlink("GET", "/rest/v3/tags", nil).wantStatus(t, http.StatusOK).decode(t, &tags)
	if strings.Join(tags.Tags.Data, ",") != "keep" {
		t.Errorf("tags %v", tags.Tags.Data)
	}
}

func TestShlink_TagDomainNonOrphanVisits(t *testing.T) {
	e := newAPIEnv(t)
	e.createLink(map[string]any{"url": "https://example.com/1", "code": "a1", "tags": []string{"t"}})
	e.createLink(map[string]any{"url": "https://example.com/2", "code": "a2", "tags": []string{"t"}})
	e.createLink(map[string]any{"url": "https://example.com/3", "code": "a3", "tags": []string{}})
	m0 := time.Now().Unix()/60*60 - 600
	e.store.addVisits(
		storage.VisitCount{VisitKey: storage.VisitKey{Code: "a1", Minute: m0}, Visits: 2},
		storage.VisitCount{VisitKey: storage.VisitKey{Code: "a2", Minute: m0 + 60}, Visits: 1},
		storage.VisitCount{VisitKey: storage.VisitKey{Code: "a3", Minute: m0 + 120, Bot: true}, Visits: 1},
		storage.VisitCount{VisitKey: storage.VisitKey{Code: "a1", Minute: m0 + 180}, Visits: 1},
	)
	urls := func(path string) string {
		t.Helper()
		var out shlinkVisitsOut
		e.shlink("GET", path, nil).wantStatus(t, http.StatusOK).decode(t, &out)
		var us []string
		for _, v := range out.Visits.Data {
			us = append(us, strings.TrimPrefix(v["visitedUrl"].(string), testBaseURL+"/"))
		}
		if out.Visits.Pagination.ItemsInCurrentPage != len(us) {
			t.Errorf("%s: itemsInCurrentPage %d, %d visits", path, out.Visits.Pagination.ItemsInCurrentPage, len(us))
		}
		return strings.Join(us, ",")
	}
	f := func(path, want string) {
		t.Helper()
		if got := urls(path); got != want {
			t.Errorf("%s: %s, want %s", path, got, want)
		}
	}
	f("/rest/v3/tags/t/visits", "a1,a2,a1,a1")
	f("/rest/v3/tags/t/visits?page=2&itemsPerPage=3", "a1")
	f("/rest/v3/domains/DEFAULT/visits", "a1,a3,a2,a1,a1")
	f("/rest/v3/domains/sho.rt/visits?excludeBots=true", "a1,a2,a1,a1")
	f("/rest/v3/visits/non-orphan", "a1,a3,a2,a1,a1")
	f("/rest/v3/visits/non-orphan?domain=other.example", "")
	e.shlink("GET", "/rest/v3/tags/none/visits", nil).wantProblem(t, http.StatusNotFound, "tag-not-found")
	e.shlink("GET", "/rest/v3/domains/other.example/visits", nil).wantProblem(t, http.StatusNotFound, "domain-not-found")
}

// TestShlink_UserAgent: every browser × OS × device the classifier
// produces gets a user agent naming them (bowser's reading of these is
// checked by TestShlinkSDK in cmd/minibitly).
func TestShlink_UserAgent(t *testing.T) {
	browsers := map[string]string{"chrome": "Chrome/", "firefox": "Firefox/", "safari": "Version/17.0", "edge": "Edg/",
		"opera": "OPR/", "samsung": "SamsungBrowser/", "ie": "Trident/", "other": "Mozilla/5.0 ("}
	oses := map[string]string{"windows": "Windows NT", "macos": "Mac OS X", "ios": "like Mac OS X", "android": "Android",
		"linux": "Linux", "chromeos": "CrOS", "other": "compatible"}
	for b, bt := range browsers {
		for o, ot := range oses {
			for _, d := range []string{"desktop", "mobile", "tablet"} {
				ua := shlinkUserAgent(&storage.VisitKey{Browser: b, OS: o, Device: d})
				if !strings.Contains(ua, bt) || (b != "ie" && !strings.Contains(ua, ot)) {
					t.Errorf("%s/%s/%s: %q lacks %q or %q", b, o, d, ua, bt, ot)
				}
				if d == "mobile" && (b == "chrome" || b == "safari") && !strings.Contains(ua, "Mobile") {
					t.Errorf("%s/%s/mobile: %q is not a mobile user agent", b, o, ua)
				}
			}
		}
	}
	if ua := shlinkUserAgent(&storage.VisitKey{Browser: "chrome", OS: "windows", Bot: true}); !strings.Contains(ua, "Bot") {
		t.Errorf("bot visit: %q", ua)
	}
}

// TestShlink_HealthPingsStoresAtMostOncePerTTL: /rest/health needs no key
// and faces the internet, so a flood of health checks must not become a
// flood of store pings.
func TestShlink_HealthPingsStoresAtMostOncePerTTL(t *testing.T) {
	var pings atomic.Int32
	e := newAPIEnv(t, func(_ *Config, d *Deps) {
		d.Ready = func(context.Context) map[string]error {
			pings.Add(1)
			return map[string]error{"embedded": nil}
		}
	})
	for i := 0; i < 20; i++ {
		e.do("GET", "/rest/health", nil, noAuth()).wantStatus(t, 200)
	}
	if n := pings.Load(); n < 1 || n > 2 {
		t.Fatalf("20 health checks pinged the stores %d times, want once (twice if a second passed)", n)
	}
}
