package eventlog

import (
	"sync/atomic"
)

// The longest fields a slot keeps; longer ones are cut (a code longer than
// MaxCode is dropped, as in visitlog).
const (
	MaxCode      = 64
	MaxReferrer  = 200
	MaxUserAgent = 256
)

// SlotSize is the bytes one event takes in a ring.
const SlotSize = 544

// slot is one event: 24 bytes of header and the code, referrer and user
// agent back to back.
type slot struct {
	// seq is the Vyukov sequence: pos means free for position pos, pos+1
	// published at position pos.
	seq     atomic.Uint64
	sec     int64
	dims    uint32
	codeLen uint8
	refLen  uint8
	uaLen   uint16
	data    [MaxCode + MaxReferrer + MaxUserAgent]byte
}

type ring struct {
	enq   atomic.Uint64
	_     [56]byte
	deq   uint64 // consumer only
	mask  uint64
	slots []slot
	_     [40]byte
}

// Log is a set of rings of events in process memory.
type Log struct {
	rings   []ring
	dropped atomic.Uint64
}

// New returns a log of stripes rings of size slots each (rounded up to a
// power of two): stripes × size × SlotSize bytes.
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

// Capacity is the number of events the rings hold.
func (l *Log) Capacity() int { return len(l.rings) * len(l.rings[0].slots) }

// Record queues one event: code (at most MaxCode bytes), the unix second,
// the packed dimensions (useragent.Class.Pack), the referrer and the user
// agent (cut at MaxReferrer and MaxUserAgent bytes; all three are copied).
// hint spreads producers over the rings (a connection id works well). It
// reports false when the event was dropped (every ring full, or the code too
// long). It neither allocates, locks nor makes a system call.
func (l *Log) Record(hint uint64, code string, sec int64, dims uint32, ref, ua []byte) bool {
	if len(code) <= MaxCode {
		n := uint64(len(l.rings))
		for i := uint64(0); i < n; i++ {
			if l.rings[(hint+i)%n].put(code, sec, dims, ref, ua) {
				return true
			}
		}
	}
	l.dropped.Add(1)
	return false
}

func (r *ring) put(code string, sec int64, dims uint32, ref, ua []byte) bool {
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
	if len(ref) > MaxReferrer {
		ref = ref[:MaxReferrer]
	}
	if len(ua) > MaxUserAgent {
		ua = ua[:MaxUserAgent]
	}
	c := copy(s.data[:], code)
	rl := copy(s.data[c:], ref)
	ul := copy(s.data[c+rl:], ua)
	s.codeLen, s.refLen, s.uaLen = uint8(c), uint8(rl), uint16(ul)
	s.sec = sec
	s.dims = dims
	s.seq.Store(pos + 1)
	return true
}

// Drain hands every published event to fn, oldest first per ring, and frees
// its slot once fn returns: code, ref and ua are only valid during the call.
// Only one goroutine may call Drain. It returns the number of events handed
// to fn.
func (l *Log) Drain(fn func(code []byte, sec int64, dims uint32, ref, ua []byte)) int {
	total := 0
	for i := range l.rings {
		r := &l.rings[i]
		for {
			s := &r.slots[r.deq&r.mask]
			if s.seq.Load() != r.deq+1 {
				break
			}
			c, rl, ul := int(s.codeLen), int(s.refLen), int(s.uaLen)
			d := s.data[:c+rl+ul]
			fn(d[:c:c], s.sec, s.dims, d[c:c+rl:c+rl], d[c+rl:])
			s.seq.Store(r.deq + r.mask + 1)
			r.deq++
			total++
		}
	}
	return total
}

// Dropped is the number of events dropped by Record.
func (l *Log) Dropped() uint64 { return l.dropped.Load() }
