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

// BenchmarkRunningTotals_Forget reports what a walk's daily totals cost
// once they go idle: N links visited once each, their totals forgotten at
// the next prune past the idle time; heap kept per forgotten total and the
// prune's time. Run:
// go test -run '^$' -bench RunningTotals_Forget -benchtime 1x ./actors/
func BenchmarkRunningTotals_Forget(b *testing.B) {
	const n = 1_000_000
	const m = 1_700_006_400
	for range b.N {
		tt := newRunningTotals(byDay, func(k storage.RollupKey) int64 { return k.Bucket }, func(k storage.RollupKey) string { return k.Code })
		tt.see(m, m)
		for i := range n {
			tt.track(storage.RollupKey{Code: fmt.Sprintf("c%07d", i), Bucket: m - m%86400, Dim: storage.RollupTotal}, 1)
		}
		tt.done()
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		tt.see(m+byDay.idle+60, m+byDay.idle+60)
		t0 := time.Now()
		tt.done()
		prune := time.Since(t0)
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(int64(after.HeapInuse)-int64(before.HeapInuse))/n, "heap-B/forgotten")
		b.ReportMetric(float64(prune.Nanoseconds())/n, "prune-ns/total")
		runtime.KeepAlive(tt)
	}
}

// BenchmarkCumulative_FirstVisits: the flusher's running totals for a flush
// after a walk over new links (20,000 minute rows of distinct codes, each
// with a referrer and the user agent's classes: about 12 hourly and daily
// totals each). go test -run '^$' -bench Cumulative_FirstVisits ./actors/
func BenchmarkCumulative_FirstVisits(b *testing.B) {
	const n = 20_000
	c := newCumulative()
	rows := make([]storage.VisitCount, n)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		minute := int64(1_700_000_040 + i*60)
		for j := range rows {
			rows[j] = storage.VisitCount{VisitKey: storage.VisitKey{Code: fmt.Sprintf("c%07d", j), Minute: minute, Referrer: "t.co",
				Device: "desktop", Browser: "Chrome", OS: "Linux", Country: "DE"}, Visits: 1}
		}
		c.apply(rows, minute)
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkCumulative_WalkMemory: what the running totals hold after a
// walk over 1M new links (each visited once with a referrer and the user
// agent's classes, flushed 16,000 rows at a time, as the walk's first
// visits arrive at ~16k/s), and the flush rate. Heap per link visited.
// go test -run '^$' -bench Cumulative_WalkMemory -benchtime 1x ./actors/
func BenchmarkCumulative_WalkMemory(b *testing.B) {
	const n, per = 1_000_000, 16_000
	const minute = int64(1_700_000_040)
	for range b.N {
		codes := make([]string, n)
		for i := range codes {
			codes[i] = fmt.Sprintf("c%07d", i)
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		c := newCumulative()
		rows := make([]storage.VisitCount, per)
		t0 := time.Now()
		for i := 0; i < n; i += per {
			rows = rows[:min(per, n-i)]
			for j := range rows {
				rows[j] = storage.VisitCount{VisitKey: storage.VisitKey{Code: codes[i+j], Minute: minute + int64(i/per/60)*60, Referrer: "t.co",
					Device: "desktop", Browser: "Chrome", OS: "Linux", Country: "DE"}, Visits: 1}
			}
			c.apply(rows, minute+int64(i/per/60)*60)
		}
		elapsed := time.Since(t0)
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(int64(after.HeapInuse)-int64(before.HeapInuse))/n, "heap-B/link")
		b.ReportMetric(float64(len(c.minute.totals)+len(c.hour.totals)+len(c.day.totals)), "totals-kept")
		b.ReportMetric(n/elapsed.Seconds(), "rows/s")
		runtime.KeepAlive(c)
		runtime.KeepAlive(codes)
	}
}
