package gateway

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestAPI_Auth(t *testing.T) {
	e := newAPIEnv(t)
	tests := map[string]struct {
		opts   []reqOpt
		status int
		msg    string
	}{
		"bearer":                    {opts: nil, status: 200},
		"bearer lower-case scheme":  {opts: []reqOpt{withHeader("Authorization", "bearer "+testKey)}, status: 200},
		"x-api-key":                 {opts: []reqOpt{noAuth(), withHeader("X-Api-Key", testKey)}, status: 200},
		"basic plus x-api-key":      {opts: []reqOpt{withHeader("Authorization", "Basic Zm9vOmJhcg=="), withHeader("X-Api-Key", testKey)}, status: 200},
		"none":                      {opts: []reqOpt{noAuth()}, status: 401, msg: "API key is required"},
		"unknown bearer":            {opts: []reqOpt{withHeader("Authorization", "Bearer nope")}, status: 401, msg: "unknown API key"},
		"unknown x-api-key":         {opts: []reqOpt{noAuth(), withHeader("X-Api-Key", "nope")}, status: 401, msg: "unknown API key"},
		"revoked":                   {opts: []reqOpt{withHeader("Authorization", "Bearer "+revokedKey)}, status: 401, msg: "revoked"},
		"revoked x-api-key":         {opts: []reqOpt{noAuth(), withHeader("X-Api-Key", revokedKey)}, status: 401, msg: "revoked"},
		"basic only":                {opts: []reqOpt{withHeader("Authorization", "Basic Zm9vOmJhcg==")}, status: 401, msg: "Bearer"},
		"bearer without key":        {opts: []reqOpt{withHeader("Authorization", "Bearer ")}, status: 401, msg: "Bearer"},
		"key without scheme":        {opts: []reqOpt{withHeader("Authorization", testKey)}, status: 401, msg: "Bearer"},
		"huge key":                  {opts: []reqOpt{withHeader("Authorization", "Bearer "+strings.Repeat("k", 600))}, status: 401, msg: "unknown API key"},
		"key with trailing garbage": {opts: []reqOpt{withHeader("Authorization", "Bearer "+testKey+"x")}, status: 401, msg: "unknown API key"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := e.do("GET", "/api/v1/links", nil, tc.opts...)
			if tc.status == 200 {
				r.wantStatus(t, 200)
				return
			}
			r.wantError(t, tc.status, "unauthorized", tc.msg)
			if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate = %q", r.header.Get("WWW-Authenticate"))
			}
		})
	}
	t.Run("every api route needs a key", func(t *testing.T) {
		for _, p := range []string{"/api/v1/links", "/api/v1/links/abc", "/api/v1/links/abc/stats", "/api/v1/openapi.json", "/api/v1/cluster", "/api/v1/cluster/owner/abc", "/api/v1/nope", "/api/v1"} {
			e.do("GET", p, nil, noAuth()).wantError(t, 401, "unauthorized", "API key")
		}
		e.do("POST", "/api/v1/links", map[string]any{"url": "https://example.com"}, noAuth()).wantError(t, 401, "unauthorized", "API key")
		if n := e.store.linkCount(); n != 0 {
			t.Errorf("%d links stored without a key", n)
		}
	})
	t.Run("key store down", func(t *testing.T) {
		e.store.down.Store(true)
		defer e.store.down.Store(false)
		r := e.do("GET", "/api/v1/links", nil)
		r.wantError(t, 503, "store_unavailable", "key store")
		if r.header.Get("Retry-After") == "" {
			t.Error("503 without Retry-After")
		}
	})
}

func TestAPI_CreateLink_Generated(t *testing.T) {
	e := newAPIEnv(t)
	before := time.Now().Add(-time.Second)
	r := e.do("POST", "/api/v1/links", map[string]any{"url": "https://example.com/a?b=c"}).wantStatus(t, 201)
	m := r.json(t)
	code, _ := m["code"].(string)
	if !regexp.MustCompile(`^[0-9A-Za-z]{7}$`).MatchString(code) {
		t.Fatalf("generated code %q", code)
	}
	if got := r.header.Get("Location"); got != "/api/v1/links/"+code {
		t.Errorf("Location = %q", got)
	}
	want := map[string]any{
		"code": code, "short_url": testBaseURL + "/" + code, "url": "https://example.com/a?b=c", "title": "",
		"tags": []any{}, "expires_at": nil, "max_visits": nil, "redirect_status": float64(302),
		"forward_query": false, "cache_max_age": nil, "disabled": false, "version": float64(1), "visits": float64(0),
	}
	for k, v := range want {
		got, ok := m[k]
		if !ok {
			t.Errorf("field %q missing", k)
			continue
		}
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(v)
		if string(gj) != string(wj) {
			t.Errorf("%s = %s, want %s", k, gj, wj)
		}
	}
	if len(m) != len(want)+2 {
		t.Errorf("link object has %d fields: %v", len(m), m)
	}
	created, err := time.Parse(time.RFC3339Nano, m["created_at"].(string))
	if err != nil || created.Before(before) || created.After(time.Now()) {
		t.Errorf("created_at = %v (%v)", m["created_at"], err)
	}
	if m["updated_at"] != m["created_at"] {
		t.Errorf("updated_at %v != created_at %v", m["updated_at"], m["created_at"])
	}
	l, err := e.store.GetLink(t.Context(), code)
	if err != nil {
		t.Fatal(err)
	}
	if l.URL != "https://example.com/a?b=c" || l.RedirectStatus != 302 || l.CacheMaxAge != -1 || l.Version != 1 || l.MaxVisits != 0 || !l.ExpiresAt.IsZero() {
		t.Errorf("stored %+v", l)
	}
	// And it redirects.
	rd := e.do("GET", "/"+code, nil, noAuth()).wantStatus(t, 302)
	if rd.header.Get("Location") != "https://example.com/a?b=c" {
		t.Errorf("redirect Location = %q", rd.header.Get("Location"))
	}
}

func TestAPI_CreateLink_AllFields(t *testing.T) {
	e := newAPIEnv(t)
	exp := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	l := e.createLink(map[string]any{
		"url": "https://example.com/x", "code": "My_Code-1", "title": "Spring sale ✓",
		"tags": []string{"campaign:spring", "v1.2", "a_b-c"}, "expires_at": exp.Format(time.RFC3339),
		"max_visits": 100, "redirect_status": 308, "forward_query": true, "cache_max_age": 3600,
	})
	if l.Code != "My_Code-1" || l.ShortURL != testBaseURL+"/My_Code-1" || l.Title != "Spring sale ✓" ||
		!slices.Equal(l.Tags, []string{"campaign:spring", "v1.2", "a_b-c"}) || l.ExpiresAt == nil || !l.ExpiresAt.Equal(exp) ||
		l.MaxVisits == nil || *l.MaxVisits != 100 || l.RedirectStatus != 308 || !l.ForwardQuery ||
		l.CacheMaxAge == nil || *l.CacheMaxAge != 3600 || l.Version != 1 || l.Visits == nil || *l.Visits != 0 {
		t.Errorf("link %+v", l)
	}
	s, err := e.store.GetLink(t.Context(), "My_Code-1")
	if err != nil {
		t.Fatal(err)
	}
	if !s.ExpiresAt.Equal(exp) || s.MaxVisits != 100 || s.RedirectStatus != 308 || !s.ForwardQuery || s.CacheMaxAge != 3600 || s.Title != "Spring sale ✓" {
		t.Errorf("stored %+v", s)
	}
	// Null for the nullable fields means "not set"; null code means generate.
	l = e.createLink(map[string]any{"url": "https://example.com/y", "code": nil, "expires_at": nil, "max_visits": nil, "cache_max_age": nil})
	if len(l.Code) != 7 || l.ExpiresAt != nil || l.MaxVisits != nil || l.CacheMaxAge != nil {
		t.Errorf("link %+v", l)
	}
	// cache_max_age 0 is an explicit "do not cache", distinct from the default.
	l = e.createLink(map[string]any{"url": "https://example.com/z", "cache_max_age": 0})
	if l.CacheMaxAge == nil || *l.CacheMaxAge != 0 {
		t.Errorf("cache_max_age = %v", l.CacheMaxAge)
	}
}

func TestAPI_CreateLink_ContentTypes(t *testing.T) {
	e := newAPIEnv(t)
	body := `{"url":"https://example.com"}`
	for name, ct := range map[string]string{
		"json":         "application/json",
		"json charset": "application/json; charset=utf-8",
		"json upper":   "Application/JSON; charset=UTF-8",
		"plus json":    "application/vnd.minibitly+json",
	} {
		t.Run(name, func(t *testing.T) {
			e.do("POST", "/api/v1/links", body, withHeader("Content-Type", ct)).wantStatus(t, 201)
		})
	}
	t.Run("missing content type is JSON", func(t *testing.T) {
		e.do("POST", "/api/v1/links", body, func(r *http.Request) { r.Header.Del("Content-Type") }).wantStatus(t, 201)
	})
}

func TestAPI_CreateLink_CustomCodeTaken(t *testing.T) {
	e := newAPIEnv(t)
	e.createLink(map[string]any{"url": "https://example.com/1", "code": "taken"})
	e.do("POST", "/api/v1/links", map[string]any{"url": "https://example.com/2", "code": "taken"}).wantError(t, 409, "code_taken", `"taken"`)
	e.do("DELETE", "/api/v1/links/taken", nil).wantStatus(t, 204)
	e.do("POST", "/api/v1/links", map[string]any{"url": "https://example.com/3", "code": "taken"}).wantError(t, 409, "code_taken", "never reused")
	if got, _ := e.store.GetLink(t.Context(), "taken"); got.URL != "" {
		t.Errorf("retired code resolves to %q", got.URL)
	}
}

func TestAPI_CreateLink_GeneratedConflictRetries(t *testing.T) {
	e := newAPIEnv(t)
	e.store.conflictNext.Store(generateRetries - 1)
	l := e.createLink(map[string]any{"url": "https://example.com"})
	if n := e.store.creates.Load(); n != generateRetries {
		t.Errorf("%d create attempts, want %d", n, generateRetries)
	}
	if _, err := e.store.GetLink(t.Context(), l.Code); err != nil {
		t.Errorf("the created link is not stored: %v", err)
	}
	e.store.conflictNext.Store(generateRetries)
	e.do("POST", "/api/v1/links", map[string]any{"url": "https://example.com"}).wantError(t, 503, "code_generation_failed", "attempts")
	if n := e.store.linkCount(); n != 1 {
		t.Errorf("%d links stored, want 1", n)
	}
}

func TestAPI_CreateLink_NegativeCacheDropped(t *testing.T) {
	e := newAPIEnv(t)
	e.do("GET", "/later", nil, noAuth()).wantStatus(t, 404) // caches "no such link"
	if ce := e.srv.d.Cache.Get([]byte("later"), time.Now().Unix()); ce == nil || !ce.Gone {
		t.Fatalf("the 404 was not near-cached: %+v", ce)
	}
	e.createLink(map[string]any{"url": "https://example.com/later", "code": "later"})
	r := e.do("GET", "/later", nil, noAuth()).wantStatus(t, 302)
	if r.header.Get("Location") != "https://example.com/later" {
		t.Errorf("Location = %q", r.header.Get("Location"))
	}
}

// badLinkBodies are create bodies that must be refused, with the status,
// error code and a part of the message (the field's name, mostly).
var badLinkBodies = map[string]struct {
	body   string
	status int
	code   string
	msg    string
}{
	"empty body":        {``, 400, "invalid_json", "empty"},
	"whitespace body":   {"  \n", 400, "invalid_json", "empty"},
	"truncated":         {`{"url":`, 400, "invalid_json", "ends unexpectedly"},
	"syntax":            {`{"url" "x"}`, 400, "invalid_json", "invalid JSON"},
	"trailing object":   {`{"url":"https://example.com"} {}`, 400, "invalid_json", "after the JSON object"},
	"trailing garbage":  {`{"url":"https://example.com"}x`, 400, "invalid_json", ""},
	"array":             {`[{"url":"https://example.com"}]`, 400, "invalid_json", "expected a JSON object, got an array"},
	"null":              {`null`, 400, "invalid_json", "expected a JSON object, got null"},
	"string":            {`"https://example.com"`, 400, "invalid_json", "got a string"},
	"unknown field":     {`{"url":"https://example.com","foo":1}`, 400, "unknown_field", `"foo"`},
	"case variant":      {`{"URL":"https://example.com"}`, 400, "unknown_field", `did you mean "url"`},
	"both cases":        {`{"url":"https://example.com","URL":"https://evil.example"}`, 400, "unknown_field", `"URL"`},
	"unicode fold":      {`{"url":"https://example.com","tag\u017f":["x"]}`, 400, "unknown_field", `"tagſ"`},
	"duplicate":         {`{"url":"https://example.com","url":"https://evil.example"}`, 400, "duplicate_field", `"url"`},
	"url number":        {`{"url":42}`, 400, "invalid_type", `"url" must be a string`},
	"url null":          {`{"url":null}`, 400, "invalid_type", `"url" must not be null`},
	"url object":        {`{"url":{"a":1,"a":2}}`, 400, "invalid_type", `"url"`},
	"max_visits string": {`{"url":"https://example.com","max_visits":"5"}`, 400, "invalid_type", `"max_visits" must be an integer`},
	"max_visits float":  {`{"url":"https://example.com","max_visits":1.5}`, 400, "invalid_type", `"max_visits"`},
	"max_visits huge":   {`{"url":"https://example.com","max_visits":1e30}`, 400, "invalid_type", `"max_visits"`},
	"tags string":       {`{"url":"https://example.com","tags":"a"}`, 400, "invalid_type", `"tags" must be an array of strings`},
	"tags numbers":      {`{"url":"https://example.com","tags":[1]}`, 400, "invalid_type", `"tags"`},
	"tags null":         {`{"url":"https://example.com","tags":null}`, 400, "invalid_type", `"tags" must not be null`},
	"title null":        {`{"url":"https://example.com","title":null}`, 400, "invalid_type", `"title"`},
	"forward_query str": {`{"url":"https://example.com","forward_query":"yes"}`, 400, "invalid_type", `"forward_query" must be true or false`},
	"status string":     {`{"url":"https://example.com","redirect_status":"301"}`, 400, "invalid_type", `"redirect_status"`},
	"status null":       {`{"url":"https://example.com","redirect_status":null}`, 400, "invalid_type", `"redirect_status"`},
	"code number":       {`{"url":"https://example.com","code":7}`, 400, "invalid_type", `"code"`},
	"missing url":       {`{"title":"x"}`, 422, "invalid_url", `"url": is required`},
	"empty url":         {`{"url":""}`, 422, "invalid_url", "empty"},
	"relative url":      {`{"url":"/x"}`, 422, "invalid_url", "absolute"},
	"ftp url":           {`{"url":"ftp://example.com/f"}`, 422, "invalid_url", `"ftp"`},
	"javascript url":    {`{"url":"javascript:alert(1)"}`, 422, "invalid_url", "javascript"},
	"url with space":    {`{"url":"https://example.com/a b"}`, 422, "invalid_url", "space"},
	"url with newline":  {`{"url":"https://example.com/\r\nX: y"}`, 422, "invalid_url", "control character"},
	"url userinfo":      {`{"url":"https://a@example.com/"}`, 422, "invalid_url", "user information"},
	"url self":          {`{"url":"https://sho.rt/abc"}`, 422, "invalid_url", "this service"},
	"url self port":     {`{"url":"http://127.0.0.1:8080/abc"}`, 422, "invalid_url", "this service"},
	"url too long":      {`{"url":"https://example.com/` + strings.Repeat("a", 8200) + `"}`, 422, "invalid_url", "8192"},
	"code reserved":     {`{"url":"https://example.com","code":"API"}`, 422, "invalid_code", "reserved"},
	"code reserved 2":   {`{"url":"https://example.com","code":"metrics"}`, 422, "invalid_code", "reserved"},
	"code slash":        {`{"url":"https://example.com","code":"a/b"}`, 422, "invalid_code", "'/'"},
	"code empty":        {`{"url":"https://example.com","code":""}`, 422, "invalid_code", "empty"},
	"code too long":     {`{"url":"https://example.com","code":"` + strings.Repeat("c", 65) + `"}`, 422, "invalid_code", "maximum is 64"},
	"title too long":    {`{"url":"https://example.com","title":"` + strings.Repeat("é", 513) + `"}`, 422, "invalid_title", "513"},
	"title control":     {`{"url":"https://example.com","title":"a\u0007b"}`, 422, "invalid_title", "control"},
	"too many tags":     {`{"url":"https://example.com","tags":[` + strings.Repeat(`"t",`, 20) + `"u"]}`, 422, "invalid_tags", "21 tags"},
	"bad tag":           {`{"url":"https://example.com","tags":["a b"]}`, 422, "invalid_tags", `"a b"`},
	"empty tag":         {`{"url":"https://example.com","tags":[""]}`, 422, "invalid_tags", "tag 0"},
	"long tag":          {`{"url":"https://example.com","tags":["` + strings.Repeat("t", 65) + `"]}`, 422, "invalid_tags", "1 to 64"},
	"duplicate tag":     {`{"url":"https://example.com","tags":["a","a"]}`, 422, "invalid_tags", "more than once"},
	"expires past":      {`{"url":"https://example.com","expires_at":"2001-01-01T00:00:00Z"}`, 422, "invalid_expires_at", "not in the future"},
	"expires format":    {`{"url":"https://example.com","expires_at":"tomorrow"}`, 422, "invalid_expires_at", "RFC 3339"},
	"expires no zone":   {`{"url":"https://example.com","expires_at":"2099-01-01T00:00:00"}`, 422, "invalid_expires_at", "RFC 3339"},
	"max_visits zero":   {`{"url":"https://example.com","max_visits":0}`, 422, "invalid_max_visits", "at least 1"},
	"max_visits neg":    {`{"url":"https://example.com","max_visits":-3}`, 422, "invalid_max_visits", "at least 1"},
	"status 303":        {`{"url":"https://example.com","redirect_status":303}`, 422, "invalid_redirect_status", "303"},
	"status 200":        {`{"url":"https://example.com","redirect_status":200}`, 422, "invalid_redirect_status", "301, 302, 307 or 308"},
	"cache neg":         {`{"url":"https://example.com","cache_max_age":-1}`, 422, "invalid_cache_max_age", "between 0"},
	"cache huge":        {`{"url":"https://example.com","cache_max_age":999999999}`, 422, "invalid_cache_max_age", "between 0"},
}

func TestAPI_CreateLink_BadInput(t *testing.T) {
	e := newAPIEnv(t)
	for name, tc := range badLinkBodies {
		t.Run(name, func(t *testing.T) {
			e.do("POST", "/api/v1/links", tc.body).wantError(t, tc.status, tc.code, tc.msg)
		})
	}
	headerCases := map[string]struct {
		opts []reqOpt
		msg  string
	}{
		"text/plain":   {[]reqOpt{withHeader("Content-Type", "text/plain")}, "application/json"},
		"form":         {[]reqOpt{withHeader("Content-Type", "application/x-www-form-urlencoded")}, "application/json"},
		"latin1":       {[]reqOpt{withHeader("Content-Type", "application/json; charset=iso-8859-1")}, "UTF-8"},
		"garbage type": {[]reqOpt{withHeader("Content-Type", ";;")}, "application/json"},
		"gzip":         {[]reqOpt{withHeader("Content-Encoding", "gzip")}, "uncompressed"},
	}
	for name, tc := range headerCases {
		t.Run(name, func(t *testing.T) {
			e.do("POST", "/api/v1/links", `{"url":"https://example.com"}`, tc.opts...).wantError(t, 415, "unsupported_media_type", tc.msg)
		})
	}
	t.Run("body too large", func(t *testing.T) {
		// The server answers 413 from the Content-Length and closes the
		// connection; a client still writing the body may see a reset
		// instead of the answer. So send the headers only, over a raw
		// connection, and read what comes back.
		conn, err := net.Dial("tcp", strings.TrimPrefix(e.base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "POST /api/v1/links HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"+
			"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n{", testKey, testMaxBody+100)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		r := &apiResponse{status: resp.StatusCode, header: resp.Header, body: body}
		r.wantError(t, 413, "body_too_large", "too large")
	})
	if n := e.store.linkCount(); n != 0 {
		t.Errorf("%d links stored from bad input", n)
	}
	if n := e.store.creates.Load(); n != 0 {
		t.Errorf("%d create calls reached the store", n)
	}
}

func TestAPI_LinkStoreDown(t *testing.T) {
	e := newAPIEnv(t)
	e.store.linksDown.Store(true) // the key store still answers
	e.do("POST", "/api/v1/links", map[string]any{"url": "https://example.com"}).wantError(t, 503, "store_unavailable", "unavailable")
	e.do("GET", "/api/v1/links/abc", nil).wantError(t, 503, "store_unavailable", "unavailable")
	e.do("GET", "/api/v1/links", nil).wantError(t, 503, "store_unavailable", "unavailable")
	e.do("PATCH", "/api/v1/links/abc", map[string]any{"title": "x"}).wantError(t, 503, "store_unavailable", "unavailable")
	e.do("DELETE", "/api/v1/links/abc", nil).wantError(t, 503, "store_unavailable", "unavailable")
	e.do("GET", "/api/v1/links/abc/stats", nil).wantError(t, 503, "store_unavailable", "unavailable")
	e.do("POST", "/api/v1/links/bulk", map[string]any{"links": []any{map[string]any{"url": "https://example.com"}}}).wantError(t, 503, "store_unavailable", "unavailable")
	e.store.linksDown.Store(false)
	if n := e.store.linkCount(); n != 0 {
		t.Errorf("%d links stored", n)
	}
}
