package visitlog

import (
	"sync"
	"testing"
)

func TestLog_RecordDrain(t *testing.T) {
	l := New(2, 4)
	for i := 0; i < 8; i++ {
		if !l.Record(uint64(i), "abc", 60, uint32(i), []byte("example.com")) {
			t.Fatalf("record %d dropped", i)
		}
	}
	if l.Record(0, "abc", 60, 0, nil) {
		t.Fatal("ninth record fit in 2x4 slots")
	}
	if l.Dropped() != 1 {
		t.Fatalf("dropped = %d, want 1", l.Dropped())
	}
	seen := map[uint32]bool{}
	n := l.Drain(func(code string, minute int64, dims uint32, ref []byte) {
		if code != "abc" || minute != 60 || string(ref) != "example.com" {
			t.Errorf("got %q %d %q", code, minute, ref)
		}
		seen[dims] = true
	})
	if n != 8 || len(seen) != 8 {
		t.Fatalf("drained %d (%d distinct), want 8", n, len(seen))
	}
	if !l.Record(0, "x", 0, 0, make([]byte, 100)) {
		t.Fatal("record after drain dropped")
	}
	l.Drain(func(_ string, _ int64, _ uint32, ref []byte) {
		if len(ref) != MaxReferrer {
			t.Errorf("ref len %d, want %d", len(ref), MaxReferrer)
		}
	})
}

func TestLog_ConcurrentNoLoss(t *testing.T) {
	l := New(4, 1024)
	const producers, each = 8, 20000
	var wg sync.WaitGroup
	done := make(chan struct{})
	var got, dropped int
	go func() {
		defer close(done)
		for {
			got += l.Drain(func(string, int64, uint32, []byte) {})
			select {
			case <-done:
				return
			default:
			}
			if got+int(l.Dropped()) == producers*each {
				return
			}
		}
	}()
	for p := 0; p < producers; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				l.Record(uint64(p), "c", 0, 0, nil)
			}
		}(p)
	}
	wg.Wait()
	<-done
	dropped = int(l.Dropped())
	if got+dropped != producers*each {
		t.Fatalf("drained %d + dropped %d != %d", got, dropped, producers*each)
	}
}

func TestLog_RecordAllocs(t *testing.T) {
	l := New(1, 1<<16)
	ref := []byte("news.example.com")
	allocs := testing.AllocsPerRun(1000, func() { l.Record(1, "abc", 60, 1, ref) })
	if allocs != 0 {
		t.Fatalf("Record allocates %v times", allocs)
	}
}

func BenchmarkLog_Record(b *testing.B) {
	l := New(4, 1<<16)
	ref := []byte("news.example.com")
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
				l.Drain(func(string, int64, uint32, []byte) {})
			}
		}
	}()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var i uint64
		for pb.Next() {
			i++
			l.Record(i, "abc", 60, 1, ref)
		}
	})
	close(stop)
}
