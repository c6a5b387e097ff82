package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minibitly/minibitly/storage"
)

func TestAPI_GetLink(t *testing.T) {
	e := newAPIEnv(t)
	created := e.createLink(map[string]any{"url": "https://example.com/g", "code": "getme", "tags": []string{"x"}})
	e.store.addVisits(storage.VisitCount{VisitKey: storage.VisitKey{Code: "getme", Minute: 60}, Visits: 5})
	e.res.mu.Lock()
	e.res.unflushed["getme"] = 2
	e.res.mu.Unlock()
	l := e.getLink("getme")
	if l.Visits == nil || *l.Visits != 7 {
		t.Errorf("visits = %v, want 7 (stored 5 + unflushed 2)", l.Visits)
	}
	if l.URL != created.URL || !slices.Equal(l.Tags, []string{"x"}) || !l.CreatedAt.Equal(created.CreatedAt) || l.Version != 1 {
		t.Errorf("got %+v, created %+v", l, created)
	}
	t.Run("visits unavailable", func(t *testing.T) {
		e.res.mu.Lock()
		e.res.visitsErr = errors.New("owner unreachable")
		e.res.mu.Unlock()
		defer func() { e.res.mu.Lock(); e.res.visitsErr = nil; e.res.mu.Unlock() }()
		r := e.do("GET", "/api/v1/links/getme", nil).wantStatus(t, 200)
		m := r.json(t)
		if v, ok := m["visits"]; !ok || v != nil {
			t.Errorf("visits = %v (present %v), want null", v, ok)
		}
		if m["url"] != "https://example.com/g" {
			t.Errorf("url = %v", m["url"])
		}
	})
	t.Run("unknown", func(t *testing.T) {
		e.do("GET", "/api/v1/links/nothere", nil).wantError(t, 404, "not_found", `"nothere"`)
	})
	t.Run("invalid code syntax", func(t *testing.T) {
		e.do("GET", "/api/v1/links/"+url.PathEscape("a.b"), nil).wantError(t, 404, "not_found", "no such link")
		e.do("GET", "/api/v1/links/"+strings.Repeat("a", 65), nil).wantError(t, 404, "not_found", "no such link")
	})
}

func TestAPI_PatchLink(t *testing.T) {
	e := newAPIEnv(t)
	exp := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	e.createLink(map[string]any{"url": "https://example.com/old", "code": "edit", "title": "t", "tags": []string{"a"},
		"expires_at": exp.Format(time.RFC3339), "max_visits": 10, "cache_max_age": 60})

	// The redirect is cached before the edit...
	r := e.do("GET", "/edit", nil, noAuth()).wantStatus(t, 302)
	if r.header.Get("Location") != "https://example.com/old" {
		t.Fatalf("Location = %q", r.header.Get("Location"))
	}
	if e.srv.d.Cache.Get([]byte("edit"), time.Now().Unix()) == nil {
		t.Fatal("the redirect did not fill the near-cache")
	}
	before := len(e.res.changes())
	r = e.do("PATCH", "/api/v1/links/edit", map[string]any{"url": "https://example.com/new", "redirect_status": 301, "forward_query": true}).wantStatus(t, 200)
	var l linkOut
	if err := json.Unmarshal(r.body, &l); err != nil {
		t.Fatal(err)
	}
	if l.URL != "https://example.com/new" || l.RedirectStatus != 301 || !l.ForwardQuery || l.Title != "t" ||
		!slices.Equal(l.Tags, []string{"a"}) || l.Version != 2 || l.MaxVisits == nil || *l.MaxVisits != 10 || l.ExpiresAt == nil || l.Visits == nil {
		t.Errorf("patched %+v", l)
	}
	if !l.UpdatedAt.After(l.CreatedAt) && !l.UpdatedAt.Equal(l.CreatedAt) {
		t.Errorf("updated_at %v before created_at %v", l.UpdatedAt, l.CreatedAt)
	}
	if ch := e.res.changes(); len(ch) != before+1 || ch[len(ch)-1] != "edit" {
		t.Errorf("LinkChanged calls %v", ch)
	}
	// ... and the next redirect sees the new version at once.
	r = e.do("GET", "/edit?x=1", nil, noAuth()).wantStatus(t, 301)
	if r.header.Get("Location") != "https://example.com/new?x=1" {
		t.Errorf("Location after patch = %q", r.header.Get("Location"))
	}

	// null clears expires_at and max_visits, resets cache_max_age.
	r = e.do("PATCH", "/api/v1/links/edit", `{"expires_at":null,"max_visits":null,"cache_max_age":null,"tags":[],"title":""}`).wantStatus(t, 200)
	m := r.json(t)
	for _, k := range []string{"expires_at", "max_visits", "cache_max_age"} {
		if v, ok := m[k]; !ok || v != nil {
			t.Errorf("%s = %v after null", k, v)
		}
	}
	if tags, _ := m["tags"].([]any); tags == nil || len(tags) != 0 || m["title"] != "" || m["version"] != float64(3) {
		t.Errorf("after clearing: %s", r.body)
	}
	s, _ := e.store.GetLink(t.Context(), "edit")
	if !s.ExpiresAt.IsZero() || s.MaxVisits != 0 || s.CacheMaxAge != -1 || len(s.Tags) != 0 {
		t.Errorf("stored after clearing: %+v", s)
	}
	// A merge-patch content type is JSON too.
	e.do("PATCH", "/api/v1/links/edit", `{"title":"merge"}`, withHeader("Content-Type", "application/merge-patch+json")).wantStatus(t, 200)

	t.Run("bad input changes nothing", func(t *testing.T) {
		want, _ := e.store.GetLink(t.Context(), "edit")
		changes := len(e.res.changes())
		cases := map[string]struct {
			body   string
			status int
			code   string
			msg    string
		}{
			"empty patch":   {`{}`, 422, "empty_patch", "at least one"},
			"code":          {`{"code":"other"}`, 400, "unknown_field", `"code" cannot be changed`},
			"url null":      {`{"url":null}`, 400, "invalid_type", `"url"`},
			"bad url":       {`{"url":"mailto:a@b.c"}`, 422, "invalid_url", `"mailto"`},
			"past expiry":   {`{"expires_at":"2000-01-01T00:00:00Z"}`, 422, "invalid_expires_at", "future"},
			"bad status":    {`{"redirect_status":304}`, 422, "invalid_redirect_status", "304"},
			"zero visits":   {`{"max_visits":0}`, 422, "invalid_max_visits", "at least 1"},
			"unknown field": {`{"titel":"x"}`, 400, "unknown_field", `"titel"`},
			"case variant":  {`{"Title":"x"}`, 400, "unknown_field", `did you mean "title"`},
			"duplicate":     {`{"title":"a","title":"b"}`, 400, "duplicate_field", `"title"`},
			"trailing":      {`{"title":"a"}]`, 400, "invalid_json", "after the JSON object"},
			"not object":    {`["title"]`, 400, "invalid_json", "object"},
			"wrong type":    {`{"forward_query":1}`, 400, "invalid_type", `"forward_query"`},
			"one bad field": {`{"title":"fine","tags":["bad tag"]}`, 422, "invalid_tags", "bad tag"},
		}
		for name, tc := range cases {
			t.Run(name, func(t *testing.T) {
				e.do("PATCH", "/api/v1/links/edit", tc.body).wantError(t, tc.status, tc.code, tc.msg)
			})
		}
		e.do("PATCH", "/api/v1/links/edit", `{"title":"x"}`, withHeader("Content-Type", "text/plain")).wantError(t, 415, "unsupported_media_type", "application/json")
		got, _ := e.store.GetLink(t.Context(), "edit")
		if got.Version != want.Version || got.Title != want.Title || got.URL != want.URL {
			t.Errorf("bad patches changed the link: %+v, was %+v", got, want)
		}
		if n := len(e.res.changes()); n != changes {
			t.Errorf("bad patches called LinkChanged %d times", n-changes)
		}
	})
	t.Run("unknown link", func(t *testing.T) {
		e.do("PATCH", "/api/v1/links/nothere", `{"title":"x"}`).wantError(t, 404, "not_found", `"nothere"`)
	})
}

func TestAPI_DeleteLink(t *testing.T) {
	e := newAPIEnv(t)
	e.createLink(map[string]any{"url": "https://example.com/d", "code": "gone"})
	e.do("GET", "/gone", nil, noAuth()).wantStatus(t, 302)
	r := e.do("DELETE", "/api/v1/links/gone", nil).wantStatus(t, 204)
	if len(r.body) != 0 {
		t.Errorf("204 with a body: %q", r.body)
	}
	if ch := e.res.changes(); len(ch) == 0 || ch[len(ch)-1] != "gone" {
		t.Errorf("LinkChanged calls %v", ch)
	}
	e.do("GET", "/gone", nil, noAuth()).wantStatus(t, 404)
	e.do("GET", "/api/v1/links/gone", nil).wantError(t, 404, "not_found", "gone")
	e.do("DELETE", "/api/v1/links/gone", nil).wantError(t, 404, "not_found", "gone")
	e.do("PATCH", "/api/v1/links/gone", `{"title":"x"}`).wantError(t, 404, "not_found", "gone")
}

func TestAPI_ListLinks(t *testing.T) {
	e := newAPIEnv(t)
	var codes []string
	for i := 0; i < 7; i++ {
		tags := []string{"all"}
		if i%2 == 0 {
			tags = append(tags, "even")
		}
		l := e.createLink(map[string]any{"url": fmt.Sprintf("https://example.com/%d", i), "code": fmt.Sprintf("c%d", i), "tags": tags})
		codes = append(codes, l.Code)
	}
	slices.Reverse(codes) // newest first (equal times sort by code, descending)

	walk := func(query string) []string {
		t.Helper()
		var got []string
		cursor := ""
		for page := 0; page < 20; page++ {
			q := query
			if cursor != "" {
				q += "&cursor=" + url.QueryEscape(cursor)
			}
			r := e.do("GET", "/api/v1/links?"+q, nil).wantStatus(t, 200)
			var out struct {
				Links      []map[string]any `json:"links"`
				NextCursor *string          `json:"next_cursor"`
			}
			if err := json.Unmarshal(r.body, &out); err != nil {
				t.Fatal(err)
			}
			if out.Links == nil {
				t.Fatalf("links is not an array: %s", r.body)
			}
			for _, l := range out.Links {
				if v, ok := l["visits"]; !ok || v != nil {
					t.Errorf("list visits = %v, want null", v)
				}
				got = append(got, l["code"].(string))
			}
			if out.NextCursor == nil {
				if !strings.Contains(string(r.body), `"next_cursor":null`) {
					t.Errorf("last page without next_cursor null: %s", r.body)
				}
				return got
			}
			cursor = *out.NextCursor
		}
		t.Fatal("too many pages")
		return nil
	}
	if got := walk("limit=2"); !slices.Equal(got, codes) {
		t.Errorf("pages of 2: %v, want %v", got, codes)
	}
	if got := walk(""); !slices.Equal(got, codes) {
		t.Errorf("default page: %v, want %v", got, codes)
	}
	var even []string
	for _, c := range codes {
		if (c[1]-'0')%2 == 0 {
			even = append(even, c)
		}
	}
	if got := walk("limit=3&tag=even"); !slices.Equal(got, even) {
		t.Errorf("tag=even: %v, want %v", got, even)
	}
	if got := walk("tag=none"); len(got) != 0 {
		t.Errorf("tag=none: %v", got)
	}

	bad := map[string]struct {
		query, code, msg string
	}{
		"limit zero":     {"limit=0", "invalid_limit", `"limit"`},
		"limit too big":  {"limit=1001", "invalid_limit", "1 to 1000"},
		"limit word":     {"limit=ten", "invalid_limit", `"ten"`},
		"limit empty":    {"limit=", "invalid_limit", `"limit"`},
		"bad cursor":     {"cursor=%21%21", "invalid_cursor", "cursor"},
		"empty cursor":   {"cursor=", "invalid_cursor", "cursor"},
		"bad tag":        {"tag=a%20b", "invalid_tag", `"tag"`},
		"unknown param":  {"lmit=5", "invalid_query", `"lmit"`},
		"repeated param": {"limit=1&limit=2", "invalid_query", "more than once"},
	}
	for name, tc := range bad {
		t.Run(name, func(t *testing.T) {
			e.do("GET", "/api/v1/links?"+tc.query, nil).wantError(t, 400, tc.code, tc.msg)
		})
	}
}

func TestAPI_Stats(t *testing.T) {
	e := newAPIEnv(t)
	e.createLink(map[string]any{"url": "https://example.com/s", "code": "st"})
	base := time.Date(2030, 1, 2, 10, 0, 0, 0, time.UTC).Unix()
	e.store.addVisits(
		storage.VisitCount{VisitKey: storage.VisitKey{Code: "st", Minute: base, Referrer: "news.example", Device: "mobile", Browser: "Safari", OS: "iOS", Country: "FR"}, Visits: 3},
		storage.VisitCount{VisitKey: storage.VisitKey{Code: "st", Minute: base + 3600, Device: "desktop", Browser: "Chrome", OS: "Windows"}, Visits: 5},
		storage.VisitCount{VisitKey: storage.VisitKey{Code: "st", Minute: base + 7200, Device: "bot", Browser: "Googlebot", Bot: true}, Visits: 1},
		storage.VisitCount{VisitKey: storage.VisitKey{Code: "other", Minute: base}, Visits: 100},
	)
	r := e.do("GET", "/api/v1/links/st/stats?from=2030-01-02T09:00:00Z&to=2030-01-02T13:00:00Z&interval=hour", nil).wantStatus(t, 200)
	var s struct {
		Code      string    `json:"code"`
		From, To  time.Time `json:"-"`
		Interval  string    `json:"interval"`
		Total     uint64    `json:"total"`
		Series    []pointOut
		Referrers []bucketOut
		Devices   []bucketOut
		Browsers  []bucketOut
		OS        []bucketOut `json:"os"`
		Countries []bucketOut
		Bots      botsOut
	}
	if err := json.Unmarshal(r.body, &s); err != nil {
		t.Fatal(err)
	}
	m := r.json(t)
	for _, k := range []string{"code", "from", "to", "interval", "total", "series", "referrers", "devices", "browsers", "os", "countries", "bots"} {
		if _, ok := m[k]; !ok {
			t.Errorf("stats without %q: %s", k, r.body)
		}
	}
	if m["from"] != "2030-01-02T09:00:00Z" || m["to"] != "2030-01-02T13:00:00Z" {
		t.Errorf("from/to = %v/%v", m["from"], m["to"])
	}
	if s.Code != "st" || s.Interval != "hour" || s.Total != 9 || s.Bots.Bot != 1 || s.Bots.Human != 8 {
		t.Errorf("stats %+v", s)
	}
	var series []uint64
	for _, p := range s.Series {
		series = append(series, p.Visits)
	}
	if !slices.Equal(series, []uint64{0, 3, 5, 1}) || !s.Series[1].T.Equal(time.Unix(base, 0)) {
		t.Errorf("series %+v", s.Series)
	}
	if len(s.Devices) != 3 || s.Devices[0] != (bucketOut{"desktop", 5}) || len(s.Referrers) == 0 || s.Referrers[0] != (bucketOut{"", 6}) {
		t.Errorf("devices %+v referrers %+v", s.Devices, s.Referrers)
	}
	if !strings.Contains(string(r.body), `{"key":"FR","visits":3}`) {
		t.Errorf("countries: %s", r.body)
	}

	t.Run("defaults", func(t *testing.T) {
		r := e.do("GET", "/api/v1/links/st/stats", nil).wantStatus(t, 200)
		m := r.json(t)
		from, _ := time.Parse(time.RFC3339, m["from"].(string))
		to, _ := time.Parse(time.RFC3339, m["to"].(string))
		// "to" defaults to now: it must be within a minute of the clock.
		if m["interval"] != "hour" || to.Sub(from) != 7*24*time.Hour || to.Before(time.Now().Add(-time.Minute)) {
			t.Errorf("defaults: %v..%v %v", m["from"], m["to"], m["interval"])
		}
		if n := len(m["series"].([]any)); n < 168 || n > 169 {
			t.Errorf("%d hourly points over a week", n)
		}
	})
	t.Run("minute and day", func(t *testing.T) {
		r := e.do("GET", "/api/v1/links/st/stats?from=2030-01-02T10:00:00Z&to=2030-01-02T10:05:00Z&interval=minute", nil).wantStatus(t, 200)
		if n := len(r.json(t)["series"].([]any)); n != 5 {
			t.Errorf("%d minute points, want 5", n)
		}
		r = e.do("GET", "/api/v1/links/st/stats?from=2030-01-01T00:00:00Z&to=2030-01-04T00:00:00Z&interval=day", nil).wantStatus(t, 200)
		if m := r.json(t); len(m["series"].([]any)) != 3 || m["total"] != float64(9) {
			t.Errorf("days: %s", r.body)
		}
	})
	bad := map[string]struct {
		query  string
		status int
		code   string
		msg    string
	}{
		"bad from":       {"from=yesterday", 400, "invalid_from", `"from"`},
		"bad to":         {"to=2030-01-02", 400, "invalid_to", `"to"`},
		"bad interval":   {"interval=week", 400, "invalid_interval", "minute, hour or day"},
		"from after to":  {"from=2030-01-02T00:00:00Z&to=2030-01-01T00:00:00Z", 400, "invalid_range", "before"},
		"from equals to": {"from=2030-01-02T00:00:00Z&to=2030-01-02T00:00:00Z", 400, "invalid_range", "is empty"},
		"same second":    {"from=2030-01-02T00:00:00.2Z&to=2030-01-02T00:00:00.7Z", 400, "invalid_range", "is empty"},
		"too many":       {"from=2020-01-01T00:00:00Z&to=2030-01-01T00:00:00Z&interval=minute", 422, "too_many_points", "the maximum is 10000"},
		"unknown param":  {"form=2030-01-01T00:00:00Z", 400, "invalid_query", `"form"`},
	}
	for name, tc := range bad {
		t.Run(name, func(t *testing.T) {
			e.do("GET", "/api/v1/links/st/stats?"+tc.query, nil).wantError(t, tc.status, tc.code, tc.msg)
		})
	}
	t.Run("unknown link", func(t *testing.T) {
		e.do("GET", "/api/v1/links/nope/stats", nil).wantError(t, 404, "not_found", `"nope"`)
		// The range is checked first, as it always was.
		e.do("GET", "/api/v1/links/nope/stats?from=2030-01-02T00:00:00Z&to=2030-01-01T00:00:00Z", nil).wantError(t, 400, "invalid_range", "before")
		e.do("GET", "/api/v1/links/other/stats", nil).wantError(t, 404, "not_found", `"other"`)
	})
}

// TestAPI_Stats_StoreRefusesQuery: a query the stats store refuses with
// storage.ErrInvalidQuery is the client's error (422 and a JSON error, with
// the store's reason), not a 500.
func TestAPI_Stats_StoreRefusesQuery(t *testing.T) {
	e := newAPIEnv(t)
	e.createLink(map[string]any{"url": "https://example.com/s", "code": "st"})
	e.store.refuseStats.Store(true) // e.g. a backend with a smaller limit
	e.do("GET", "/api/v1/links/st/stats?interval=day", nil).wantError(t, 422, "invalid_range", "refused by this store")
	e.store.refuseStats.Store(false)
	e.do("GET", "/api/v1/links/st/stats?interval=day", nil).wantStatus(t, 200)
}

func TestAPI_Routing(t *testing.T) {
	e := newAPIEnv(t)
	for _, p := range []string{"/api/v1", "/api/v1/", "/api/v1/nope", "/api/v1/links/", "/api/v1/links/a/b", "/api/v1/links/a/stats/x", "/api/v1/clusterx", "/api/v2/links"} {
		r := e.do("GET", p, nil)
		if p == "/api/v2/links" { // not the API: a redirect lookup of an invalid code
			r.wantError(t, 404, "not_found", "no such link")
			continue
		}
		r.wantError(t, 404, "not_found", "no such route")
	}
	methods := map[string]string{
		"/api/v1/links":           "GET, POST",
		"/api/v1/links/bulk":      "POST",
		"/api/v1/links/abc":       "DELETE, GET, PATCH",
		"/api/v1/links/abc/stats": "GET",
		"/api/v1/openapi.json":    "GET",
		"/api/v1/cluster":         "GET",
		"/api/v1/cluster/owner/x": "GET",
	}
	for p, allow := range methods {
		for _, m := range []string{"PUT", "POST", "DELETE", "PATCH", "GET", "OPTIONS"} {
			if strings.Contains(allow, m) {
				continue
			}
			r := e.do(m, p, nil)
			r.wantError(t, 405, "method_not_allowed", m)
			if got := r.header.Get("Allow"); got != allow {
				t.Errorf("%s %s: Allow %q, want %q", m, p, got, allow)
			}
		}
	}
	t.Run("metrics count api requests by status", func(t *testing.T) {
		before := apiCount(t, e, "404")
		e.do("GET", "/api/v1/nope", nil)
		e.do("GET", "/api/v1/nope", nil)
		if got := apiCount(t, e, "404"); got != before+2 {
			t.Errorf("api 404 count %v, want %v", got, before+2)
		}
		ok := apiCount(t, e, "200")
		e.do("GET", "/api/v1/cluster", nil).wantStatus(t, 200)
		if got := apiCount(t, e, "200"); got != ok+1 {
			t.Errorf("api 200 count %v, want %v", got, ok+1)
		}
	})
}

func apiCount(t *testing.T, e *apiEnv, status string) float64 {
	t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "minibitly_gateway_api_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "status" && l.GetValue() == status {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

func TestAPI_Bulk(t *testing.T) {
	e := newAPIEnv(t)
	e.createLink(map[string]any{"url": "https://example.com/t", "code": "taken"})
	body := `{"links":[
		{"url":"https://example.com/0"},
		{"url":"https://example.com/1","code":"bulk-one","tags":["b"]},
		{"url":"ftp://example.com/2"},
		{"url":"https://example.com/3","code":"taken"},
		{"url":"https://example.com/4","URL":"https://evil.example"},
		"not an object",
		{"url":"https://example.com/6","url":"https://evil.example"},
		{"url":"https://example.com/7","max_visits":"lots"},
		{"url":"https://example.com/8","code":"dup"},
		{"url":"https://example.com/9","code":"dup"},
		{"url":"https://example.com/10","code":"ADMIN"},
		{}
	]}`
	r := e.do("POST", "/api/v1/links/bulk", body).wantStatus(t, 200)
	var out struct {
		Created, Failed int
		Results         []struct {
			Index  int          `json:"index"`
			Status int          `json:"status"`
			Link   *linkOut     `json:"link"`
			Error  *errorDetail `json:"error"`
		}
	}
	if err := json.Unmarshal(r.body, &out); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		status int
		code   string
	}{
		{201, ""}, {201, ""}, {422, "invalid_url"}, {409, "code_taken"}, {400, "unknown_field"}, {400, "invalid_json"},
		{400, "duplicate_field"}, {400, "invalid_type"}, {201, ""}, {409, "code_taken"}, {422, "invalid_code"}, {422, "invalid_url"},
	}
	if len(out.Results) != len(want) {
		t.Fatalf("%d results, want %d: %s", len(out.Results), len(want), r.body)
	}
	for i, w := range want {
		res := out.Results[i]
		if res.Index != i || res.Status != w.status {
			t.Errorf("item %d: index %d status %d, want %d (%+v)", i, res.Index, res.Status, w.status, res.Error)
			continue
		}
		if w.status == 201 {
			if res.Link == nil || res.Error != nil || res.Link.URL == "" || res.Link.Version != 1 {
				t.Errorf("item %d: %+v", i, res)
			} else if _, err := e.store.GetLink(t.Context(), res.Link.Code); err != nil {
				t.Errorf("item %d not stored: %v", i, err)
			}
			continue
		}
		if res.Link != nil || res.Error == nil || res.Error.Code != w.code || res.Error.Message == "" {
			t.Errorf("item %d: %+v, want error %q", i, res.Error, w.code)
		}
	}
	if out.Created != 3 || out.Failed != 9 {
		t.Errorf("created %d failed %d", out.Created, out.Failed)
	}
	if out.Results[1].Link.Code != "bulk-one" || len(out.Results[0].Link.Code) != 7 {
		t.Errorf("codes %q %q", out.Results[1].Link.Code, out.Results[0].Link.Code)
	}
	if l, _ := e.store.GetLink(t.Context(), "dup"); l.URL != "https://example.com/8" {
		t.Errorf("dup = %q", l.URL)
	}
	if n := e.store.linkCount(); n != 4 {
		t.Errorf("%d links stored, want 4", n)
	}

	t.Run("max size", func(t *testing.T) {
		items := make([]map[string]any, maxBulkLinks)
		for i := range items {
			items[i] = map[string]any{"url": fmt.Sprintf("https://example.com/m%d", i)}
		}
		r := e.do("POST", "/api/v1/links/bulk", map[string]any{"links": items}).wantStatus(t, 200)
		if m := r.json(t); m["created"] != float64(maxBulkLinks) {
			t.Errorf("created %v", m["created"])
		}
		items = append(items, map[string]any{"url": "https://example.com/one-more"})
		before := e.store.linkCount()
		e.do("POST", "/api/v1/links/bulk", map[string]any{"links": items}).wantError(t, 422, "invalid_links", "1001")
		if e.store.linkCount() != before {
			t.Error("an oversized batch stored links")
		}
	})
	t.Run("empty", func(t *testing.T) {
		r := e.do("POST", "/api/v1/links/bulk", `{"links":[]}`).wantStatus(t, 200)
		if string(r.body) != `{"created":0,"failed":0,"results":[]}`+"\n" {
			t.Errorf("empty batch: %s", r.body)
		}
	})
	bad := map[string]struct {
		body   string
		status int
		code   string
		msg    string
	}{
		"missing links":  {`{}`, 422, "invalid_links", "required"},
		"links null":     {`{"links":null}`, 400, "invalid_type", `"links"`},
		"links object":   {`{"links":{"url":"https://example.com"}}`, 400, "invalid_type", `"links" must be an array`},
		"array body":     {`[{"url":"https://example.com"}]`, 400, "invalid_json", "object"},
		"unknown field":  {`{"links":[],"atomic":true}`, 400, "unknown_field", `"atomic"`},
		"case variant":   {`{"Links":[]}`, 400, "unknown_field", `did you mean "links"`},
		"duplicate":      {`{"links":[],"links":[{"url":"https://example.com"}]}`, 400, "duplicate_field", `"links"`},
		"syntax in item": {`{"links":[{"url":"https://example.com",}]}`, 400, "invalid_json", "invalid JSON"},
		"trailing":       {`{"links":[]}{}`, 400, "invalid_json", "after"},
	}
	for name, tc := range bad {
		t.Run(name, func(t *testing.T) {
			before := e.store.linkCount()
			e.do("POST", "/api/v1/links/bulk", tc.body).wantError(t, tc.status, tc.code, tc.msg)
			if e.store.linkCount() != before {
				t.Error("links stored")
			}
		})
	}
	e.do("POST", "/api/v1/links/bulk", `{"links":[]}`, withHeader("Content-Type", "text/csv")).wantError(t, 415, "unsupported_media_type", "application/json")
}

func TestAPI_Bulk_GeneratedConflictRetries(t *testing.T) {
	e := newAPIEnv(t)
	e.store.conflictNext.Store(2) // the first two generated codes collide
	r := e.do("POST", "/api/v1/links/bulk", `{"links":[{"url":"https://example.com/a"},{"url":"https://example.com/b"},{"url":"https://example.com/c"}]}`).wantStatus(t, 200)
	if m := r.json(t); m["created"] != float64(3) {
		t.Errorf("created %v: %s", m["created"], r.body)
	}
	if n := e.store.linkCount(); n != 3 {
		t.Errorf("%d stored", n)
	}
	if n := e.store.creates.Load(); n != 5 {
		t.Errorf("%d create attempts, want 5", n)
	}
}
