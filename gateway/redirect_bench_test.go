package gateway

import (
	"net"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minibitly/minibitly/internal/nearcache"
	"github.com/minibitly/minibitly/internal/visitlog"
	"github.com/valyala/fasthttp"
)

// BenchmarkServer_Redirect measures the handler of a cached redirect against
// a bare handler answering the same 302 from a Go map (the baseline), and
// with --redirect-rate-limit set.
func BenchmarkServer_Redirect(b *testing.B) {
	s, _, vl := newRedirectServer(b,
		&nearcache.Entry{Code: "abc", Location: []byte("https://example.com/x"), Status: 302},
		&nearcache.Entry{Code: "fwd", Location: []byte("https://example.com/f?a=1#top"), Status: 302, ForwardQuery: true})
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond): // the batcher drains every 5 ms
				vl.Drain(func([]byte, int64, uint32, []byte) {})
				vl.CommitDrained()
			}
		}
	}()
	bare := map[string][]byte{"abc": []byte("https://example.com/x")}
	bareHandler := func(ctx *fasthttp.RequestCtx) {
		loc, ok := bare[string(ctx.Path()[1:])]
		if !ok {
			ctx.SetStatusCode(404)
			return
		}
		ctx.Response.SetStatusCode(302)
		ctx.Response.Header.SetCanonical(hdrLocation, loc)
		ctx.Response.Header.SetCanonical(hdrCacheControl, []byte("private, max-age=0"))
	}
	limited, _, lvl := newLimitedServer(b, func(c *Config) {
		c.RedirectRateLimit = Rate{N: 1_000_000_000, Per: time.Second} // never refuses
	}, nil, &nearcache.Entry{Code: "abc", Location: []byte("https://example.com/x"), Status: 302})
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
				lvl.Drain(func([]byte, int64, uint32, []byte) {})
				lvl.CommitDrained()
			}
		}
	}()
	// The visit rings as the binary sizes them (8 × 8192), in a journal
	// file (--visit-journal, the default) and in memory
	// (--visit-journal=false): the journal's cost is journal/memory.
	jl, _, err := visitlog.Open(filepath.Join(b.TempDir(), "visits.ring"), 8, 1<<13)
	if err != nil {
		b.Fatal(err)
	}
	ml := visitlog.New(8, 1<<13)
	drained := make(chan struct{})
	b.Cleanup(func() { <-drained; jl.Close() }) // after stop is closed and the drain has returned
	entry := &nearcache.Entry{Code: "abc", Location: []byte("https://example.com/x"), Status: 302}
	journaled, _, _ := newServerWithLog(b, func(*Config) {}, nil, jl, entry)
	inMemory, _, _ := newServerWithLog(b, func(*Config) {}, nil, ml, entry)
	go func() {
		defer close(drained)
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
				for _, l := range []*visitlog.Log{jl, ml} {
					l.Drain(func([]byte, int64, uint32, []byte) {})
					l.CommitDrained()
				}
			}
		}
	}()
	var clients atomic.Uint32
	run := func(b *testing.B, h fasthttp.RequestHandler, uri string, oneIP bool) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			var ctx fasthttp.RequestCtx
			ip := net.IPv4(192, 0, 2, 1)
			if !oneIP { // one client address per goroutine
				n := clients.Add(1)
				ip = net.IPv4(10, byte(n>>16), byte(n>>8), byte(n))
			}
			ctx.SetRemoteAddr(&net.TCPAddr{IP: ip, Port: 1234})
			ctx.Request.SetRequestURI(uri)
			ctx.Request.Header.Set("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36")
			for pb.Next() {
				ctx.Response.Reset()
				h(&ctx)
			}
		})
	}
	b.Run("handler=bare", func(b *testing.B) { run(b, bareHandler, "/abc", false) })
	b.Run("handler=node", func(b *testing.B) { run(b, s.handle, "/abc", false) })
	b.Run("handler=node-journal", func(b *testing.B) { run(b, journaled.handle, "/abc", false) })
	b.Run("handler=node-memring", func(b *testing.B) { run(b, inMemory.handle, "/abc", false) })
	// forward_query on a long URL with a query and a fragment.
	b.Run("handler=node/forward_query", func(b *testing.B) { run(b, s.handle, "/fwd?utm_source=news&utm_medium=email", false) })
	// --redirect-rate-limit set (high enough never to refuse): one client
	// address per goroutine, and all goroutines as one address (wrk's case).
	b.Run("handler=node-ratelimited", func(b *testing.B) { run(b, limited.handle, "/abc", false) })
	b.Run("handler=node-ratelimited-1ip", func(b *testing.B) { run(b, limited.handle, "/abc", true) })
}
