package embedded

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/minibitly/minibitly/storage"
)

func BenchmarkStore_WriteVisits(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			s, err := Open(config(filepath.Join(b.TempDir(), "bench.db")))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			rows := make([]storage.VisitCount, n)
			for i := range rows {
				rows[i] = storage.VisitCount{VisitKey: storage.VisitKey{
					Code: fmt.Sprintf("c%04d", i%500), Minute: 1710072000 + int64(i%7)*60,
					Referrer: "example.com", Device: "mobile", Browser: "Chrome", OS: "Android", Country: "DE",
				}, Visits: 3}
			}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if err := s.WriteVisits(b.Context(), storage.VisitBatch{NodeID: "bench", Seq: uint64(i + 1), Rows: rows}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
