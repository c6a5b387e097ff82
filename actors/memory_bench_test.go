package actors

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/minibitly/minibitly/storage"
)

// BenchmarkSystem_CachedLinkMemory reports the Go heap one resolved link costs
// (near-cache entry + shard state), the figure behind "RSS with 1M links
// cached" minus the embedded store's mmap. Run:
// go test -run '^$' -bench CachedLinkMemory -benchtime 1x ./actors/
func BenchmarkSystem_CachedLinkMemory(b *testing.B) {
	const n = 200_000
	f := newFixture(b, nil)
	ctx := context.Background()
	now := time.Now().UTC()
	for i := 0; i < n; i += 1000 {
		batch := make([]storage.Link, 0, 1000)
		for j := i; j < i+1000; j++ {
			batch = append(batch, storage.Link{Code: fmt.Sprintf("c%07d", j), URL: fmt.Sprintf("https://example.com/landing/%d", j),
				RedirectStatus: 302, CacheMaxAge: -1, CreatedAt: now, UpdatedAt: now, Version: 1})
		}
		if _, err := f.store.CreateLinks(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := 0; i < n; i++ {
		if _, err := f.sys.Resolve(ctx, fmt.Sprintf("c%07d", i)); err != nil {
			b.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapInuse-before.HeapInuse)/n, "heap-B/link")
	b.ReportMetric(float64(f.cache.Len()), "cached-links")
}
