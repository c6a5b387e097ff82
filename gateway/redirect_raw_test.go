package gateway

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minibitly/minibitly/internal/clock"
	"github.com/minibitly/minibitly/internal/eventlog"
	"github.com/minibitly/minibitly/internal/nearcache"
	"github.com/minibitly/minibitly/internal/visitlog"
	"github.com/valyala/fasthttp"
)

// newRawServer is newRedirectServer with --raw-visits on (rl nil: off),
// recording into vl.
func newRawServer(t testing.TB, vl *visitlog.Log, rl *eventlog.Log, entries ...*nearcache.Entry) *Server {
	t.Helper()
	clk := clock.New()
	t.Cleanup(clk.Close)
	cache, _ := nearcache.New(nearcache.DefaultConfig())
	r := &mapResolver{links: map[string]*nearcache.Entry{}, cache: cache, clk: clk, max: 2}
	for _, e := range entries {
		r.links[e.Code] = e
	}
	s, err := New(DefaultConfig(), Deps{Resolver: r, Cache: cache.Reader(), Visits: vl, RawVisits: rl, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type rawEvent struct {
	code, ref, ua string
	sec           int64
}

func drainEvents(rl *eventlog.Log) []rawEvent {
	var out []rawEvent
	rl.Drain(func(code []byte, sec int64, _ uint32, ref, ua []byte) {
		out = append(out, rawEvent{string(code), string(ref), string(ua), sec})
	})
	return out
}

// TestServer_RawVisits: a redirect records its event with the referrer
// URL cut before its query and fragment, the user agent cut at 256 bytes
// and the second; an orphan visit records none.
func TestServer_RawVisits(t *testing.T) {
	rl := eventlog.New(1, 16)
	s := newRawServer(t, visitlog.New(1, 64), rl, &nearcache.Entry{Code: "abc", Location: []byte("https://example.com/x"), Status: 302})
	ua := "Mozilla/5.0 " + strings.Repeat("x", 300)
	before := time.Now().Unix()
	get(s, "/abc?utm=1", "Referer", "https://news.example.com/story?id=42&token=secret#c", "User-Agent", ua)
	get(s, "/abc", "Referer", "https://a.example/p#frag")
	get(s, "/nope")  // an orphan visit (invalid short URL)
	get(s, "/a/b/c") // regular 404
	ev := drainEvents(rl)
	if len(ev) != 2 {
		t.Fatalf("events %+v, want 2", ev)
	}
	if e := ev[0]; e.code != "abc" || e.ref != "https://news.example.com/story" || e.ua != ua[:256] || e.sec < before || e.sec > time.Now().Unix() {
		t.Fatalf("event %+v", e)
	}
	if e := ev[1]; e.ref != "https://a.example/p" || e.ua != "" {
		t.Fatalf("event %+v", e)
	}
}

// TestServer_RawVisitsOff: without a ring (the default) a redirect records
// no event and still counts its visit.
func TestServer_RawVisitsOff(t *testing.T) {
	vl := visitlog.New(1, 64)
	s := newRawServer(t, vl, nil, &nearcache.Entry{Code: "abc", Location: []byte("https://example.com/x"), Status: 302})
	if s.d.RawVisits != nil {
		t.Fatal("a ring while off")
	}
	if ctx := get(s, "/abc", "Referer", "https://r.example/?q"); ctx.Response.StatusCode() != 302 {
		t.Fatalf("status %d", ctx.Response.StatusCode())
	}
	if n := vl.Drain(func([]byte, int64, uint32, []byte) {}); n != 1 {
		t.Fatalf("%d visits counted, want 1", n)
	}
}

// TestServer_CachedRedirectRawAllocatesNothing: with --raw-visits on the
// cached redirect still allocates nothing.
func TestServer_CachedRedirectRawAllocatesNothing(t *testing.T) {
	vl, rl := visitlog.New(1, 1024), eventlog.New(1, 1024)
	s := newRawServer(t, vl, rl, &nearcache.Entry{Code: "abc", Location: []byte("https://example.com/x"), Status: 302})
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI("/abc")
	ctx.Request.Header.Set("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36")
	ctx.Request.Header.Set("Referer", "https://news.example.com/story?utm_source=x")
	s.handle(&ctx)
	var events atomic.Int64
	allocs := testing.AllocsPerRun(1000, func() {
		ctx.Response.Reset()
		s.handle(&ctx)
		vl.Drain(func([]byte, int64, uint32, []byte) {})
		vl.CommitDrained()
		events.Add(int64(rl.Drain(func([]byte, int64, uint32, []byte, []byte) {})))
	})
	if ctx.Response.StatusCode() != 302 || events.Load() < 1000 {
		t.Fatalf("status %d, %d events", ctx.Response.StatusCode(), events.Load())
	}
	if allocs != 0 {
		t.Fatalf("cached redirect with raw visits allocates %v times", allocs)
	}
}

// BenchmarkServer_RedirectRaw compares the cached redirect handler with
// --raw-visits off and on (the visit rings as the binary sizes them, the
// event ring as rawvisits.DefaultConfig does, 8 × 1024, and as it did
// first, 8 × 8192; drained every millisecond).
func BenchmarkServer_RedirectRaw(b *testing.B) {
	entry := &nearcache.Entry{Code: "abc", Location: []byte("https://example.com/x"), Status: 302}
	vOff, vOn, vBig := visitlog.New(8, 1<<13), visitlog.New(8, 1<<13), visitlog.New(8, 1<<13)
	rl, rlBig := eventlog.New(8, 1<<10), eventlog.New(8, 1<<13)
	off := newRawServer(b, vOff, nil, entry)
	on := newRawServer(b, vOn, rl, entry)
	big := newRawServer(b, vBig, rlBig, entry)
	stop, drained := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(drained)
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
				for _, l := range []*visitlog.Log{vOff, vOn, vBig} {
					l.Drain(func([]byte, int64, uint32, []byte) {})
					l.CommitDrained()
				}
				for _, l := range []*eventlog.Log{rl, rlBig} {
					l.Drain(func([]byte, int64, uint32, []byte, []byte) {})
				}
			}
		}
	}()
	b.Cleanup(func() { close(stop); <-drained })
	run := func(b *testing.B, s *Server) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			var ctx fasthttp.RequestCtx
			ctx.Request.SetRequestURI("/abc")
			ctx.Request.Header.Set("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36")
			ctx.Request.Header.Set("Referer", "https://news.example.com/story/123?utm_source=mail")
			for pb.Next() {
				ctx.Response.Reset()
				s.handle(&ctx)
			}
		})
	}
	b.Run("raw=off", func(b *testing.B) { run(b, off) })
	b.Run("raw=on", func(b *testing.B) { run(b, on) })
	b.Run("raw=on-8x8192", func(b *testing.B) { run(b, big) })
}
