package gateway

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/minibitly/minibitly/internal/clock"
	"github.com/minibitly/minibitly/internal/nearcache"
	"github.com/minibitly/minibitly/internal/visitlog"
	"github.com/minibitly/minibitly/storage"
	"github.com/valyala/fasthttp"
)

// mapResolver resolves from a fixed map and counts admissions: a real
// in-memory resolver for the redirect path.
type mapResolver struct {
	links    map[string]*nearcache.Entry
	cache    *nearcache.Cache
	clk      *clock.Clock
	admitted int
	max      int
}

func (r *mapResolver) Resolve(_ context.Context, code string) (*nearcache.Entry, error) {
	e, ok := r.links[code]
	if !ok {
		return nil, storage.ErrNotFound
	}
	r.cache.Put(e, r.clk.Unix())
	return e, nil
}

func (r *mapResolver) Admit(context.Context, string) (bool, error) {
	if r.admitted >= r.max {
		return false, nil
	}
	r.admitted++
	return true, nil
}
func (r *mapResolver) LinkChanged(_ context.Context, code string)     { r.cache.Delete(code) }
func (r *mapResolver) Visits(context.Context, string) (uint64, error) { return 0, nil }

func newRedirectServer(t testing.TB, entries ...*nearcache.Entry) (*Server, *mapResolver, *visitlog.Log) {
	t.Helper()
	return newLimitedServer(t, func(*Config) {}, nil, entries...)
}

func get(s *Server, uri string, hdr ...string) *fasthttp.RequestCtx {
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI(uri)
	ctx.Request.Header.SetMethod("GET")
	for i := 0; i+1 < len(hdr); i += 2 {
		ctx.Request.Header.Set(hdr[i], hdr[i+1])
	}
	s.handle(&ctx)
	return &ctx
}

func TestServer_Redirect(t *testing.T) {
	now := time.Now().Unix()
	s, _, vl := newRedirectServer(t,
		&nearcache.Entry{Code: "abc", Location: []byte("https://example.com/x"), Status: 302},
		&nearcache.Entry{Code: "perm", Location: []byte("https://example.com/p"), Status: 301, CacheControl: nearcache.CacheControlValue(3600)},
		&nearcache.Entry{Code: "fwd", Location: []byte("https://example.com/f?a=1"), Status: 307, ForwardQuery: true},
		&nearcache.Entry{Code: "old", Location: []byte("https://example.com/o"), Status: 302, ExpiresAt: now - 10},
		&nearcache.Entry{Code: "lim", Location: []byte("https://example.com/l"), Status: 302, Limited: true},
	)
	cases := map[string]struct {
		uri, status, location, cc string
	}{
		"default 302":         {"/abc", "302", "https://example.com/x", "private, max-age=0"},
		"301 with max-age":    {"/perm", "301", "https://example.com/p", "public, max-age=3600"},
		"query forwarded":     {"/fwd?utm=x&b=2", "307", "https://example.com/f?a=1&utm=x&b=2", "private, max-age=0"},
		"query not forwarded": {"/abc?utm=x", "302", "https://example.com/x", "private, max-age=0"},
		"unknown":             {"/nope", "404", "", ""},
		"invalid code":        {"/no%20pe", "404", "", ""},
		"expired":             {"/old", "410", "", ""},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			ctx := get(s, c.uri)
			if got := ctx.Response.StatusCode(); strconv.Itoa(got) != c.status {
				t.Fatalf("status %d, want %s (body %s)", got, c.status, ctx.Response.Body())
			}
			if loc := string(ctx.Response.Header.Peek("Location")); loc != c.location {
				t.Fatalf("Location %q, want %q", loc, c.location)
			}
			if c.cc != "" {
				if cc := string(ctx.Response.Header.Peek("Cache-Control")); cc != c.cc {
					t.Fatalf("Cache-Control %q, want %q", cc, c.cc)
				}
			}
		})
	}
	t.Run("max visits", func(t *testing.T) {
		for i, want := range []int{302, 302, 410} {
			if got := get(s, "/lim").Response.StatusCode(); got != want {
				t.Fatalf("visit %d: %d, want %d", i+1, got, want)
			}
		}
	})
	t.Run("visits recorded with dimensions", func(t *testing.T) {
		vl.Drain(func([]byte, int64, uint32, []byte) {})
		vl.CommitDrained()
		get(s, "/abc", "Referer", "https://user@News.Example.com:8443/a/b?c", "User-Agent", "curl/8.0")
		n := vl.Drain(func(code []byte, minute int64, dims uint32, ref []byte) {
			if string(code) != "abc" || minute%60 != 0 || string(ref) != "News.Example.com" {
				t.Errorf("visit %q %d %q", code, minute, ref)
			}
		})
		if n != 1 {
			t.Fatalf("%d visits recorded, want 1", n)
		}
	})
}

func TestReferrerHost(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		if got := string(referrerHost([]byte(in))); got != want {
			t.Errorf("referrerHost(%q) = %q, want %q", in, got, want)
		}
	}
	f("", "")
	f("https://example.com", "example.com")
	f("https://example.com/path?q#f", "example.com")
	f("http://u:p@host.io:8080/x", "host.io")
	f("android-app://com.google.android.gm/", "com.google.android.gm")
	f("https://[::1]:80/", "[::1]") // the port goes, as for names
	f("https://[2001:db8::1]/", "[2001:db8::1]")
	f("example.org/x", "example.org")
}

// TestServer_CachedRedirectAllocatesNothing pins the hot path at zero
// allocations: a near-cache hit, visit counted, metrics updated.
func TestServer_CachedRedirectAllocatesNothing(t *testing.T) {
	s, _, vl := newRedirectServer(t,
		&nearcache.Entry{Code: "abc", Location: []byte("https://example.com/x"), Status: 302},
		&nearcache.Entry{Code: "fwd", Location: []byte("https://example.com/f"), Status: 302, ForwardQuery: true})
	for _, uri := range []string{"/abc", "/fwd?utm_source=x"} {
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI(uri)
		ctx.Request.Header.Set("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36")
		ctx.Request.Header.Set("Referer", "https://news.example.com/story")
		s.handle(&ctx) // warm: fills the near-cache through the resolver
		if allocs := handleAllocs(t, s, vl, &ctx, 302); allocs != 0 {
			t.Fatalf("%s: cached redirect allocates %v times per request", uri, allocs)
		}
	}
}

// handleAllocs is the allocations of one more s.handle(ctx) (the visit
// rings drained between runs), failing t unless it answers status.
func handleAllocs(t *testing.T, s *Server, vl *visitlog.Log, ctx *fasthttp.RequestCtx, status int) float64 {
	t.Helper()
	allocs := testing.AllocsPerRun(1000, func() {
		ctx.Response.Reset()
		s.handle(ctx)
		vl.Drain(func([]byte, int64, uint32, []byte) {})
		vl.CommitDrained()
	})
	if got := ctx.Response.StatusCode(); got != status {
		t.Fatalf("%s: status %d, want %d", ctx.Request.RequestURI(), got, status)
	}
	return allocs
}

// TestRedirectPath: the redirect's fast path in handle takes only paths no
// other route owns (each of these routes has its own tests through handle).
func TestRedirectPath(t *testing.T) {
	for path, want := range map[string]bool{
		"/abc1234": true, "/x": true, "/api": true, "/metricsx": true,
		"/": false, "": false, "/health": false, "/ready": false, "/metrics": false,
		"/api/v1": false, "/api/v1/links": false, "/rest": false, "/rest/v3/short-urls": false,
		"/v4": false, "/v4/shorten": false, "/ui": false, "/ui/": false, "/abc/qr-code": false,
	} {
		if got := redirectPath([]byte(path)); got != want {
			t.Errorf("redirectPath(%q) = %v, want %v", path, got, want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { redirectPath([]byte("/abc1234")) }); n != 0 {
		t.Fatalf("redirectPath allocates %v times", n)
	}
}
