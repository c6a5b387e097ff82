package gateway

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/minibitly/minibitly/internal/clock"
	"github.com/minibitly/minibitly/internal/nearcache"
	"github.com/minibitly/minibitly/internal/visitlog"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/valyala/fasthttp"
)

// newLimitedServer is newRedirectServer with cfg changed by edit and the
// limiters' clock at *now (unix nanos).
func newLimitedServer(t testing.TB, edit func(*Config), now *int64, entries ...*nearcache.Entry) (*Server, *mapResolver, *visitlog.Log) {
	t.Helper()
	return newServerWithLog(t, edit, now, visitlog.New(1, 1<<20), entries...)
}

// newServerWithLog is newLimitedServer recording into vl.
func newServerWithLog(t testing.TB, edit func(*Config), now *int64, vl *visitlog.Log, entries ...*nearcache.Entry) (*Server, *mapResolver, *visitlog.Log) {
	t.Helper()
	clk := clock.New()
	t.Cleanup(clk.Close)
	cache, _ := nearcache.New(nearcache.DefaultConfig())
	r := &mapResolver{links: map[string]*nearcache.Entry{}, cache: cache, clk: clk, max: 2}
	for _, e := range entries {
		r.links[e.Code] = e
	}
	cfg := DefaultConfig()
	edit(&cfg)
	s, err := New(cfg, Deps{Resolver: r, Cache: cache.Reader(), Visits: vl, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	if now != nil {
		s.limits.now = func() int64 { return *now }
	}
	return s, r, vl
}

// getFrom is get with the request coming from peer (ip:port).
func getFrom(s *Server, peer, uri string, hdr ...string) *fasthttp.RequestCtx {
	var ctx fasthttp.RequestCtx
	ctx.SetRemoteAddr(mustTCPAddr(peer))
	ctx.Request.SetRequestURI(uri)
	ctx.Request.Header.SetMethod("GET")
	for i := 0; i+1 < len(hdr); i += 2 {
		ctx.Request.Header.Add(hdr[i], hdr[i+1])
	}
	s.handle(&ctx)
	return &ctx
}

func mustTCPAddr(s string) *net.TCPAddr {
	a, err := net.ResolveTCPAddr("tcp", s)
	if err != nil {
		panic(err)
	}
	return a
}

// TestServer_RedirectRateLimit: --redirect-rate-limit 5/s allows a burst of
// 5 per client address, then answers 429 with Retry-After and RateLimit-*
// headers in the JSON error format, and lifts once the window passes.
func TestServer_RedirectRateLimit(t *testing.T) {
	now := time.Unix(1_000_000, 0).UnixNano()
	s, _, _ := newLimitedServer(t, func(c *Config) { c.RedirectRateLimit = Rate{N: 5, Per: time.Second} }, &now,
		&nearcache.Entry{Code: "abc", Location: []byte("https://example.com/x"), Status: 302})
	for i := 0; i < 5; i++ {
		if c := getFrom(s, "192.0.2.1:1000", "/abc"); c.Response.StatusCode() != 302 {
			t.Fatalf("request %d: %d", i, c.Response.StatusCode())
		}
	}
	c := getFrom(s, "192.0.2.1:1001", "/abc")
	if c.Response.StatusCode() != 429 {
		t.Fatalf("sixth request: %d, want 429", c.Response.StatusCode())
	}
	h := &c.Response.Header
	for name, want := range map[string]string{
		"Retry-After": "1", "RateLimit-Limit": "5", "RateLimit-Remaining": "0", "RateLimit-Reset": "1",
		"RateLimit-Policy": "5;w=1", "Content-Type": "application/json",
	} {
		if got := string(h.Peek(name)); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if body := strings.TrimSpace(string(c.Response.Body())); body != `{"error":{"code":"rate_limited","message":"too many redirect requests from your address; retry after the Retry-After seconds"}}` {
		t.Errorf("body %s", body)
	}
	if c := getFrom(s, "192.0.2.2:1000", "/abc"); c.Response.StatusCode() != 302 {
		t.Fatalf("another address limited too: %d", c.Response.StatusCode())
	}
	if got := testutil.ToFloat64(s.limits.limitedRedirect); got != 1 {
		t.Errorf("limited redirects counted %v, want 1", got)
	}
	now += int64(200 * time.Millisecond) // one interval: one more request
	if c := getFrom(s, "192.0.2.1:1000", "/abc"); c.Response.StatusCode() != 302 {
		t.Fatalf("after 1/rate: %d", c.Response.StatusCode())
	}
	if c := getFrom(s, "192.0.2.1:1000", "/abc"); c.Response.StatusCode() != 429 {
		t.Fatalf("two after 1/rate: %d", c.Response.StatusCode())
	}
	now += int64(time.Second) // the window passed: the whole burst again
	for i := 0; i < 5; i++ {
		if c := getFrom(s, "192.0.2.1:1000", "/abc"); c.Response.StatusCode() != 302 {
			t.Fatalf("after the window, request %d: %d", i, c.Response.StatusCode())
		}
	}
}

// TestServer_RedirectRateLimitOffByDefault: no redirect limit unless set.
func TestServer_RedirectRateLimitOffByDefault(t *testing.T) {
	now := time.Unix(1_000_000, 0).UnixNano()
	s, _, _ := newLimitedServer(t, func(*Config) {}, &now,
		&nearcache.Entry{Code: "abc", Location: []byte("https://example.com/x"), Status: 302})
	for i := 0; i < 1000; i++ {
		if c := getFrom(s, "192.0.2.1:1000", "/abc"); c.Response.StatusCode() != 302 {
			t.Fatalf("request %d: %d", i, c.Response.StatusCode())
		}
	}
}

// TestServer_MissRateLimit: on by default, unknown codes (asked of the
// store, remembered as 404, or malformed) count per address; cached links
// do not.
func TestServer_MissRateLimit(t *testing.T) {
	now := time.Unix(1_000_000, 0).UnixNano()
	s, _, _ := newLimitedServer(t, func(*Config) {}, &now,
		&nearcache.Entry{Code: "abc", Location: []byte("https://example.com/x"), Status: 302})
	if DefaultConfig().MissRateLimit != (Rate{N: 100, Per: time.Second}) {
		t.Fatalf("default miss limit %v", DefaultConfig().MissRateLimit)
	}
	getFrom(s, "192.0.2.9:1", "/abc") // warm the near-cache (a miss, from another address)
	for i := 0; i < 100; i++ {
		uri := "/nope" // near-cache miss, then a remembered 404
		if i%3 == 1 {
			uri = "/bad!code" // malformed
		}
		if c := getFrom(s, "192.0.2.1:1000", uri); c.Response.StatusCode() != 404 {
			t.Fatalf("miss %d: %d", i, c.Response.StatusCode())
		}
	}
	c := getFrom(s, "192.0.2.1:1000", "/other")
	if c.Response.StatusCode() != 429 || string(c.Response.Header.Peek("RateLimit-Limit")) != "100" {
		t.Fatalf("101st miss: %d %q", c.Response.StatusCode(), c.Response.Header.Peek("RateLimit-Limit"))
	}
	if c := getFrom(s, "192.0.2.1:1000", "/abc"); c.Response.StatusCode() != 302 {
		t.Fatalf("a known link is limited by misses: %d", c.Response.StatusCode())
	}
	if got := testutil.ToFloat64(s.limits.limitedMiss); got != 1 {
		t.Errorf("limited misses counted %v, want 1", got)
	}
	now += int64(time.Second)
	if c := getFrom(s, "192.0.2.1:1000", "/nope"); c.Response.StatusCode() != 404 {
		t.Fatalf("after the window: %d", c.Response.StatusCode())
	}
}

// TestServer_RateLimitTrustedProxies: X-Forwarded-For names the client only
// when the peer is a trusted proxy; a spoofed header from anyone else is
// ignored.
func TestServer_RateLimitTrustedProxies(t *testing.T) {
	now := time.Unix(1_000_000, 0).UnixNano()
	s, _, _ := newLimitedServer(t, func(c *Config) {
		c.RedirectRateLimit = Rate{N: 1, Per: time.Second}
		c.TrustedProxies = "10.0.0.0/8"
	}, &now, &nearcache.Entry{Code: "abc", Location: []byte("https://example.com/x"), Status: 302})
	status := func(peer string, hdr ...string) int {
		return getFrom(s, peer, "/abc", hdr...).Response.StatusCode()
	}
	// Untrusted peer: each spoofed header still counts against the peer.
	if st := status("192.0.2.9:1", "X-Forwarded-For", "198.51.100.1"); st != 302 {
		t.Fatalf("first: %d", st)
	}
	if st := status("192.0.2.9:1", "X-Forwarded-For", "198.51.100.2"); st != 429 {
		t.Fatalf("spoofed X-Forwarded-For from an untrusted peer honoured: %d", st)
	}
	// Trusted proxy: the rightmost untrusted entry is the client.
	if st := status("10.1.1.1:1", "X-Forwarded-For", "203.0.113.1, 198.51.100.7, 10.2.2.2"); st != 302 {
		t.Fatalf("via proxy: %d", st)
	}
	if st := status("10.1.1.1:2", "X-Forwarded-For", "203.0.113.2, 198.51.100.7"); st != 429 {
		t.Fatalf("same client via proxy, left entry spoofed: %d", st)
	}
	if st := status("10.1.1.1:3", "X-Forwarded-For", "198.51.100.8"); st != 302 {
		t.Fatalf("other client via the same proxy limited: %d", st)
	}
	// A client's own Forwarded (passed through by a proxy that appends to
	// X-Forwarded-For) does not choose its address: still 198.51.100.8.
	if st := status("10.1.1.1:3", "Forwarded", `for=198.51.100.9;proto=https, for="10.3.3.3:80"`, "X-Forwarded-For", "198.51.100.8"); st != 429 {
		t.Fatalf("a client's Forwarded header was honoured over X-Forwarded-For: %d", st)
	}
}

// TestServer_RateLimitSplitOverCluster: each node allows limit ÷ alive, and
// follows the membership.
func TestServer_RateLimitSplitOverCluster(t *testing.T) {
	now := time.Unix(1_000_000, 0).UnixNano()
	cl := &fakeCluster{alive: 3}
	clk := clock.New()
	t.Cleanup(clk.Close)
	cache, _ := nearcache.New(nearcache.DefaultConfig())
	r := &mapResolver{links: map[string]*nearcache.Entry{"abc": {Code: "abc", Location: []byte("https://example.com/x"), Status: 302}}, cache: cache, clk: clk}
	cfg := DefaultConfig()
	cfg.RedirectRateLimit = Rate{N: 30, Per: time.Second}
	s, err := New(cfg, Deps{Resolver: r, Cache: cache.Reader(), Visits: visitlog.New(1, 1<<20), Clock: clk, Cluster: cl})
	if err != nil {
		t.Fatal(err)
	}
	s.limits.now = func() int64 { return now }
	admitted := func() int {
		n := 0
		for i := 0; i < 100; i++ {
			if getFrom(s, "192.0.2.1:1", "/abc").Response.StatusCode() == 302 {
				n++
			}
		}
		return n
	}
	// alive=3: 10/s per node, burst 10; over 2 s: 10 + 20.
	n := admitted()
	for i := 0; i < 20; i++ {
		now += int64(100 * time.Millisecond)
		n += admitted()
	}
	if n != 30 {
		t.Fatalf("alive=3: %d admitted over 2s, want 10 + 2×10", n)
	}
	cl.alive = 1
	s.refreshAlive()
	now += int64(10 * time.Second)
	if n := admitted(); n != 30 {
		t.Fatalf("alive=1: burst %d, want 30", n)
	}
}

// fakeCluster is a single node that reports alive members.
type fakeCluster struct {
	singleNode
	alive int
}

func (c *fakeCluster) Alive() int { return c.alive }

// TestServer_APIRateLimitHeaders: the API's per-key 429 carries the same
// headers as the redirect limits.
func TestServer_APIRateLimitHeaders(t *testing.T) {
	e := newAPIEnv(t, func(c *Config, _ *Deps) { c.APIRate, c.APIBurst = 0.5, 2 })
	var r *apiResponse
	for i := 0; i < 3; i++ { // the burst (some of it may have gone to the harness's setup)
		if r = e.do("GET", "/api/v1/links", nil); r.status == 429 {
			break
		}
	}
	r.wantError(t, 429, "rate_limited", "this API key exceeded its request rate; slow down and retry after the Retry-After seconds")
	for name, want := range map[string]string{
		"RateLimit-Limit": "1", "RateLimit-Remaining": "0", "RateLimit-Policy": "1;w=1",
	} {
		if got := r.header.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	// 1/rate (2 s, or more if the harness's cluster has several members).
	if ra := r.header.Get("Retry-After"); ra == "" || ra == "0" || ra == "1" || ra != r.header.Get("RateLimit-Reset") {
		t.Errorf("Retry-After %q, RateLimit-Reset %q: want the same whole seconds ≥ 2", ra, r.header.Get("RateLimit-Reset"))
	}
}

// TestServer_CachedRedirectAllocatesNothingLimited: the redirect limit (and
// a trusted proxy's X-Forwarded-For) keep the cached redirect at 0
// allocations.
func TestServer_CachedRedirectAllocatesNothingLimited(t *testing.T) {
	s, _, vl := newLimitedServer(t, func(c *Config) {
		c.RedirectRateLimit = Rate{N: 1_000_000_000, Per: time.Second}
		c.TrustedProxies = "10.0.0.0/8"
	}, nil, &nearcache.Entry{Code: "abc", Location: []byte("https://example.com/x"), Status: 302})
	for _, peer := range []string{"192.0.2.1:1", "10.0.0.1:1"} {
		var ctx fasthttp.RequestCtx
		ctx.SetRemoteAddr(mustTCPAddr(peer))
		ctx.Request.SetRequestURI("/abc")
		ctx.Request.Header.Set("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36")
		ctx.Request.Header.Set("X-Forwarded-For", "198.51.100.1, 2001:db8::1, 10.9.9.9")
		s.handle(&ctx)
		if allocs := handleAllocs(t, s, vl, &ctx, 302); allocs != 0 {
			t.Fatalf("%s: limited cached redirect allocates %v times per request", peer, allocs)
		}
	}
}

// TestConfig_ValidateRateLimits: a rate is N/s, N/m or off; proxies are
// CIDRs.
func TestConfig_ValidateRateLimits(t *testing.T) {
	for name, edit := range map[string]func(*Config){
		"redirect per hour": func(c *Config) { c.RedirectRateLimit = Rate{N: 5, Per: time.Hour} },
		"miss negative":     func(c *Config) { c.MissRateLimit = Rate{N: -1, Per: time.Second} },
		"proxies":           func(c *Config) { c.TrustedProxies = "10.0.0.0/8,nope" },
	} {
		c := DefaultConfig()
		edit(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	c := DefaultConfig()
	c.RedirectRateLimit, c.MissRateLimit, c.TrustedProxies = Rate{N: 20, Per: time.Minute}, Rate{}, "10.0.0.0/8"
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}
