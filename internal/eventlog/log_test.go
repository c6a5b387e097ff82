package eventlog

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"unsafe"
)

func TestSlotLayout(t *testing.T) {
	if unsafe.Sizeof(slot{}) != SlotSize {
		t.Fatalf("slot is %d bytes, SlotSize says %d", unsafe.Sizeof(slot{}), SlotSize)
	}
}

func TestLog_RecordDrain(t *testing.T) {
	l := New(2, 2)
	long := strings.Repeat("r", 300)
	ua := strings.Repeat("u", 400)
	for i := 0; i < 4; i++ {
		if !l.Record(uint64(i), "abc", int64(100+i), uint32(i), []byte(long), []byte(ua)) {
			t.Fatalf("event %d dropped", i)
		}
	}
	if l.Record(0, "abc", 1, 0, nil, nil) || l.Dropped() != 1 {
		t.Fatalf("fifth event in 2×2 slots: dropped %d", l.Dropped())
	}
	if l.Record(0, strings.Repeat("c", MaxCode+1), 1, 0, nil, nil) || l.Dropped() != 2 {
		t.Fatal("a code longer than MaxCode was kept")
	}
	seen := map[uint32]bool{}
	n := l.Drain(func(code []byte, sec int64, dims uint32, ref, ua []byte) {
		if string(code) != "abc" || sec != 100+int64(dims) || len(ref) != MaxReferrer || len(ua) != MaxUserAgent {
			t.Errorf("event %q %d %d: ref %d bytes, ua %d bytes", code, sec, dims, len(ref), len(ua))
		}
		seen[dims] = true
	})
	if n != 4 || len(seen) != 4 {
		t.Fatalf("drained %d (%v), want 4", n, seen)
	}
	if !l.Record(0, "x", 1, 0, []byte("r"), nil) {
		t.Fatal("a drained slot was not freed")
	}
	l.Drain(func(code []byte, _ int64, _ uint32, ref, ua []byte) {
		if string(code) != "x" || string(ref) != "r" || len(ua) != 0 {
			t.Errorf("got %q %q %q", code, ref, ua)
		}
	})
}

func TestLog_Concurrent(t *testing.T) {
	l := New(4, 64)
	const producers, each = 8, 5000
	var wg sync.WaitGroup
	done := make(chan struct{})
	got := 0
	go func() {
		defer close(done)
		for got+int(l.Dropped()) < producers*each {
			got += l.Drain(func(code []byte, _ int64, _ uint32, ref, ua []byte) {
				if string(code) != "code" || string(ref) != "https://r.example/p" || string(ua) != "UA" {
					t.Errorf("torn event %q %q %q", code, ref, ua)
				}
			})
		}
	}()
	for p := 0; p < producers; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				l.Record(uint64(p), "code", 1, 0, []byte("https://r.example/p"), []byte("UA"))
			}
		}()
	}
	wg.Wait()
	<-done
	if got+int(l.Dropped()) != producers*each {
		t.Fatalf("drained %d + dropped %d != %d", got, l.Dropped(), producers*each)
	}
}

func TestLog_RecordAllocatesNothing(t *testing.T) {
	l := New(1, 8)
	ref, ua := []byte("https://r.example/"), []byte("Mozilla/5.0")
	if n := testing.AllocsPerRun(1000, func() {
		l.Record(0, "abc", 1, 0, ref, ua)
		l.Drain(func([]byte, int64, uint32, []byte, []byte) {})
	}); n != 0 {
		t.Fatalf("Record+Drain allocate %v times", n)
	}
}

// BenchmarkLog_Record: a ring that cycles through fewer slots keeps them in
// the CPU cache (8 × 1024 slots, 4.5 MB, against 8 × 8192, 35.7 MB).
func BenchmarkLog_Record(b *testing.B) {
	ref := []byte("https://news.example.com/story/123")
	ua := []byte("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36")
	for _, slots := range []int{1 << 10, 1 << 13} {
		b.Run(fmt.Sprintf("slots=8x%d", slots), func(b *testing.B) {
			l := New(8, slots)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				l.Record(uint64(i), "abc1234", 1, 0, ref, ua)
				if i&4095 == 0 {
					l.Drain(func([]byte, int64, uint32, []byte, []byte) {})
				}
			}
		})
	}
}
