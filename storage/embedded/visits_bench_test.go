package embedded

import (
	"fmt"
	"math/rand/v2"
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

// BenchmarkStore_WriteVisitsFirstVisits: a flush after a walk over new
// links: 20,000 rows of distinct codes, in the flusher's (map) order, each
// flush a new minute. go test -run '^$' -bench WriteVisitsFirstVisits ./storage/embedded/
func BenchmarkStore_WriteVisitsFirstVisits(b *testing.B) {
	const n = 20_000
	s, err := Open(config(filepath.Join(b.TempDir(), "bench.db")))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	rows := make([]storage.VisitCount, n)
	for i, c := range rand.New(rand.NewPCG(1, 2)).Perm(n) {
		rows[i] = storage.VisitCount{VisitKey: storage.VisitKey{Code: fmt.Sprintf("c%07d", c), Device: "desktop", Browser: "Other", OS: "Other"}, Visits: 1}
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		for j := range rows {
			rows[j].Minute = 1710072000 + int64(i)*60
		}
		if err := s.WriteVisits(b.Context(), storage.VisitBatch{NodeID: "bench", Seq: uint64(i + 1), Rows: rows}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
