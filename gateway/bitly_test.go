package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minibitly/minibitly/storage"
)

// bitly sends a /v4 request with the key as the npm client does: a bare
// Authorization header.
func (e *apiEnv) bitly(method, path string, body any, opts ...reqOpt) *apiResponse {
	e.t.Helper()
	return e.do(method, path, body, append([]reqOpt{withHeader("Authorization", testKey)}, opts...)...)
}

// wantBitlyError checks a Bitly error answer.
func (r *apiResponse) wantBitlyError(t *testing.T, status int, message, field string) bitlyError {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q: %s", ct, r.body)
	}
	var b bitlyError
	if err := json.Unmarshal(r.body, &b); err != nil {
		t.Fatalf("not JSON: %v: %s", err, r.body)
	}
	if b.Message != message || b.Resource == "" || b.Description == "" {
		t.Errorf("error %+v, want message %q with resource and description", b, message)
	}
	if field != "" && (len(b.Errors) != 1 || b.Errors[0].Field != field || b.Errors[0].ErrorCode != "invalid") {
		t.Errorf("errors %+v, want one for field %q", b.Errors, field)
	}
	return b
}

func (r *apiResponse) bitlink(t *testing.T) bitlinkOut {
	t.Helper()
	var b bitlinkOut
	if err := json.Unmarshal(r.body, &b); err != nil {
		t.Fatalf("not a bitlink: %v: %s", err, r.body)
	}
	return b
}

func TestBitly_Auth(t *testing.T) {
	e := newAPIEnv(t)
	e.bitly("GET", "/v4/user", nil).wantStatus(t, 200)
	e.do("GET", "/v4/user", nil).wantStatus(t, 200) // Bearer
	for name, opts := range map[string][]reqOpt{
		"none":          {noAuth()},
		"X-Api-Key":     {noAuth(), withHeader("X-Api-Key", testKey)},
		"unknown":       {withHeader("Authorization", "mb_nope")},
		"revoked":       {withHeader("Authorization", "Bearer "+revokedKey)},
		"two words":     {withHeader("Authorization", "Token "+testKey)},
		"too long":      {withHeader("Authorization", strings.Repeat("k", maxKeyLen+1))},
		"empty bearer ": {withHeader("Authorization", "Bearer ")},
	} {
		t.Run(name, func(t *testing.T) {
			// Any route, even an unknown one, asks for the token first.
			e.do("GET", "/v4/user", nil, opts...).wantBitlyError(t, 403, "FORBIDDEN", "")
			e.do("POST", "/v4/nothing", `{}`, opts...).wantBitlyError(t, 403, "FORBIDDEN", "")
		})
	}
	var u userOut
	if err := json.Unmarshal(e.bitly("GET", "/v4/user", nil).body, &u); err != nil || u.Login != "test" || !u.IsActive || u.DefaultGroupGUID == "" {
		t.Errorf("user %+v (%v)", u, err)
	}
}

func TestBitly_Shorten(t *testing.T) {
	e := newAPIEnv(t)
	r := e.bitly("POST", "/v4/shorten", map[string]any{"long_url": "https://example.com/a", "domain": "bit.ly", "group_guid": "Ba1bc23dE4F"})
	b := r.wantStatus(t, 201).bitlink(t)
	code, ok := strings.CutPrefix(b.ID, "sho.rt/")
	if !ok || b.Link != testBaseURL+"/"+code || b.LongURL != "https://example.com/a" || b.Archived || b.Tags == nil || b.CustomBitlinks == nil {
		t.Fatalf("shorten: %s", r.body)
	}
	if _, err := time.Parse(bitlyTime, b.CreatedAt); err != nil {
		t.Errorf("created_at %q: %v", b.CreatedAt, err)
	}
	// The same link as /api/v1's, redirecting.
	if l := e.getLink(code); l.URL != "https://example.com/a" {
		t.Errorf("/api/v1 sees %+v", l)
	}
	if r := e.do("GET", "/"+code, nil, noAuth()); r.status != 302 || r.header.Get("Location") != "https://example.com/a" {
		t.Errorf("redirect %d %q", r.status, r.header.Get("Location"))
	}
	// Our own domain is accepted as well.
	e.bitly("POST", "/v4/shorten", map[string]any{"long_url": "https://example.com/b", "domain": "sho.rt"}).wantStatus(t, 201)

	before := e.store.linkCount()
	for name, c := range map[string]struct {
		body    any
		opts    []reqOpt
		status  int
		message string
		field   string
	}{
		"bad url":         {body: map[string]any{"long_url": "not a url"}, status: 400, message: "INVALID_ARG_LONG_URL", field: "long_url"},
		"ftp url":         {body: map[string]any{"long_url": "ftp://example.com/"}, status: 400, message: "INVALID_ARG_LONG_URL", field: "long_url"},
		"self url":        {body: map[string]any{"long_url": "https://sho.rt/x"}, status: 400, message: "INVALID_ARG_LONG_URL", field: "long_url"},
		"no url":          {body: map[string]any{"domain": "bit.ly"}, status: 400, message: "INVALID_ARG_LONG_URL", field: "long_url"},
		"null url":        {body: `{"long_url":null}`, status: 400, message: "INVALID_ARG_LONG_URL", field: "long_url"},
		"other domain":    {body: map[string]any{"long_url": "https://example.com/", "domain": "evil.example"}, status: 400, message: "INVALID_ARG_DOMAIN", field: "domain"},
		"malformed":       {body: `{"long_url":`, status: 400, message: "INVALID_JSON"},
		"not an object":   {body: `["https://example.com/"]`, status: 400, message: "INVALID_JSON"},
		"unknown field":   {body: map[string]any{"long_url": "https://example.com/", "title": "only on /bitlinks"}, status: 400, message: "INVALID_ARG"},
		"wrong type":      {body: map[string]any{"long_url": 5}, status: 400, message: "INVALID_ARG"},
		"not JSON":        {body: "long_url=x", opts: []reqOpt{withHeader("Content-Type", "application/x-www-form-urlencoded")}, status: 415, message: "INVALID_CONTENT_TYPE_HEADER"},
		"wrong method":    {body: nil, status: 405, message: "METHOD_NOT_ALLOWED"},
		"url too long":    {body: map[string]any{"long_url": "https://example.com/" + strings.Repeat("a", 9000)}, status: 400, message: "INVALID_ARG_LONG_URL", field: "long_url"},
		"duplicate field": {body: `{"long_url":"https://example.com/","long_url":"https://example.com/2"}`, status: 400, message: "INVALID_ARG"},
	} {
		t.Run(name, func(t *testing.T) {
			method := "POST"
			if c.body == nil {
				method = "GET"
			}
			r := e.bitly(method, "/v4/shorten", c.body, c.opts...)
			b := r.wantBitlyError(t, c.status, c.message, c.field)
			if c.status == 405 && r.header.Get("Allow") != "POST" {
				t.Errorf("Allow %q", r.header.Get("Allow"))
			}
			if c.field == "long_url" && !strings.Contains(b.Description, `"long_url"`) {
				t.Errorf("description %q does not name long_url", b.Description)
			}
		})
	}
	// Over --max-body-bytes: fasthttp answers from the Content-Length
	// (headers only here: a client still writing may see a reset).
	rawExchange(t, e, fmt.Sprintf("POST /v4/shorten HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\nContent-Length: %d\r\n\r\n{", testKey, testMaxBody+1)).
		wantBitlyError(t, 413, "REQUEST_ENTITY_TOO_LARGE", "")
	if n := e.store.linkCount(); n != before {
		t.Errorf("%d links after refused requests, want %d", n, before)
	}
}

func TestBitly_CreateBitlink(t *testing.T) {
	e := newAPIEnv(t)
	r := e.bitly("POST", "/v4/bitlinks", map[string]any{
		"long_url": "https://example.com/launch", "domain": "sho.rt", "title": "Launch", "tags": []string{"a", "b"},
		"keyword": "launch", "group_guid": "g", "deeplinks": []any{},
	})
	b := r.wantStatus(t, 201).bitlink(t)
	if b.ID != "sho.rt/launch" || b.Link != testBaseURL+"/launch" || b.Title != "Launch" || strings.Join(b.Tags, ",") != "a,b" {
		t.Fatalf("create: %s", r.body)
	}
	if l := e.getLink("launch"); l.Title != "Launch" || len(l.Tags) != 2 {
		t.Errorf("/api/v1 sees %+v", l)
	}
	if ch := e.res.changes(); len(ch) == 0 || ch[len(ch)-1] != "launch" {
		t.Errorf("a custom code must clear a cached 404: LinkChanged calls %v", ch)
	}
	before := e.store.linkCount()
	for name, c := range map[string]struct {
		body    any
		status  int
		message string
		field   string
	}{
		"taken":         {map[string]any{"long_url": "https://example.com/x", "keyword": "launch"}, 409, "ALREADY_EXISTS", ""},
		"reserved":      {map[string]any{"long_url": "https://example.com/x", "keyword": "api"}, 400, "INVALID_ARG_KEYWORD", "keyword"},
		"bad keyword":   {map[string]any{"long_url": "https://example.com/x", "keyword": "a b"}, 400, "INVALID_ARG_KEYWORD", "keyword"},
		"bad tag":       {map[string]any{"long_url": "https://example.com/x", "tags": []string{"no spaces"}}, 400, "INVALID_ARG_TAGS", "tags"},
		"title control": {map[string]any{"long_url": "https://example.com/x", "title": "a\x00b"}, 400, "INVALID_ARG_TITLE", "title"},
		"deeplinks":     {map[string]any{"long_url": "https://example.com/x", "deeplinks": []any{map[string]any{"app_id": "x"}}}, 400, "INVALID_ARG_DEEPLINKS", "deeplinks"},
	} {
		t.Run(name, func(t *testing.T) {
			e.bitly("POST", "/v4/bitlinks", c.body).wantBitlyError(t, c.status, c.message, c.field)
		})
	}
	if n := e.store.linkCount(); n != before {
		t.Errorf("%d links after refused requests, want %d", n, before)
	}
}

func TestBitly_GetPatchDelete(t *testing.T) {
	e := newAPIEnv(t)
	e.createLink(map[string]any{"url": "https://example.com/g", "code": "getme", "title": "T", "tags": []string{"x"}})
	for _, p := range []string{"/v4/bitlinks/sho.rt/getme", "/v4/bitlinks/bit.ly/getme", "/v4/bitlinks/SHO.RT/getme"} {
		b := e.bitly("GET", p, nil).wantStatus(t, 200).bitlink(t)
		if b.ID != "sho.rt/getme" || b.LongURL != "https://example.com/g" || b.Title != "T" {
			t.Errorf("GET %s: %+v", p, b)
		}
	}
	for _, p := range []string{"/v4/bitlinks/other.example/getme", "/v4/bitlinks/sho.rt/nosuch", "/v4/bitlinks/sho.rt/bad%20code"} {
		e.bitly("GET", p, nil).wantBitlyError(t, 404, "NOT_FOUND", "")
	}
	e.bitly("GET", "/v4/bitlinks/getme", nil).wantBitlyError(t, 404, "NOT_FOUND", "") // no domain: no route
	e.bitly("PUT", "/v4/bitlinks/sho.rt/getme", `{}`).wantBitlyError(t, 405, "METHOD_NOT_ALLOWED", "")

	// PATCH: title, tags, long_url; the caches are told.
	n := len(e.res.changes())
	r := e.bitly("PATCH", "/v4/bitlinks/bit.ly/getme", map[string]any{"title": "New", "tags": []string{"y"}, "long_url": "https://example.com/g2"})
	if b := r.wantStatus(t, 200).bitlink(t); b.Title != "New" || b.LongURL != "https://example.com/g2" || strings.Join(b.Tags, ",") != "y" {
		t.Errorf("patch: %s", r.body)
	}
	if ch := e.res.changes(); len(ch) != n+1 || ch[n] != "getme" {
		t.Errorf("LinkChanged calls %v after a patch", ch)
	}
	if l := e.getLink("getme"); l.URL != "https://example.com/g2" || l.Title != "New" {
		t.Errorf("/api/v1 sees %+v", l)
	}
	// The object sent back as read: nothing changes, 200.
	got := e.bitly("GET", "/v4/bitlinks/sho.rt/getme", nil).body
	var obj map[string]any
	if err := json.Unmarshal(got, &obj); err != nil {
		t.Fatal(err)
	}
	delete(obj, "long_url")
	delete(obj, "title")
	delete(obj, "tags")
	e.bitly("PATCH", "/v4/bitlinks/sho.rt/getme", obj).wantStatus(t, 200)
	if l := e.getLink("getme"); l.Version != 2 {
		t.Errorf("a no-op patch wrote the link: version %d", l.Version)
	}
	e.bitly("PATCH", "/v4/bitlinks/sho.rt/getme", map[string]any{"long_url": "javascript:alert(1)"}).wantBitlyError(t, 400, "INVALID_ARG_LONG_URL", "long_url")
	e.bitly("PATCH", "/v4/bitlinks/sho.rt/getme", map[string]any{"archived": true}).wantBitlyError(t, 400, "INVALID_ARG_ARCHIVED", "archived")
	e.bitly("PATCH", "/v4/bitlinks/sho.rt/getme", map[string]any{"keyword": "x"}).wantBitlyError(t, 400, "INVALID_ARG", "")
	e.bitly("PATCH", "/v4/bitlinks/sho.rt/getme", `{"title":`).wantBitlyError(t, 400, "INVALID_JSON", "")
	e.bitly("PATCH", "/v4/bitlinks/sho.rt/nosuch", map[string]any{"title": "x"}).wantBitlyError(t, 404, "NOT_FOUND", "")
	if l := e.getLink("getme"); l.URL != "https://example.com/g2" || l.Version != 2 {
		t.Errorf("refused patches changed the link: %+v", l)
	}

	// DELETE.
	r = e.bitly("DELETE", "/v4/bitlinks/sho.rt/getme", nil).wantStatus(t, 200)
	var del struct {
		LinksDeleted []bitlinkRef `json:"links_deleted"`
	}
	if err := json.Unmarshal(r.body, &del); err != nil || len(del.LinksDeleted) != 1 || del.LinksDeleted[0].ID != "sho.rt/getme" {
		t.Errorf("delete: %s", r.body)
	}
	e.bitly("GET", "/v4/bitlinks/sho.rt/getme", nil).wantBitlyError(t, 404, "NOT_FOUND", "")
	e.bitly("DELETE", "/v4/bitlinks/sho.rt/getme", nil).wantBitlyError(t, 404, "NOT_FOUND", "")
	if r := e.do("GET", "/getme", nil, noAuth()); r.status != http.StatusNotFound {
		t.Errorf("redirect after delete: %d", r.status)
	}
}

func TestBitly_Expand(t *testing.T) {
	e := newAPIEnv(t)
	e.createLink(map[string]any{"url": "https://example.com/e", "code": "expandme"})
	r := e.bitly("POST", "/v4/expand", map[string]any{"bitlink_id": "bit.ly/expandme", "domain": "bit.ly"}).wantStatus(t, 200)
	var x expandOut
	if err := json.Unmarshal(r.body, &x); err != nil || x.LongURL != "https://example.com/e" || x.ID != "sho.rt/expandme" || x.Link != testBaseURL+"/expandme" || x.CreatedAt == "" {
		t.Errorf("expand: %s", r.body)
	}
	e.bitly("POST", "/v4/expand", map[string]any{"bitlink_id": "sho.rt/nosuch"}).wantBitlyError(t, 404, "NOT_FOUND", "")
	e.bitly("POST", "/v4/expand", map[string]any{"bitlink_id": "expandme"}).wantBitlyError(t, 404, "NOT_FOUND", "")
	e.bitly("POST", "/v4/expand", map[string]any{}).wantBitlyError(t, 400, "INVALID_ARG_BITLINK_ID", "bitlink_id")
	e.bitly("GET", "/v4/expand", nil).wantBitlyError(t, 405, "METHOD_NOT_ALLOWED", "")
}

func TestBitly_Clicks(t *testing.T) {
	e := newAPIEnv(t)
	e.createLink(map[string]any{"url": "https://example.com/c", "code": "clicky"})
	now := time.Now().UTC()
	min := now.Truncate(time.Minute).Unix()
	e.store.addVisits(
		storage.VisitCount{VisitKey: storage.VisitKey{Code: "clicky", Minute: min}, Visits: 3},
		storage.VisitCount{VisitKey: storage.VisitKey{Code: "clicky", Minute: min - 60, Browser: "Firefox"}, Visits: 2},
		storage.VisitCount{VisitKey: storage.VisitKey{Code: "clicky", Minute: min - 3*86400}, Visits: 7}, // before the link: still counted when asked
	)
	type clicks struct {
		LinkClicks []linkClick `json:"link_clicks"`
		Units      int         `json:"units"`
		Unit       string      `json:"unit"`
		UnitRef    string      `json:"unit_reference"`
	}
	get := func(q string) clicks {
		t.Helper()
		r := e.bitly("GET", "/v4/bitlinks/bit.ly/clicky/clicks"+q, nil).wantStatus(t, 200)
		var c clicks
		if err := json.Unmarshal(r.body, &c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	day := func(d int) string { return now.AddDate(0, 0, d).Format("2006-01-02") + "T00:00:00+0000" }
	// The npm client's defaults: unit=day&units=-1&size=50&unit_reference=
	c := get("?unit=day&units=-1&size=50&unit_reference=")
	if len(c.LinkClicks) != 1 || c.LinkClicks[0].Clicks != 5 || c.LinkClicks[0].Date != day(0) || c.Unit != "day" || c.Units != -1 {
		t.Errorf("units=-1 (since the link was made today): %+v", c)
	}
	c = get("?unit=day&units=5")
	if len(c.LinkClicks) != 5 || c.LinkClicks[0].Clicks != 5 || c.LinkClicks[0].Date != day(0) || c.LinkClicks[3].Clicks != 7 || c.LinkClicks[3].Date != day(-3) || c.LinkClicks[4].Date != day(-4) {
		t.Errorf("units=5, newest first: %+v", c)
	}
	c = get("?unit=minute&units=3")
	if len(c.LinkClicks) != 3 || c.LinkClicks[0].Clicks != 3 || c.LinkClicks[1].Clicks != 2 || c.LinkClicks[2].Clicks != 0 {
		t.Errorf("minutes: %+v", c)
	}
	c = get("?unit=day&units=5&size=2")
	if len(c.LinkClicks) != 2 {
		t.Errorf("size=2: %d buckets", len(c.LinkClicks))
	}
	c = get("?unit=week&units=2")
	if len(c.LinkClicks) != 2 || c.LinkClicks[0].Clicks+c.LinkClicks[1].Clicks != 12 {
		t.Errorf("weeks: %+v", c)
	}
	if d, _ := time.Parse(bitlyTime, c.LinkClicks[0].Date); d.Weekday() != time.Monday {
		t.Errorf("a week starts on %s", d.Weekday())
	}
	c = get("?unit=month&units=2")
	if len(c.LinkClicks) != 2 || c.LinkClicks[0].Clicks+c.LinkClicks[1].Clicks != 12 || !strings.HasSuffix(c.LinkClicks[0].Date, "-01T00:00:00+0000") {
		t.Errorf("months: %+v", c)
	}
	ref := now.AddDate(0, 0, -3).Format(bitlyTime)
	c = get("?unit=day&units=1&unit_reference=" + strings.ReplaceAll(ref, "+", "%2B"))
	if len(c.LinkClicks) != 1 || c.LinkClicks[0].Clicks != 7 || c.UnitRef != ref {
		t.Errorf("unit_reference %s: %+v", ref, c)
	}

	r := e.bitly("GET", "/v4/bitlinks/sho.rt/clicky/clicks/summary?unit=day&units=5", nil).wantStatus(t, 200)
	var s clicksSummaryOut
	if err := json.Unmarshal(r.body, &s); err != nil || s.TotalClicks != 12 || s.Unit != "day" || s.Units != 5 {
		t.Errorf("summary: %s", r.body)
	}

	for q, msg := range map[string]string{
		"?unit=year":                "INVALID_ARG_UNIT",
		"?units=0":                  "INVALID_ARG_UNITS",
		"?units=x":                  "INVALID_ARG_UNITS",
		"?size=0":                   "INVALID_ARG_SIZE",
		"?size=1001":                "INVALID_ARG_SIZE",
		"?unit_reference=yesterday": "INVALID_ARG_UNIT_REFERENCE",
		"?rollup=true":              "INVALID_ARG",
		"?unit=day&unit=hour":       "INVALID_ARG",
		"?unit=minute&units=20000":  "", // capped by size: fine
	} {
		r := e.bitly("GET", "/v4/bitlinks/sho.rt/clicky/clicks"+q, nil)
		if msg == "" {
			r.wantStatus(t, 200)
			continue
		}
		r.wantBitlyError(t, 400, msg, "")
	}
	e.bitly("GET", "/v4/bitlinks/sho.rt/nosuch/clicks", nil).wantBitlyError(t, 404, "NOT_FOUND", "")
	e.bitly("GET", "/v4/bitlinks/other.example/clicky/clicks/summary", nil).wantBitlyError(t, 404, "NOT_FOUND", "")
	e.bitly("POST", "/v4/bitlinks/sho.rt/clicky/clicks", `{}`).wantBitlyError(t, 405, "METHOD_NOT_ALLOWED", "")
}

func TestBitly_StoreDown(t *testing.T) {
	e := newAPIEnv(t)
	e.createLink(map[string]any{"url": "https://example.com/d", "code": "downy"})
	e.store.linksDown.Store(true)
	r := e.bitly("GET", "/v4/bitlinks/sho.rt/downy", nil)
	r.wantBitlyError(t, 503, "TEMPORARILY_UNAVAILABLE", "")
	if r.header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
}

func TestToBitlyError(t *testing.T) {
	for name, c := range map[string]struct {
		err     error
		status  int
		message string
	}{
		"unauthorized":  {errorf(401, "unauthorized", "x"), 403, "FORBIDDEN"},
		"not found":     {storage.ErrNotFound, 404, "NOT_FOUND"},
		"conflict":      {storage.ErrConflict, 409, "ALREADY_EXISTS"},
		"url":           {fieldError(422, "url", "bad"), 400, "INVALID_ARG_LONG_URL"},
		"empty range":   {storage.ErrEmptyRange, 400, "INVALID_ARG_RANGE"},
		"unavailable":   {storage.ErrUnavailable, 503, "TEMPORARILY_UNAVAILABLE"},
		"internal":      {errors.New("boom"), 500, "INTERNAL_ERROR"},
		"rate":          {errorf(429, "rate_limited", "x"), 429, "RATE_LIMIT_EXCEEDED"},
		"bad request":   {&requestError{err: errors.New("garbage")}, 400, "INVALID_ARG"},
		"unprocessable": {errorf(422, "empty_patch", "x"), 422, "UNPROCESSABLE_ENTITY"},
		"timeout":       {errorf(408, "request_timeout", "x"), 408, "REQUEST_TIMEOUT"},
	} {
		status, b := toBitlyError(c.err, "bitlinks")
		if status != c.status || b.Message != c.message || b.Description == "" || b.Resource != "bitlinks" {
			t.Errorf("%s: %d %+v, want %d %s", name, status, b, c.status, c.message)
		}
	}
}

func TestBitly_Metrics(t *testing.T) {
	e := newAPIEnv(t)
	e.createLink(map[string]any{"url": "https://example.com/m", "code": "metric"})
	min := time.Now().UTC().Truncate(time.Minute).Unix()
	e.store.addVisits(
		storage.VisitCount{VisitKey: storage.VisitKey{Code: "metric", Minute: min, Referrer: "t.co", Country: "DE"}, Visits: 4},
		storage.VisitCount{VisitKey: storage.VisitKey{Code: "metric", Minute: min, Country: "FR"}, Visits: 2},
		storage.VisitCount{VisitKey: storage.VisitKey{Code: "metric", Minute: min}, Visits: 1},
	)
	get := func(path string) metricsOut {
		t.Helper()
		var m metricsOut
		if err := json.Unmarshal(e.bitly("GET", path, nil).wantStatus(t, 200).body, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	values := func(m metricsOut) map[string]uint64 {
		out := map[string]uint64{}
		for _, v := range m.Metrics {
			out[v.Value] = v.Clicks
		}
		return out
	}
	m := get("/v4/bitlinks/bit.ly/metric/referrers")
	if v := values(m); m.Facet != "referrers" || m.Unit != "day" || m.Units != -1 || len(v) != 2 || v["t.co"] != 4 || v["direct"] != 3 {
		t.Errorf("referrers: %+v", m)
	}
	m = get("/v4/bitlinks/sho.rt/metric/countries?unit=hour&units=2")
	if v := values(m); m.Facet != "countries" || m.Unit != "hour" || len(v) != 3 || v["DE"] != 4 || v["FR"] != 2 || v["Unknown"] != 1 {
		t.Errorf("countries: %+v", m)
	}
	if m = get("/v4/bitlinks/sho.rt/metric/countries?size=1"); len(m.Metrics) != 1 || m.Metrics[0].Value != "DE" {
		t.Errorf("size=1: %+v", m)
	}
	e.bitly("GET", "/v4/bitlinks/sho.rt/nosuch/referrers", nil).wantBitlyError(t, 404, "NOT_FOUND", "")
	e.bitly("GET", "/v4/bitlinks/sho.rt/metric/referrers?unit=year", nil).wantBitlyError(t, 400, "INVALID_ARG_UNIT", "")
}
