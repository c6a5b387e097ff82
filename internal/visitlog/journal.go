package visitlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"
	"unsafe"
)

// Journal file format (little-endian, the byte order of the machines this
// runs on, since the positions are written with atomic stores):
//
//	header, headerSize (4096) bytes:
//	  0  [4]byte  magic "MBVJ"
//	  4  uint32   version (1)
//	  8  uint32   stripes
//	 12  uint32   slots per stripe (a power of two)
//	 16  uint32   slot size (192)
//	 20  uint32   header size (4096)
//	 24  int64    created (Unix nanoseconds): the file's generation
//	 32  uint32   crc32c of bytes 0..32
//	 64  uint64   committed position of stripe i at 64+8i (atomic stores)
//	stripe i at headerSize + i*slots*slotSize: slots of slotSize bytes (see
//	slot), the slot of position p at index p mod slots.
const (
	headerSize   = 4096
	journalMagic = "MBVJ"
	journalVer   = 1
	hdrCRC       = 32
	hdrCommitted = 64
	// MaxStripes is the most stripes a journal holds (its header's room
	// for committed positions).
	MaxStripes = (headerSize - hdrCommitted) / 8
)

// Report is what Open found in an existing journal.
type Report struct {
	Resumed  int    // published, uncommitted visits found (Drain hands them on)
	Corrupt  int    // published slots with a bad checksum, skipped
	Holes    int    // claimed but never published slots before the last published one, skipped
	SetAside string // path the old file was renamed to (unusable: other version or geometry, bad header, wrong size), if any
}

// ErrClosed is returned by Sync after Close.
var ErrClosed = errors.New("visitlog: closed")

// ErrInUse is returned by Open when another open journal (of this or another
// process) holds the file's lock (flock).
var ErrInUse = errors.New("journal in use")

type geometry struct {
	stripes, slots int
}

func (g geometry) fileSize() int64 {
	return headerSize + int64(g.stripes)*int64(g.slots)*slotSize
}

// Open returns a log whose rings live in a shared mapping of the file at path
// (a journal): a visit Record accepted survives the death of the process (the
// mapping's pages stay in the page cache) and, once Sync ran, a crash of the
// machine. An existing journal of the same geometry is resumed: its
// published, uncommitted visits are handed to the next Drain calls, ring
// positions go on where they were (see resume). A file that is not such a
// journal (other version or geometry, bad header checksum, wrong size) is
// renamed to path+".bad-<unixnano>" (Report.SetAside) and a fresh journal
// is created; Open fails only on I/O errors, on a journal that is open
// already (ErrInUse: the file is flock'ed while open), and on more than
// MaxStripes stripes. The consumer must Commit often: a ring is full when its slots
// all hold uncommitted visits.
func Open(path string, stripes, size int) (*Log, Report, error) {
	var rep Report
	if stripes < 1 {
		stripes = 1
	}
	if stripes > MaxStripes {
		return nil, rep, fmt.Errorf("visitlog: %d stripes, a journal holds at most %d", stripes, MaxStripes)
	}
	g := geometry{stripes: stripes, slots: roundSize(size)}
	if g.slots > 1<<30/slotSize {
		return nil, rep, fmt.Errorf("visitlog: %d slots per stripe, at most %d", g.slots, 1<<30/slotSize)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	switch {
	case err == nil:
		if err := lock(f); err != nil {
			f.Close()
			return nil, rep, fmt.Errorf("visitlog: %s: %w", path, err)
		}
		l, err := resume(f, g, &rep)
		if err != nil {
			f.Close()
			return nil, rep, err
		}
		if l != nil {
			return l, rep, nil
		}
		f.Close()
		bad := fmt.Sprintf("%s.bad-%d", path, time.Now().UnixNano())
		if err := os.Rename(path, bad); err != nil {
			return nil, rep, fmt.Errorf("visitlog: set aside %s: %w", path, err)
		}
		rep.SetAside = bad
	case !errors.Is(err, fs.ErrNotExist):
		return nil, rep, fmt.Errorf("visitlog: %w", err)
	}
	l, err := create(path, g)
	return l, rep, err
}

// create writes a fresh journal next to path, syncs it and renames it into
// place, so that a journal at path is always complete.
func create(path string, g geometry) (*Log, error) {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("visitlog: %w", err)
	}
	fail := func(err error) (*Log, error) {
		f.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("visitlog: create %s: %w", path, err)
	}
	if err := lock(f); err != nil {
		return fail(err)
	}
	size := g.fileSize()
	if err := f.Truncate(size); err != nil {
		return fail(err)
	}
	// Allocate the blocks now: a store into a mapped page the file system
	// cannot back is a SIGBUS.
	if err := fallocate(f, size); err != nil {
		return fail(err)
	}
	mem, err := mmap(f, size)
	if err != nil {
		return fail(err)
	}
	copy(mem, journalMagic)
	binary.LittleEndian.PutUint32(mem[4:], journalVer)
	binary.LittleEndian.PutUint32(mem[8:], uint32(g.stripes))
	binary.LittleEndian.PutUint32(mem[12:], uint32(g.slots))
	binary.LittleEndian.PutUint32(mem[16:], slotSize)
	binary.LittleEndian.PutUint32(mem[20:], headerSize)
	binary.LittleEndian.PutUint64(mem[24:], uint64(time.Now().UnixNano()))
	binary.LittleEndian.PutUint32(mem[hdrCRC:], crc32.Checksum(mem[:hdrCRC], castagnoli))
	l := mapLog(g, mem)
	for i := range l.rings {
		r := &l.rings[i]
		for j := range r.slots {
			r.slots[j].seq.Store(uint64(j))
		}
	}
	if err := msync(mem); err != nil {
		munmap(mem)
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		munmap(mem)
		return fail(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		munmap(mem)
		return fail(err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	l.j = &journal{f: f, mem: mem}
	return l, nil
}

// resume maps an existing journal; it returns a nil log (and no error) when
// the file is not a journal of geometry g.
func resume(f *os.File, g geometry, rep *Report) (*Log, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("visitlog: %w", err)
	}
	size := g.fileSize()
	if fi.Size() != size {
		return nil, nil
	}
	mem, err := mmap(f, size)
	if err != nil {
		return nil, fmt.Errorf("visitlog: %w", err)
	}
	le := binary.LittleEndian
	if string(mem[:4]) != journalMagic || le.Uint32(mem[4:]) != journalVer ||
		le.Uint32(mem[8:]) != uint32(g.stripes) || le.Uint32(mem[12:]) != uint32(g.slots) ||
		le.Uint32(mem[16:]) != slotSize || le.Uint32(mem[20:]) != headerSize ||
		le.Uint32(mem[hdrCRC:]) != crc32.Checksum(mem[:hdrCRC], castagnoli) {
		munmap(mem)
		return nil, nil
	}
	l := mapLog(g, mem)
	l.j = &journal{f: f, mem: mem}
	for i := range l.rings {
		l.rings[i].resume(rep)
	}
	return l, nil
}

// mapLog lays a log's rings over a journal's mapping.
func mapLog(g geometry, mem []byte) *Log {
	l := &Log{rings: make([]ring, g.stripes), sum: true}
	for i := range l.rings {
		r := &l.rings[i]
		r.mask = uint64(g.slots - 1)
		off := headerSize + i*g.slots*slotSize
		r.slots = unsafe.Slice((*slot)(unsafe.Pointer(&mem[off])), g.slots)
		r.committed = (*atomic.Uint64)(unsafe.Pointer(&mem[hdrCommitted+8*i]))
	}
	return l
}

// resume rebuilds a ring's positions from its slots. From the committed
// position c, the window [c, c+slots) holds every position that may hold an
// uncommitted visit. Up to the last position p of the window whose slot is
// published for p (seq p+1): a published slot with a valid checksum is a
// resumed visit (or an earlier skip), one with a bad checksum is Corrupt, a
// slot not published for its position is a Hole (claimed by a Record that
// never finished, or garbage); both become published skip slots, so that
// Drain passes over them and Commit frees them. Beyond p every slot is made
// free for its position. Recording goes on at p+1, draining at c.
func (r *ring) resume(rep *Report) {
	c := r.committed.Load()
	n := r.mask + 1
	end := c
	for p := c; p < c+n; p++ {
		if r.slots[p&r.mask].seq.Load() == p+1 {
			end = p + 1
		}
	}
	for p := c; p < c+n; p++ {
		s := &r.slots[p&r.mask]
		seq := s.seq.Load()
		switch {
		case p >= end:
			if seq != p {
				s.seq.Store(p)
			}
		case seq != p+1:
			rep.Holes++
			s.skip(p)
		case !s.valid(p):
			rep.Corrupt++
			s.skip(p)
		case s.flags&flagSkip == 0:
			rep.Resumed++
		}
	}
	r.enq.Store(end)
	r.deq, r.com = c, c
}

// Sync writes the journal's dirty pages to the disk (msync MS_SYNC): a
// crash of the machine loses at most the visits recorded, and the commits
// made, since the last Sync. The caller runs it on a ticker, off the request
// path. A no-op for New.
func (l *Log) Sync() error {
	j := l.j
	if j == nil {
		return nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return ErrClosed
	}
	if err := msync(j.mem); err != nil {
		return fmt.Errorf("visitlog: sync: %w", err)
	}
	return nil
}

// Close syncs the journal and closes it (a no-op for New). Record after
// Close drops the visit (counted in Dropped). A Record racing with Close
// cannot crash the process: the file mapping is replaced, in one step, by an
// anonymous zero mapping of the same addresses (kept until the process
// exits), so a late store lands there and its visit is lost. Drain, Commit
// and Sync must not be called after Close.
func (l *Log) Close() error {
	j := l.j
	if j == nil {
		return nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return nil
	}
	j.closed = true
	l.closed.Store(true)
	err := msync(j.mem)
	if rerr := unmapInPlace(j.mem); rerr != nil && err == nil {
		err = rerr
	}
	if cerr := j.f.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("visitlog: close: %w", err)
	}
	return nil
}
