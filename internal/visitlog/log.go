package visitlog

import (
	"sync/atomic"
)

// MaxReferrer is the longest referrer host kept; longer ones are cut.
const MaxReferrer = 63

type slot struct {
	seq    atomic.Uint64
	code   string
	minute int64
	dims   uint32
	refLen uint8
	ref    [MaxReferrer]byte
}

type ring struct {
	enq   atomic.Uint64
	_     [56]byte
	deq   uint64 // consumer only
	mask  uint64
	slots []slot
	_     [32]byte
}

// Log is a set of rings.
type Log struct {
	rings   []ring
	dropped atomic.Uint64
}

// New returns a log of stripes rings of size slots each (rounded up to a power
// of two).
func New(stripes, size int) *Log {
	if stripes < 1 {
		stripes = 1
	}
	n := 1
	for n < size {
		n <<= 1
	}
	l := &Log{rings: make([]ring, stripes)}
	for i := range l.rings {
		r := &l.rings[i]
		r.mask = uint64(n - 1)
		r.slots = make([]slot, n)
		for j := range r.slots {
			r.slots[j].seq.Store(uint64(j))
		}
	}
	return l
}

// Record queues one visit. hint spreads producers over the rings (a
// connection id works well). code must be immutable (it is kept, not copied);
// ref is copied. It reports false when the visit was dropped.
func (l *Log) Record(hint uint64, code string, minute int64, dims uint32, ref []byte) bool {
	n := uint64(len(l.rings))
	for i := uint64(0); i < n; i++ {
		if l.rings[(hint+i)%n].put(code, minute, dims, ref) {
			return true
		}
	}
	l.dropped.Add(1)
	return false
}

func (r *ring) put(code string, minute int64, dims uint32, ref []byte) bool {
	pos := r.enq.Load()
	var s *slot
	for {
		s = &r.slots[pos&r.mask]
		seq := s.seq.Load()
		switch d := int64(seq - pos); {
		case d == 0:
			if r.enq.CompareAndSwap(pos, pos+1) {
				goto claimed
			}
			pos = r.enq.Load()
		case d < 0:
			return false // full
		default:
			pos = r.enq.Load()
		}
	}
claimed:
	s.code = code
	s.minute = minute
	s.dims = dims
	if len(ref) > MaxReferrer {
		ref = ref[:MaxReferrer]
	}
	s.refLen = uint8(copy(s.ref[:], ref))
	s.seq.Store(pos + 1)
	return true
}

// Drain hands every published visit to fn, oldest first per ring, and frees
// the slots. ref is only valid during the call. Only one goroutine may drain.
// It returns the number of visits drained.
func (l *Log) Drain(fn func(code string, minute int64, dims uint32, ref []byte)) int {
	total := 0
	for i := range l.rings {
		r := &l.rings[i]
		for {
			s := &r.slots[r.deq&r.mask]
			if s.seq.Load() != r.deq+1 {
				break
			}
			fn(s.code, s.minute, s.dims, s.ref[:s.refLen])
			s.code = ""
			s.seq.Store(r.deq + r.mask + 1)
			r.deq++
			total++
		}
	}
	return total
}

// Dropped is the number of visits dropped because every ring was full.
func (l *Log) Dropped() uint64 { return l.dropped.Load() }
