package visitlog

import (
	"path/filepath"
	"sync"
	"testing"
	"time"
	"unsafe"
)

// kinds runs f on an in-memory log and on a journal.
func kinds(t *testing.T, f func(t *testing.T, open func(stripes, size int) *Log)) {
	t.Run("memory", func(t *testing.T) { f(t, New) })
	t.Run("journal", func(t *testing.T) {
		f(t, func(stripes, size int) *Log { return openT(t, filepath.Join(t.TempDir(), "visits"), stripes, size) })
	})
}

func openT(t testing.TB, path string, stripes, size int) *Log {
	t.Helper()
	l, rep, err := Open(path, stripes, size)
	if err != nil {
		t.Fatal(err)
	}
	if rep != (Report{}) {
		t.Fatalf("fresh journal: report %+v", rep)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func nop([]byte, int64, uint32, []byte) {}

func TestSlotLayout(t *testing.T) {
	var s slot
	if unsafe.Sizeof(s) != slotSize || unsafe.Offsetof(s.crc) != 8 || unsafe.Offsetof(s.codeLen) != offCodeLen ||
		unsafe.Offsetof(s.refLen) != 13 || unsafe.Offsetof(s.flags) != 14 || unsafe.Offsetof(s.minute) != 16 ||
		unsafe.Offsetof(s.dims) != 24 || unsafe.Offsetof(s.data) != offData {
		t.Fatalf("slot layout changed: size %d", unsafe.Sizeof(s))
	}
}

func TestLog_RecordDrain(t *testing.T) {
	kinds(t, func(t *testing.T, open func(int, int) *Log) {
		l := open(2, 4)
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
		n := l.Drain(func(code []byte, minute int64, dims uint32, ref []byte) {
			if string(code) != "abc" || minute != 60 || string(ref) != "example.com" {
				t.Errorf("got %q %d %q", code, minute, ref)
			}
			seen[dims] = true
		})
		if n != 8 || len(seen) != 8 {
			t.Fatalf("drained %d (%d distinct), want 8", n, len(seen))
		}
		l.CommitDrained()
		if !l.Record(0, "x", 0, 0, make([]byte, 100)) {
			t.Fatal("record after drain dropped")
		}
		l.Drain(func(_ []byte, _ int64, _ uint32, ref []byte) {
			if len(ref) != MaxReferrer {
				t.Errorf("ref len %d, want %d", len(ref), MaxReferrer)
			}
		})
	})
}

// TestLog_CommitFrees: drained slots stay taken (the ring is full) until
// committed.
func TestLog_CommitFrees(t *testing.T) {
	kinds(t, func(t *testing.T, open func(int, int) *Log) {
		l := open(1, 4)
		for i := 0; i < 4; i++ {
			l.Record(0, "abc", 0, uint32(i), nil)
		}
		if n := l.Drain(nop); n != 4 {
			t.Fatalf("drained %d, want 4", n)
		}
		if l.Uncommitted() != 4 {
			t.Fatalf("uncommitted %d, want 4", l.Uncommitted())
		}
		if l.Record(0, "abc", 0, 9, nil) {
			t.Fatal("a drained, uncommitted slot was reused")
		}
		if d := l.Drained(); len(d) != 1 || d[0] != 4 {
			t.Fatalf("drained mark %v, want [4]", d)
		}
		l.Commit(Mark{2})
		if c := l.Committed(); c[0] != 2 {
			t.Fatalf("committed %v, want [2]", c)
		}
		for i := 0; i < 2; i++ {
			if !l.Record(0, "abc", 0, uint32(10+i), nil) {
				t.Fatalf("record %d after commit dropped", i)
			}
		}
		if l.Record(0, "abc", 0, 12, nil) {
			t.Fatal("a slot not committed was reused")
		}
		var got []uint32
		l.Drain(func(_ []byte, _ int64, dims uint32, _ []byte) { got = append(got, dims) })
		if len(got) != 2 || got[0] != 10 || got[1] != 11 {
			t.Fatalf("drained %v, want [10 11]", got)
		}
		l.Commit(l.Drained())
		if l.Uncommitted() != 0 || l.Committed()[0] != 6 {
			t.Fatalf("uncommitted %d, committed %v", l.Uncommitted(), l.Committed())
		}
	})
}

// TestLog_CommitAheadSkips: a commit beyond the drain position skips those
// visits; one beyond the published visits stops at them.
func TestLog_CommitAheadSkips(t *testing.T) {
	kinds(t, func(t *testing.T, open func(int, int) *Log) {
		l := open(1, 8)
		for i := 0; i < 5; i++ {
			l.Record(0, "abc", 0, uint32(i), nil)
		}
		l.Commit(Mark{3})
		if d := l.Drained(); d[0] != 3 {
			t.Fatalf("drained %v after commit of 3, want [3]", d)
		}
		var got []uint32
		l.Drain(func(_ []byte, _ int64, dims uint32, _ []byte) { got = append(got, dims) })
		if len(got) != 2 || got[0] != 3 || got[1] != 4 {
			t.Fatalf("drained %v, want [3 4]", got)
		}
		l.Commit(Mark{100, 7}) // beyond the published; extra stripes ignored
		if c := l.Committed(); c[0] != 5 {
			t.Fatalf("committed %v, want [5] (clamped to the published)", c)
		}
		l.Commit(Mark{1}) // behind: no-op
		if c := l.Committed(); c[0] != 5 {
			t.Fatalf("committed %v after an older mark", c)
		}
		for i := 0; i < 8; i++ {
			if !l.Record(0, "abc", 0, uint32(i), nil) {
				t.Fatalf("record %d dropped after commit", i)
			}
		}
	})
}

func TestLog_LongCode(t *testing.T) {
	kinds(t, func(t *testing.T, open func(int, int) *Log) {
		l := open(1, 4)
		long := string(make([]byte, MaxCode+1))
		if l.Record(0, long, 0, 0, nil) || l.Dropped() != 1 {
			t.Fatalf("a %d-byte code was kept (dropped %d)", len(long), l.Dropped())
		}
		full := string(make([]byte, MaxCode))
		if !l.Record(0, full, 0, 0, nil) {
			t.Fatal("a MaxCode code was dropped")
		}
		l.Drain(func(code []byte, _ int64, _ uint32, _ []byte) {
			if string(code) != full {
				t.Errorf("code %q", code)
			}
		})
	})
}

func TestLog_ConcurrentNoLoss(t *testing.T) {
	kinds(t, func(t *testing.T, open func(int, int) *Log) {
		l := open(4, 1024)
		const producers, each = 8, 20000
		var wg sync.WaitGroup
		done := make(chan struct{})
		var got, recorded int
		var mu sync.Mutex
		go func() {
			defer close(done)
			for {
				got += l.Drain(nop)
				l.Commit(l.Drained())
				mu.Lock()
				r := recorded
				mu.Unlock()
				if got+int(l.Dropped()) == producers*each && r == producers*each {
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
				mu.Lock()
				recorded += each
				mu.Unlock()
			}(p)
		}
		wg.Wait()
		<-done
		if dropped := int(l.Dropped()); got+dropped != producers*each {
			t.Fatalf("drained %d + dropped %d != %d", got, dropped, producers*each)
		}
		if l.Uncommitted() != 0 {
			t.Fatalf("uncommitted %d at the end", l.Uncommitted())
		}
	})
}

func TestLog_RecordAllocs(t *testing.T) {
	kinds(t, func(t *testing.T, open func(int, int) *Log) {
		l := open(1, 1<<16)
		ref := []byte("news.example.com")
		allocs := testing.AllocsPerRun(1000, func() { l.Record(1, "abc", 60, 1, ref) })
		if allocs != 0 {
			t.Fatalf("Record allocates %v times", allocs)
		}
		allocs = testing.AllocsPerRun(100, func() { l.Drain(nop); l.CommitDrained() })
		if allocs != 0 {
			t.Fatalf("Drain+CommitDrained allocates %v times", allocs)
		}
	})
}

func benchRecord(b *testing.B, l *Log) {
	ref := []byte("news.example.com")
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // the batcher: drains and commits every few milliseconds
		defer close(done)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				l.Drain(nop)
				l.CommitDrained()
			}
		}
	}()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var i uint64
		for pb.Next() {
			i++
			l.Record(i, "abc", 60, 1, ref)
		}
	})
	b.StopTimer()
	close(stop)
	<-done
}

func BenchmarkLog_Record(b *testing.B) { benchRecord(b, New(4, 1<<16)) }

func BenchmarkLog_RecordFile(b *testing.B) {
	benchRecord(b, openT(b, filepath.Join(b.TempDir(), "visits"), 4, 1<<16))
}
