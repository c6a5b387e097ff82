package visitlog

import (
	"hash/crc32"
	"os"
	"sync"
	"sync/atomic"
	"unsafe"
)

// MaxReferrer is the longest referrer host kept; longer ones are cut.
const MaxReferrer = 63

// MaxCode is the longest code a slot holds (shortcode.MaxLength); Record
// drops a longer one and counts it in Dropped.
const MaxCode = 64

// slotSize is the size of a slot: three cache lines, in memory and in the
// journal file.
const slotSize = 192

// flagSkip marks a published slot that holds no visit (a corrupt slot or a
// hole found when a journal was resumed): Drain passes over it.
const flagSkip = 1

// slot is one visit. It holds no Go pointers, so it may live in a file
// mapping. Offsets (journal format): seq 0, crc 8, codeLen 12, refLen 13,
// flags 14, minute 16, dims 24, data 32 (the code, then the referrer right
// after it, so that one checksum call covers every byte used).
type slot struct {
	// seq is the Vyukov sequence: pos means free for position pos, pos+1
	// published at position pos.
	seq     atomic.Uint64
	crc     uint32 // crc32c, seeded with the position, of the bytes from codeLen to the end of the referrer; journals only
	codeLen uint8
	refLen  uint8
	flags   uint8
	_       uint8
	minute  int64
	dims    uint32
	_       uint32
	data    [MaxCode + MaxReferrer]byte
	_       [slotSize - offData - MaxCode - MaxReferrer]byte
}

const (
	offCodeLen = 12
	offData    = 32
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// checksum is the slot's crc at position pos. codeLen must be at most
// MaxCode and refLen at most MaxReferrer.
func (s *slot) checksum(pos uint64) uint32 {
	b := (*[slotSize]byte)(unsafe.Pointer(s))
	return crc32.Update(uint32(pos)^uint32(pos>>32), castagnoli, b[offCodeLen:offData+int(s.codeLen)+int(s.refLen)])
}

// valid reports whether the published slot at pos holds what a Record (or
// a skip) wrote there.
func (s *slot) valid(pos uint64) bool {
	return s.codeLen <= MaxCode && s.refLen <= MaxReferrer && s.flags&^flagSkip == 0 && s.crc == s.checksum(pos)
}

// skip turns the slot at pos into a published skip slot.
func (s *slot) skip(pos uint64) {
	s.codeLen, s.refLen, s.flags, s.minute, s.dims = 0, 0, flagSkip, 0, 0
	s.crc = s.checksum(pos)
	s.seq.Store(pos + 1)
}

type ring struct {
	enq   atomic.Uint64
	_     [56]byte
	deq   uint64 // consumer only: next position to drain
	com   uint64 // consumer only: every position below is committed (free)
	mask  uint64
	slots []slot
	// committed mirrors com for other goroutines (Uncommitted) and, in a
	// journal, is the header's committed position of the stripe.
	committed *atomic.Uint64
	_         [16]byte
}

// Log is a set of rings, in process memory (New) or in a shared file
// mapping (Open).
type Log struct {
	rings   []ring
	sum     bool // checksum slots (journal)
	closed  atomic.Bool
	dropped atomic.Uint64

	j *journal // nil for New
}

// journal is the file behind an Open'ed log.
type journal struct {
	mu     sync.Mutex // Sync, Close
	f      *os.File
	mem    []byte // the whole file, MAP_SHARED
	closed bool
}

func roundSize(size int) int {
	n := 1
	for n < size {
		n <<= 1
	}
	return n
}

// New returns a log of stripes rings of size slots each (rounded up to a power
// of two), in process memory.
func New(stripes, size int) *Log {
	if stripes < 1 {
		stripes = 1
	}
	n := roundSize(size)
	l := &Log{rings: make([]ring, stripes)}
	committed := make([]atomic.Uint64, stripes)
	for i := range l.rings {
		r := &l.rings[i]
		r.mask = uint64(n - 1)
		r.slots = make([]slot, n)
		r.committed = &committed[i]
		for j := range r.slots {
			r.slots[j].seq.Store(uint64(j))
		}
	}
	return l
}

// Record queues one visit. hint spreads producers over the rings (a
// connection id works well). code and ref are copied; ref is cut at
// MaxReferrer. It reports false when the visit was dropped: every ring full
// (of visits not yet committed), a code longer than MaxCode, or a closed
// log. It neither allocates, locks nor makes a system call.
func (l *Log) Record(hint uint64, code string, minute int64, dims uint32, ref []byte) bool {
	if len(code) <= MaxCode && !l.closed.Load() {
		n := uint64(len(l.rings))
		for i := uint64(0); i < n; i++ {
			if l.rings[(hint+i)%n].put(code, minute, dims, ref, l.sum) {
				return true
			}
		}
	}
	l.dropped.Add(1)
	return false
}

func (r *ring) put(code string, minute int64, dims uint32, ref []byte, sum bool) bool {
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
	n := copy(s.data[:], code)
	s.codeLen = uint8(n)
	s.flags = 0
	s.minute = minute
	s.dims = dims
	if len(ref) > MaxReferrer {
		ref = ref[:MaxReferrer]
	}
	s.refLen = uint8(copy(s.data[n:], ref))
	if sum {
		s.crc = s.checksum(pos)
	}
	s.seq.Store(pos + 1)
	return true
}

// Drain hands every published visit not drained yet to fn, oldest first per
// ring. code and ref are only valid during the call. Drain does not free the
// slots: the consumer frees them with Commit (or CommitDrained) once it no
// longer needs them — in a journal, once the visits are durable elsewhere —
// and must do so often, since a ring whose slots are all uncommitted is full.
// Only one goroutine (the consumer) may call Drain, Drained, Commit,
// CommitDrained and Committed. It returns the number of visits handed to fn.
func (l *Log) Drain(fn func(code []byte, minute int64, dims uint32, ref []byte)) int {
	total := 0
	for i := range l.rings {
		r := &l.rings[i]
		for {
			s := &r.slots[r.deq&r.mask]
			if s.seq.Load() != r.deq+1 {
				break
			}
			if s.flags&flagSkip == 0 {
				c := int(s.codeLen)
				d := s.data[:c+int(s.refLen)]
				fn(d[:c:c], s.minute, s.dims, d[c:])
				total++
			}
			r.deq++
		}
	}
	return total
}

// Mark is a position per ring (stripe).
type Mark []uint64

// Drained returns a copy of the positions drained so far: every visit below
// them has been handed to a Drain callback (or skipped).
func (l *Log) Drained() Mark {
	m := make(Mark, len(l.rings))
	for i := range l.rings {
		m[i] = l.rings[i].deq
	}
	return m
}

// Committed returns a copy of the committed positions.
func (l *Log) Committed() Mark {
	m := make(Mark, len(l.rings))
	for i := range l.rings {
		m[i] = l.rings[i].com
	}
	return m
}

// Commit frees every slot below m (positions of Drained, or of an earlier
// run's journal): Record may reuse them, and a resumed journal no longer
// returns their visits. A ring's drain position behind m moves up to m: those
// visits are skipped, the caller knows they are durable elsewhere. A position
// is clamped to the ring's published visits (a slot still being written is
// never freed); positions at or below the committed one, and rings beyond
// len(m), are left alone. In a journal the committed positions are stored in
// the file header (a plain store into the mapping: durable against a crash of
// the process at once, against a crash of the machine after Sync).
func (l *Log) Commit(m Mark) {
	for i := range l.rings {
		if i >= len(m) {
			break
		}
		l.rings[i].commit(m[i])
	}
}

// CommitDrained is Commit(Drained()) without allocating.
func (l *Log) CommitDrained() {
	for i := range l.rings {
		r := &l.rings[i]
		r.commit(r.deq)
	}
}

func (r *ring) commit(to uint64) {
	if to <= r.com {
		return
	}
	p := r.com
	for p < to && r.slots[p&r.mask].seq.Load() == p+1 {
		p++
	}
	if p == r.com {
		return
	}
	// The header first: if the process dies before the slots are freed, a
	// resume sees them as slots of the previous lap and frees them.
	r.committed.Store(p)
	for q := r.com; q < p; q++ {
		r.slots[q&r.mask].seq.Store(q + r.mask + 1)
	}
	r.com = p
	if r.deq < p {
		r.deq = p
	}
}

// Uncommitted is the number of visits recorded (or being recorded) and not
// committed, over all rings; approximate while producers run.
func (l *Log) Uncommitted() uint64 {
	var n uint64
	for i := range l.rings {
		r := &l.rings[i]
		e, c := r.enq.Load(), r.committed.Load()
		if e > c {
			n += e - c
		}
	}
	return n
}

// Dropped is the number of visits dropped: every ring full (slots drained
// but not committed count as full), a code longer than MaxCode, or Record
// after Close.
func (l *Log) Dropped() uint64 { return l.dropped.Load() }
