package gateway

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestShlink_Shorten: GET /short-urls/shorten creates with the key in the
// query (or the header), answers JSON or the short URL as text, and
// refuses what POST /short-urls refuses.
func TestShlink_Shorten(t *testing.T) {
	e := newAPIEnv(t)
	q := func(kv ...string) string {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return "/rest/v3/short-urls/shorten?" + v.Encode()
	}
	var out shlinkShortURL
	e.do("GET", q("apiKey", testKey, "longUrl", "https://example.com/shorten?a=1&b=2"), nil, noAuth()).
		wantStatus(t, http.StatusOK).decode(t, &out)
	if out.LongURL != "https://example.com/shorten?a=1&b=2" || out.ShortURL != testBaseURL+"/"+out.ShortCode || !out.ForwardQuery {
		t.Fatalf("shorten (json) = %+v", out)
	}
	if l := e.getLink(out.ShortCode); l.URL != out.LongURL {
		t.Errorf("/api/v1 sees %q", l.URL)
	}

	r := e.do("GET", q("apiKey", testKey, "longUrl", "https://example.com/txt", "format", "txt"), nil, noAuth()).wantStatus(t, http.StatusOK)
	if ct := r.header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Errorf("txt Content-Type %q", ct)
	}
	code, ok := strings.CutPrefix(string(r.body), testBaseURL+"/")
	if !ok || e.getLink(code).URL != "https://example.com/txt" {
		t.Errorf("txt body %q", r.body)
	}

	e.shlink("GET", q("longUrl", "https://example.com/header"), nil).wantStatus(t, http.StatusOK)

	e.do("GET", q("longUrl", "https://example.com/x"), nil, noAuth()).wantProblem(t, http.StatusUnauthorized, "missing-authentication")
	e.do("GET", q("apiKey", "nope", "longUrl", "https://example.com/x"), nil, noAuth()).wantProblem(t, http.StatusUnauthorized, "invalid-api-key")
	e.do("GET", q("apiKey", revokedKey, "longUrl", "https://example.com/x"), nil, noAuth()).wantProblem(t, http.StatusUnauthorized, "invalid-api-key")
	for name, c := range map[string]struct {
		query   string
		invalid string
	}{
		"no longUrl":  {q("apiKey", testKey), "longUrl"},
		"bad longUrl": {q("apiKey", testKey, "longUrl", "ftp://example.com/"), "longUrl"},
		"self":        {q("apiKey", testKey, "longUrl", testBaseURL+"/loop"), "longUrl"},
		"bad format":  {q("apiKey", testKey, "longUrl", "https://example.com/", "format", "xml"), "format"},
	} {
		t.Run(name, func(t *testing.T) {
			p := e.do("GET", c.query, nil, noAuth()).wantProblem(t, http.StatusBadRequest, "invalid-data")
			if len(p.InvalidElements) != 1 || p.InvalidElements[0] != c.invalid {
				t.Errorf("invalidElements %v, want [%s]", p.InvalidElements, c.invalid)
			}
		})
	}
	e.shlink("POST", "/rest/v3/short-urls/shorten", map[string]any{"longUrl": "https://example.com/"}).wantProblem(t, http.StatusMethodNotAllowed, "method-not-allowed")
	// The query-string key is only for this route.
	e.do("GET", "/rest/v3/short-urls?apiKey="+testKey, nil, noAuth()).wantProblem(t, http.StatusUnauthorized, "missing-authentication")
}
