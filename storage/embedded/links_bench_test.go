package embedded

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/minibitly/minibitly/internal/shortcode"
	"github.com/minibitly/minibitly/storage"
)

// BenchmarkStore_CreateLinks: bulk creates of n links with generated
// (random) codes, as the bulk API sends them, into a store that grows.
func BenchmarkStore_CreateLinks(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			s, err := Open(config(filepath.Join(b.TempDir(), "bench.db")))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			now := time.Now()
			ls := make([]storage.Link, n)
			b.ReportAllocs()
			for b.Loop() {
				for i := range ls {
					code, err := shortcode.Generate()
					if err != nil {
						b.Fatal(err)
					}
					ls[i] = storage.Link{Code: code, URL: "https://example.com/" + code, CreatedAt: now, RedirectStatus: 302, CacheMaxAge: -1}
				}
				if _, err := s.CreateLinks(b.Context(), ls); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "links/s")
		})
	}
}
