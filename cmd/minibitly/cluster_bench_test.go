package main

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minibitly/minibitly/internal/harness"
)

// BenchmarkCluster_RedirectOwnedElsewhere measures redirects through node
// n1 of codes owned by n2 (two real processes, real PostgreSQL and
// ClickHouse): a near-cache hit against a near-cache miss that asks the
// owner over protoactor remote (n1's near-cache holds one link per cache
// shard, so walking 2000 codes misses almost always; the owner has them
// cached). Run: go test -run '^$' -bench Cluster -benchtime 5s ./cmd/minibitly/
func BenchmarkCluster_RedirectOwnedElsewhere(b *testing.B) {
	c := newTestCluster(b)
	n1 := c.startWith("n1", []string{"--near-cache-size", "256"})
	n2 := c.start("n2", n1.gossip)
	harness.Eventually(b, 30*time.Second, func() error {
		var v clusterJSON
		harness.Do(b, "GET", n1.base+"/api/v1/cluster", extKey, nil, &v)
		if v.Alive != 2 {
			return fmt.Errorf("n1 sees %d alive members, want 2", v.Alive)
		}
		return nil
	})
	var remote []string
	for i := 0; len(remote) < 2000; i++ {
		var l linkJSON
		if st := harness.Do(b, "POST", n2.base+"/api/v1/links", extKey, map[string]any{"url": fmt.Sprintf("https://example.com/%d", i)}, &l); st != 201 {
			b.Fatalf("create: %d", st)
		}
		var o struct {
			Self bool `json:"self"`
		}
		harness.Do(b, "GET", n2.base+"/api/v1/cluster/owner/"+l.Code, extKey, nil, &o)
		if o.Self {
			remote = append(remote, l.Code)
		}
		if i > 10000 {
			b.Fatal("could not find codes owned by n2")
		}
	}
	client := &http.Client{
		Transport:     &http.Transport{MaxIdleConnsPerHost: 64},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	run := func(b *testing.B, code func(i uint64) string) {
		var n atomic.Uint64
		b.ReportAllocs()
		b.SetParallelism(16)
		b.ResetTimer()
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				resp, err := client.Get(n1.base + "/" + code(n.Add(1)))
				if err != nil {
					b.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != 302 {
					b.Errorf("status %d", resp.StatusCode)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "redirects/s")
	}
	b.Run("path=near-cache-hit", func(b *testing.B) { run(b, func(uint64) string { return remote[0] }) })
	b.Run("path=miss-remote-owner", func(b *testing.B) {
		run(b, func(i uint64) string { return remote[i%uint64(len(remote))] })
	})
}
