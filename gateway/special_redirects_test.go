package gateway

import (
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minibitly/minibitly/internal/blocklist"
	"github.com/minibitly/minibitly/internal/nearcache"
	"github.com/minibitly/minibitly/storage"
)

// TestServer_SpecialRedirects: each redirect applies to its case only, and
// every case keeps its old answer while its redirect is not set.
func TestServer_SpecialRedirects(t *testing.T) {
	now := time.Now().Unix()
	s, _, _ := newRedirectServer(t,
		&nearcache.Entry{Code: "abc", Location: []byte("https://example.com/x"), Status: 302},
		&nearcache.Entry{Code: "old", Location: []byte("https://example.com/o"), Status: 302, ExpiresAt: now - 10},
		&nearcache.Entry{Code: "gone", Location: []byte("https://example.com/g"), Status: 302, Gone: true},
		&nearcache.Entry{Code: "lim", Location: []byte("https://example.com/l"), Status: 302, Limited: true},
	)
	s.d.Resolver.(*mapResolver).max = 0 // "lim" is over its visits
	all := storage.DomainRedirects{BaseURL: "https://home.example/", Regular404: "https://home.example/404", InvalidShortURL: "https://home.example/invalid"}
	cases := map[string]struct {
		uri          string
		set, unset   string // Location with all set; status with none set
		wantUnsetLoc string
	}{
		"base URL":           {"/", all.BaseURL, "302", "/ui/"},
		"unknown code":       {"/nope", all.InvalidShortURL, "404", ""},
		"malformed code":     {"/no%20pe", all.InvalidShortURL, "404", ""},
		"deleted":            {"/gone", all.InvalidShortURL, "404", ""},
		"expired":            {"/old", all.InvalidShortURL, "410", ""},
		"visit limit":        {"/lim", all.InvalidShortURL, "410", ""},
		"longer path":        {"/a/b", all.Regular404, "404", ""},
		"longer unknown":     {"/nope/x/y", all.Regular404, "404", ""},
		"existing link kept": {"/abc", "https://example.com/x", "302", "https://example.com/x"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			s.redirects.cur.Store(newSpecialRedirects(storage.DomainRedirects{}, nil))
			ctx := get(s, c.uri)
			if got := ctx.Response.StatusCode(); strconv.Itoa(got) != c.unset {
				t.Fatalf("unset: status %d, want %s", got, c.unset)
			}
			if loc := string(ctx.Response.Header.Peek("Location")); !sameLocation(loc, c.wantUnsetLoc) {
				t.Fatalf("unset: Location %q, want %q", loc, c.wantUnsetLoc)
			}
			s.redirects.cur.Store(newSpecialRedirects(all, nil))
			ctx = get(s, c.uri)
			if got := ctx.Response.StatusCode(); got != http.StatusFound {
				t.Fatalf("set: status %d, want 302", got)
			}
			if loc := string(ctx.Response.Header.Peek("Location")); loc != c.set {
				t.Fatalf("set: Location %q, want %q", loc, c.set)
			}
			if c.uri != "/abc" {
				if cc := string(ctx.Response.Header.Peek("Cache-Control")); cc != "private, max-age=0" {
					t.Fatalf("set: Cache-Control %q", cc)
				}
			}
		})
	}
	t.Run("only the matching one", func(t *testing.T) {
		s.redirects.cur.Store(newSpecialRedirects(storage.DomainRedirects{Regular404: all.Regular404}, nil))
		if got := get(s, "/nope").Response.StatusCode(); got != http.StatusNotFound {
			t.Errorf("/nope with only regular404 set: %d, want 404", got)
		}
		if loc := string(get(s, "/").Response.Header.Peek("Location")); !sameLocation(loc, "/ui/") {
			t.Errorf("/ with only regular404 set: Location %q", loc)
		}
		if loc := string(get(s, "/a/b").Response.Header.Peek("Location")); loc != all.Regular404 {
			t.Errorf("/a/b: Location %q", loc)
		}
	})
}

// sameLocation compares a Location with want, where a want starting with
// "/" may also be answered absolute (fasthttp's ctx.Redirect).
func sameLocation(loc, want string) bool {
	if want == "" || !strings.HasPrefix(want, "/") {
		return loc == want
	}
	return loc == want || strings.HasSuffix(loc, want) && strings.Contains(loc, "://")
}

// TestShlink_DomainRedirects: PATCH sets, keeps (absent) and clears (null)
// each redirect, GET /domains and the redirect path follow, the store keeps
// them, and bad input is Shlink's problems.
func TestShlink_DomainRedirects(t *testing.T) {
	e := newAPIEnv(t)
	patch := func(body map[string]any) shlinkRedirects {
		t.Helper()
		var out shlinkRedirects
		e.shlink("PATCH", "/rest/v3/domains/redirects", body).wantStatus(t, http.StatusOK).decode(t, &out)
		return out
	}
	str := func(p *string) string {
		if p == nil {
			return "<null>"
		}
		return *p
	}
	want := func(what string, got shlinkRedirects, base, r404, invalid string) {
		t.Helper()
		if str(got.BaseURLRedirect) != base || str(got.Regular404Redirect) != r404 || str(got.InvalidShortURLRedirect) != invalid {
			t.Fatalf("%s: %s, %s, %s; want %s, %s, %s", what, str(got.BaseURLRedirect), str(got.Regular404Redirect), str(got.InvalidShortURLRedirect), base, r404, invalid)
		}
	}
	domains := func() (shlinkRedirects, shlinkRedirects) {
		t.Helper()
		var out struct {
			Domains struct {
				Data []struct {
					Domain    string          `json:"domain"`
					IsDefault bool            `json:"isDefault"`
					Redirects shlinkRedirects `json:"redirects"`
				} `json:"data"`
				DefaultRedirects shlinkRedirects `json:"defaultRedirects"`
			} `json:"domains"`
		}
		e.shlink("GET", "/rest/v3/domains", nil).wantStatus(t, http.StatusOK).decode(t, &out)
		if len(out.Domains.Data) != 1 || out.Domains.Data[0].Domain != "sho.rt" || !out.Domains.Data[0].IsDefault {
			t.Fatalf("domains %+v", out.Domains.Data)
		}
		return out.Domains.Data[0].Redirects, out.Domains.DefaultRedirects
	}
	redirect := func(path string) (int, string) {
		t.Helper()
		r := e.do("GET", path, nil, noAuth())
		return r.status, r.header.Get("Location")
	}

	got := patch(map[string]any{"domain": "sho.rt", "baseUrlRedirect": "https://home.example/", "invalidShortUrlRedirect": "https://home.example/invalid"})
	want("set two", got, "https://home.example/", "<null>", "https://home.example/invalid")
	d, def := domains()
	want("GET redirects", d, "https://home.example/", "<null>", "https://home.example/invalid")
	want("GET defaultRedirects", def, "https://home.example/", "<null>", "https://home.example/invalid")
	if st, loc := redirect("/"); st != http.StatusFound || loc != "https://home.example/" {
		t.Errorf("GET / = %d %q", st, loc)
	}
	if st, loc := redirect("/nope"); st != http.StatusFound || loc != "https://home.example/invalid" {
		t.Errorf("GET /nope = %d %q", st, loc)
	}
	if st, _ := redirect("/a/b"); st != http.StatusNotFound {
		t.Errorf("GET /a/b with regular404Redirect unset = %d, want 404", st)
	}

	got = patch(map[string]any{"domain": "DEFAULT", "regular404Redirect": "https://home.example/404", "baseUrlRedirect": nil})
	want("absent kept, null cleared", got, "<null>", "https://home.example/404", "https://home.example/invalid")
	if st, loc := redirect("/a/b"); st != http.StatusFound || loc != "https://home.example/404" {
		t.Errorf("GET /a/b = %d %q", st, loc)
	}
	if st, loc := redirect("/"); st != http.StatusFound || !sameLocation(loc, "/ui/") {
		t.Errorf("GET / after clearing = %d %q, want the UI", st, loc)
	}
	stored, err := e.store.DomainRedirects(t.Context())
	if err != nil || stored != (storage.DomainRedirects{Regular404: "https://home.example/404", InvalidShortURL: "https://home.example/invalid"}) {
		t.Fatalf("stored %+v, %v", stored, err)
	}

	for name, c := range map[string]struct {
		body    any
		status  int
		kind    string
		invalid string
	}{
		"no domain":         {map[string]any{"baseUrlRedirect": "https://x.example/"}, 400, "invalid-data", "domain"},
		"null domain":       {map[string]any{"domain": nil}, 400, "invalid-data", "domain"},
		"other domain":      {map[string]any{"domain": "other.example", "baseUrlRedirect": "https://x.example/"}, 404, "domain-not-found", ""},
		"not a URL":         {map[string]any{"domain": "sho.rt", "baseUrlRedirect": "not a url"}, 400, "invalid-data", "baseUrlRedirect"},
		"ftp":               {map[string]any{"domain": "sho.rt", "regular404Redirect": "ftp://x.example/"}, 400, "invalid-data", "regular404Redirect"},
		"this service":      {map[string]any{"domain": "sho.rt", "invalidShortUrlRedirect": testBaseURL + "/x"}, 400, "invalid-data", "invalidShortUrlRedirect"},
		"not a string":      {map[string]any{"domain": "sho.rt", "baseUrlRedirect": 5}, 400, "invalid-data", "baseUrlRedirect"},
		"not a JSON object": {"[1]", 400, "malformed-request-body", ""},
	} {
		t.Run(name, func(t *testing.T) {
			p := e.shlink("PATCH", "/rest/v3/domains/redirects", c.body).wantProblem(t, c.status, c.kind)
			if c.invalid != "" && (len(p.InvalidElements) != 1 || p.InvalidElements[0] != c.invalid) {
				t.Errorf("invalidElements %v, want [%s]", p.InvalidElements, c.invalid)
			}
		})
	}
	stored2, err := e.store.DomainRedirects(t.Context())
	if err != nil || stored2 != stored {
		t.Fatalf("refused PATCHes changed the store: %+v, %v", stored2, err)
	}
	e.shlink("GET", "/rest/v3/domains/redirects", nil).wantProblem(t, http.StatusMethodNotAllowed, "method-not-allowed")
}

// TestServer_DomainRedirectsRefresh: a change made elsewhere (another node,
// straight in the store) is loaded within RedirectsRefresh, and Serve
// loads what is stored when it starts.
func TestServer_DomainRedirectsRefresh(t *testing.T) {
	first := storage.DomainRedirects{BaseURL: "https://first.example/"}
	e := newAPIEnv(t, func(c *Config, d *Deps) {
		c.RedirectsRefresh = 20 * time.Millisecond
		if err := d.Links.SetDomainRedirects(t.Context(), first); err != nil {
			t.Fatal(err)
		}
	})
	if r := e.do("GET", "/", nil, noAuth()); r.status != http.StatusFound || r.header.Get("Location") != first.BaseURL {
		t.Fatalf("GET / after start = %d %q, want the stored redirect", r.status, r.header.Get("Location"))
	}
	if err := e.store.SetDomainRedirects(t.Context(), storage.DomainRedirects{InvalidShortURL: "https://second.example/"}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; {
		r := e.do("GET", "/nope", nil, noAuth())
		if r.status == http.StatusFound && r.header.Get("Location") == "https://second.example/" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /nope still %d %q after 5 s", r.status, r.header.Get("Location"))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if r := e.do("GET", "/", nil, noAuth()); r.status != http.StatusFound || !sameLocation(r.header.Get("Location"), "/ui/") {
		t.Fatalf("GET / after the refresh = %d %q, want the UI", r.status, r.header.Get("Location"))
	}
}

// The domain redirects honour the blocklist: a PATCH to a blocked domain
// is refused, and one stored before the domain was listed is not followed.
func TestSpecialRedirects_Blocklist(t *testing.T) {
	list := filepath.Join(t.TempDir(), "block.txt")
	if err := os.WriteFile(list, []byte("blocked.example\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var bl blocklist.List
	if _, err := bl.Load(list); err != nil {
		t.Fatal(err)
	}
	e := newAPIEnv(t, func(_ *Config, d *Deps) { d.Blocklist = &bl })
	e.shlink("PATCH", "/rest/v3/domains/redirects", map[string]any{"baseUrlRedirect": "https://www.blocked.example/"}).
		wantProblem(t, http.StatusBadRequest, "invalid-data")
	r := newSpecialRedirects(storage.DomainRedirects{BaseURL: "https://blocked.example/", Regular404: "https://ok.example/"}, &bl)
	if r.base != nil || string(r.regular404) != "https://ok.example/" {
		t.Fatalf("snapshot: base %q, regular404 %q; want the blocked one unset", r.base, r.regular404)
	}
}
