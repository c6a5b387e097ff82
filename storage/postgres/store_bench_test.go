package postgres

import (
	"fmt"
	"sync/atomic"
	"testing"
)

// BenchmarkStore_CreateLink measures group-committed creates against a real
// PostgreSQL (fsync on). Run with -cpu or -benchtime to vary; the metric
// links/s is the create throughput, links/batch the group-commit factor.
func BenchmarkStore_CreateLink(b *testing.B) {
	for _, bc := range []struct {
		name string
		cfg  func(*Config)
		par  int
	}{
		{"batch=1/parallelism=32", func(c *Config) { c.MaxBatch, c.Flushers = 1, 16 }, 32}, // baseline: no group commit, 16 conns
		{"parallelism=1", nil, 1},
		{"parallelism=8", nil, 8},
		{"parallelism=32", nil, 32},
	} {
		b.Run(bc.name, func(b *testing.B) {
			cfg := config(server(b).NewDatabase(b))
			if bc.cfg != nil {
				bc.cfg(&cfg)
			}
			s := openURL(b, cfg)
			var seq atomic.Int64
			before := s.BatchStats()
			b.ReportAllocs()
			b.SetParallelism(bc.par) // goroutines = par × GOMAXPROCS
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := s.CreateLink(b.Context(), link(fmt.Sprintf("b%d", seq.Add(1)))); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			st := s.BatchStats()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "links/s")
			if n := st.Batches - before.Batches; n > 0 {
				b.ReportMetric(float64(st.Links-before.Links)/float64(n), "links/batch")
			}
		})
	}
}
