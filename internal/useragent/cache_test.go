package useragent

import "testing"

func TestCache_AgreesWithClassify(t *testing.T) {
	var c Cache
	for round := 0; round < 2; round++ { // miss, then hit
		for name, ua := range benchUAs {
			if got, want := c.Classify(ua), Classify(ua); got != want {
				t.Fatalf("%s round %d: cache %+v, classify %+v", name, round, got, want)
			}
		}
	}
	ua := benchUAs["chrome-windows"]
	if n := testing.AllocsPerRun(1000, func() { c.Classify(ua) }); n != 0 {
		t.Fatalf("Cache.Classify allocates %v times", n)
	}
}

func BenchmarkCache_Classify(b *testing.B) {
	var c Cache
	ua := benchUAs["safari-iphone"]
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			benchSink = c.Classify(ua)
		}
	})
}
