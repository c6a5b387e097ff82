package journal

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// MaxData is the longest record Data that Append takes.
const MaxData = 1 << 30

const (
	magic           = "MBJL"
	version         = 1
	headerSize      = 8
	frameHeaderSize = 17 // length, crc, kind, id
	segSuffix       = ".seg"
	nameDigits      = 20

	defaultSegmentBytes = 4 << 20
	defaultMaxBytes     = 256 << 20

	// maxTombstoneIDs is how many ids one tombstone frame lists at most; a
	// longer Release writes several.
	maxTombstoneIDs = 1 << 16
	// bigData is the Data length from which Append writes the frame header
	// and the data with two writes instead of copying them together.
	bigData = 1 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrClosed is returned by Append, Release and Sync after Close.
var ErrClosed = errors.New("journal: log closed")

// Options configures a Log. The zero value is usable.
type Options struct {
	// SegmentBytes is the size past which the log rolls to a new segment
	// file: a frame that would take the newest segment past it goes to a new
	// one (a segment holds at least one frame, so a record longer than
	// SegmentBytes makes a segment of its own). 4 MiB when 0 or less.
	SegmentBytes int64
	// MaxBytes bounds all segment files together: after an Append or Release
	// has written, while the files hold more than MaxBytes and there is more
	// than one segment, the oldest segment is deleted even though it still
	// holds live records, which are reported to OnDrop. The newest segment is
	// never deleted, so the bound is approximate: the files can exceed it by
	// up to one segment. 256 MiB when 0 or less.
	MaxBytes int64
	// SyncInterval is how often a background goroutine fdatasyncs the
	// segments written since the last sync; 0 or less means never (Sync and
	// Close still sync).
	SyncInterval time.Duration
	// OnDrop, when set, receives the live records (ID and Kind, no Data) of
	// the segments deleted because of MaxBytes, in id order; they are no
	// longer live. It is called from the Append or Release that wrote past
	// the bound, before that call returns, with no lock of the Log held, so
	// it may call back into the Log. It must not keep dropped past its
	// return.
	OnDrop func(dropped []Record)
}

// Record is one record of the log.
type Record struct {
	ID   uint64
	Kind uint8
	Data []byte
}

// Report is what Open found on disk.
type Report struct {
	// Segments is the number of segment files replayed (files set aside and
	// empty files removed are not counted).
	Segments int
	// Records is the number of records replayed, tombstones not counted;
	// Released of them were released by a tombstone.
	Records  int
	Released int
	// CorruptBytes is the number of bytes from the first bad or truncated
	// frame to the end of each segment, plus the length of segment files
	// too short to hold a header (they are removed).
	CorruptBytes int64
	// SetAside lists the file names (in the log's directory) that segment
	// files with a bad name or header were renamed to.
	SetAside []string
}

type segment struct {
	first uint64 // id in the file name; every id in the segment is >= first
	path  string
	size  int64
	live  map[uint64]uint8 // id to kind of the live records
	f     *os.File         // open for appending; the newest segment only
	// dirty says f was written since the last sync; syncing that a sync of
	// f is running without l.mu.
	dirty   bool
	syncing bool
}

// Log is an append-only log in a directory. Its methods are safe for
// concurrent use.
type Log struct {
	dir  string
	opts Options

	// syncMu serializes syncs, so at most one runs without mu held.
	syncMu sync.Mutex

	mu       sync.Mutex
	dirf     *os.File   // the directory, for fsync; nil when it did not open
	segs     []*segment // oldest first; never empty while open
	cur      *segment   // segs[len(segs)-1]
	nextID   uint64
	bytes    int64
	live     int
	buf      []byte
	unsynced []string // paths of closed segments written since their last sync
	dirDirty bool     // files were created or deleted since the last sync
	mustRoll bool     // the newest segment may end in a torn frame
	closed   bool

	stop chan struct{}
	done chan struct{}
}

// Open opens the log in dir, creating dir when missing, and replays it. It
// returns the live records in id order (their Data is the caller's) and a
// report of what it found.
//
// A frame with a bad checksum or length, or a truncated one, ends its
// segment; the bytes from there on are counted in Report.CorruptBytes. An
// older segment keeps its valid prefix and is not written again. The newest
// segment is truncated at the bad frame and appending continues in it, so
// the damage is reported once; whatever followed the bad frame is lost
// (including tombstones, whose records are then live again). A .seg file
// whose name or header is not this package's is renamed aside and the log
// goes on without it; a file too short to hold a header (a segment whose
// creation was cut short) is removed. Open fails only on I/O errors.
func Open(dir string, o Options) (*Log, []Record, Report, error) {
	if o.SegmentBytes <= 0 {
		o.SegmentBytes = defaultSegmentBytes
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = defaultMaxBytes
	}
	var rep Report
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, rep, fmt.Errorf("journal: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, rep, fmt.Errorf("journal: %w", err)
	}
	l := &Log{dir: dir, opts: o, nextID: 1}
	if l.dirf, err = os.Open(dir); err != nil {
		l.dirf = nil // fsync of the directory is best effort
	}
	fail := func(err error) (*Log, []Record, Report, error) {
		for _, s := range l.segs {
			if s.f != nil {
				s.f.Close()
			}
		}
		if l.dirf != nil {
			l.dirf.Close()
		}
		return nil, nil, rep, fmt.Errorf("journal: %w", err)
	}

	type cand struct {
		first uint64
		name  string
	}
	var cands []cand
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, segSuffix) || !e.Type().IsRegular() {
			continue
		}
		first, ok := parseName(name)
		if !ok {
			if err := l.setAside(name, &rep); err != nil {
				return fail(err)
			}
			continue
		}
		cands = append(cands, cand{first, name})
	}
	slices.SortFunc(cands, func(a, b cand) int {
		switch {
		case a.first < b.first:
			return -1
		case a.first > b.first:
			return 1
		}
		return 0
	})

	// Files without a valid header go first, so that they do not bound the
	// ids of the segment before them.
	good := cands[:0]
	for _, c := range cands {
		// Ids are never reused, even those of a file the log cannot read.
		l.nextID = max(l.nextID, c.first)
		path := filepath.Join(dir, c.name)
		size, hdrOK, err := checkHeader(path)
		if err != nil {
			return fail(err)
		}
		switch {
		case hdrOK:
			good = append(good, c)
		case size < headerSize && isHeaderPrefix(path, size):
			rep.CorruptBytes += size
			if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fail(err)
			}
			l.dirDirty = true
		default:
			l.nextID = max(l.nextID, c.first+1)
			if err := l.setAside(c.name, &rep); err != nil {
				return fail(err)
			}
		}
	}

	var recs []Record
	var lastID uint64
	var validEnd int64 // of the last segment replayed
	for i, c := range good {
		limit := uint64(math.MaxUint64)
		if i+1 < len(good) {
			limit = good[i+1].first
		}
		s := &segment{first: c.first, path: filepath.Join(dir, c.name), live: map[uint64]uint8{}}
		end, err := l.replay(s, limit, &lastID, &recs, &rep)
		if err != nil {
			return fail(err)
		}
		rep.Segments++
		rep.CorruptBytes += s.size - end
		l.segs = append(l.segs, s)
		l.bytes += s.size
		validEnd = end
	}
	if lastID > 0 {
		l.nextID = max(l.nextID, lastID+1)
	}

	if len(l.segs) == 0 {
		if err := l.addSegment(); err != nil {
			return fail(err)
		}
	} else {
		s := l.segs[len(l.segs)-1]
		f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return fail(err)
		}
		s.f = f
		if validEnd < s.size {
			if err := f.Truncate(validEnd); err != nil {
				return fail(err)
			}
			l.bytes -= s.size - validEnd
			s.size = validEnd
			s.dirty = true
		}
		l.cur = s
	}

	var out []Record
	for _, r := range recs {
		if _, ok := l.find(r.ID).live[r.ID]; ok {
			out = append(out, r)
		}
	}
	for _, s := range l.segs {
		l.live += len(s.live)
	}
	l.deletePrefix()
	l.syncDir()

	if o.SyncInterval > 0 {
		l.stop = make(chan struct{})
		l.done = make(chan struct{})
		go l.syncLoop(o.SyncInterval)
	}
	return l, out, rep, nil
}

// checkHeader returns the size of the file at path and whether it starts
// with a valid header.
func checkHeader(path string) (int64, bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, false, err
	}
	var hdr [headerSize]byte
	if _, err := io.ReadFull(f, hdr[:]); err != nil {
		return fi.Size(), false, readErr(err)
	}
	return fi.Size(), string(hdr[:4]) == magic && binary.LittleEndian.Uint32(hdr[4:]) == version, nil
}

// replay reads segment s, whose header is valid, applying its frames to the
// segments replayed before it and to itself. It returns the offset of the
// first bad frame, or the file's size.
func (l *Log) replay(s *segment, limit uint64, lastID *uint64, recs *[]Record, rep *Report) (int64, error) {
	f, err := os.Open(s.path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	s.size = fi.Size()
	if s.size < headerSize {
		return s.size, nil // it shrank
	}
	r := bufio.NewReaderSize(f, 64<<10)
	if _, err := r.Discard(headerSize); err != nil {
		if err = readErr(err); err != nil {
			return 0, err
		}
		return s.size, nil
	}
	// The segment's own live map is reachable through find from here on, as
	// its tombstones may kill its own records.
	l.segs = append(l.segs, s)
	defer func() { l.segs = l.segs[:len(l.segs)-1] }()

	off := int64(headerSize)
	var fh [frameHeaderSize]byte
	var tomb []byte
	for {
		rem := s.size - off
		if rem < frameHeaderSize {
			return off, nil // rem > 0 is a truncated frame
		}
		if _, err := io.ReadFull(r, fh[:]); err != nil {
			if err = readErr(err); err != nil {
				return 0, err
			}
			return off, nil
		}
		n := binary.LittleEndian.Uint32(fh[0:4])
		if n > MaxData || int64(n) > rem-frameHeaderSize {
			return off, nil
		}
		kind := fh[8]
		id := binary.LittleEndian.Uint64(fh[9:17])
		if kind == 0 && n%8 != 0 {
			return off, nil
		}
		var data []byte
		if kind == 0 {
			if cap(tomb) < int(n) {
				tomb = make([]byte, n)
			}
			data = tomb[:n]
		} else {
			data = make([]byte, n)
		}
		if _, err := io.ReadFull(r, data); err != nil {
			if err = readErr(err); err != nil {
				return 0, err
			}
			return off, nil
		}
		crc := crc32.Update(crc32.Checksum(fh[8:], castagnoli), castagnoli, data)
		if crc != binary.LittleEndian.Uint32(fh[4:8]) {
			return off, nil
		}
		if id <= *lastID || id < s.first || id >= limit {
			return off, nil
		}
		*lastID = id
		off += frameHeaderSize + int64(n)
		if kind != 0 {
			s.live[id] = kind
			*recs = append(*recs, Record{ID: id, Kind: kind, Data: data})
			rep.Records++
			continue
		}
		for i := 0; i < len(data); i += 8 {
			dead := binary.LittleEndian.Uint64(data[i:])
			if t := l.find(dead); t != nil {
				if _, ok := t.live[dead]; ok {
					delete(t.live, dead)
					rep.Released++
				}
			}
		}
	}
}

// readErr is nil for the errors of a file shorter than it was a moment ago
// (treated as a truncated frame) and err otherwise.
func readErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil
	}
	return err
}

// isHeaderPrefix reports whether the n bytes of the file at path are the
// start of a header, as left by a segment creation cut short.
func isHeaderPrefix(path string, n int64) bool {
	b, err := os.ReadFile(path)
	if err != nil || int64(len(b)) != n {
		return false
	}
	var hdr [headerSize]byte
	copy(hdr[:], magic)
	binary.LittleEndian.PutUint32(hdr[4:], version)
	return string(b) == string(hdr[:len(b)])
}

func (l *Log) setAside(name string, rep *Report) error {
	to := name + ".bad-" + strconv.FormatInt(time.Now().UnixNano(), 10)
	if err := os.Rename(filepath.Join(l.dir, name), filepath.Join(l.dir, to)); err != nil {
		return err
	}
	rep.SetAside = append(rep.SetAside, to)
	l.dirDirty = true
	return nil
}

func segName(first uint64) string {
	return fmt.Sprintf("%0*d%s", nameDigits, first, segSuffix)
}

func parseName(name string) (uint64, bool) {
	digits := strings.TrimSuffix(name, segSuffix)
	if len(digits) != nameDigits {
		return 0, false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, false
		}
	}
	first, err := strconv.ParseUint(digits, 10, 64)
	return first, err == nil
}

// find returns the segment that holds id, if it is still on disk.
func (l *Log) find(id uint64) *segment {
	i := sort.Search(len(l.segs), func(i int) bool { return l.segs[i].first > id }) - 1
	if i < 0 {
		return nil
	}
	return l.segs[i]
}

// addSegment creates a segment for the next id and makes it the newest. The
// caller holds mu (or is Open) and has closed the previous newest segment.
func (l *Log) addSegment() error {
	path := filepath.Join(l.dir, segName(l.nextID))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	var hdr [headerSize]byte
	copy(hdr[:], magic)
	binary.LittleEndian.PutUint32(hdr[4:], version)
	if _, err := f.Write(hdr[:]); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	s := &segment{first: l.nextID, path: path, size: headerSize, live: map[uint64]uint8{}, f: f, dirty: true}
	l.segs = append(l.segs, s)
	l.cur = s
	l.bytes += headerSize
	l.dirDirty = true
	return nil
}

// roll closes the newest segment and starts a new one. The caller holds mu.
func (l *Log) roll() error {
	old := l.cur
	// The new file is created before the old one is closed, so a failure
	// leaves the log as it was.
	f := old.f
	if err := l.addSegment(); err != nil {
		l.cur = old
		return fmt.Errorf("journal: %w", err)
	}
	l.mustRoll = false
	// A sync running without mu may still use f: the close is then deferred
	// by package os until that sync's fsync returns, or makes it fail with
	// os.ErrClosed, and sync falls back on the path.
	f.Close()
	old.f = nil
	if old.dirty || old.syncing {
		l.unsynced = append(l.unsynced, old.path)
	}
	old.dirty = false
	l.deletePrefix()
	return nil
}

// write appends one frame to the newest segment, rolling first when it is
// full, and returns its id. The caller holds mu.
func (l *Log) write(kind uint8, data []byte) (uint64, error) {
	n := int64(frameHeaderSize + len(data))
	if l.mustRoll || (l.cur.size > headerSize && l.cur.size+n > l.opts.SegmentBytes) {
		if err := l.roll(); err != nil {
			return 0, err
		}
	}
	id := l.nextID
	// The id is used up even when the write fails: the frame may be on disk.
	l.nextID++
	var fh [frameHeaderSize]byte
	binary.LittleEndian.PutUint32(fh[0:4], uint32(len(data)))
	fh[8] = kind
	binary.LittleEndian.PutUint64(fh[9:17], id)
	crc := crc32.Update(crc32.Checksum(fh[8:], castagnoli), castagnoli, data)
	binary.LittleEndian.PutUint32(fh[4:8], crc)
	s := l.cur
	var err error
	if len(data) < bigData {
		l.buf = append(append(l.buf[:0], fh[:]...), data...)
		_, err = s.f.Write(l.buf)
	} else if _, err = s.f.Write(fh[:]); err == nil {
		_, err = s.f.Write(data)
	}
	if err != nil {
		// Cut a torn frame off, or leave it behind for good.
		if terr := s.f.Truncate(s.size); terr != nil {
			l.mustRoll = true
		}
		return 0, fmt.Errorf("journal: %w", err)
	}
	s.size += n
	s.dirty = true
	l.bytes += n
	return id, nil
}

// Append appends a record and returns its id, which is greater than every id
// the log has used, before this Open too. kind 0 is reserved for tombstones.
// data is not kept: it may be reused when Append returns. When the record
// is in a new segment, the oldest segments may be deleted (see Release and
// Options.MaxBytes).
func (l *Log) Append(kind uint8, data []byte) (uint64, error) {
	if kind == 0 {
		return 0, errors.New("journal: kind 0 is reserved")
	}
	if len(data) > MaxData {
		return 0, fmt.Errorf("journal: record of %d bytes, more than %d", len(data), MaxData)
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return 0, ErrClosed
	}
	id, err := l.write(kind, data)
	if err != nil {
		l.mu.Unlock()
		return 0, err
	}
	l.cur.live[id] = kind
	l.live++
	dropped := l.enforceMax()
	l.mu.Unlock()
	if len(dropped) > 0 && l.opts.OnDrop != nil {
		l.opts.OnDrop(dropped)
	}
	return id, nil
}

// Release frees the records ids: it appends a tombstone listing those still
// live and they are no longer live. Ids that are unknown, released or
// dropped are ignored. Segments are then deleted oldest-first while they
// hold no live record, the newest excepted. On an error, the ids of the
// tombstones written before it are released and the others are still live.
func (l *Log) Release(ids ...uint64) error {
	if len(ids) == 0 {
		return nil
	}
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	kill := sorted[:0]
	for _, id := range sorted {
		if s := l.find(id); s != nil {
			if _, ok := s.live[id]; ok {
				kill = append(kill, id)
			}
		}
	}
	var err error
	var data []byte
	for len(kill) > 0 {
		chunk := kill[:min(len(kill), maxTombstoneIDs)]
		kill = kill[len(chunk):]
		data = data[:0]
		for _, id := range chunk {
			data = binary.LittleEndian.AppendUint64(data, id)
		}
		if _, err = l.write(0, data); err != nil {
			break
		}
		for _, id := range chunk {
			delete(l.find(id).live, id)
		}
		l.live -= len(chunk)
	}
	l.deletePrefix()
	dropped := l.enforceMax()
	l.mu.Unlock()
	if len(dropped) > 0 && l.opts.OnDrop != nil {
		l.opts.OnDrop(dropped)
	}
	return err
}

// deletePrefix deletes the oldest segments while they hold no live record,
// the newest excepted. The caller holds mu.
func (l *Log) deletePrefix() {
	for n := 0; len(l.segs) > 1 && len(l.segs[0].live) == 0; n++ {
		if n > 0 {
			// The older deletion is made durable first, so a power loss
			// cannot keep a segment whose tombstones are gone.
			l.syncDir()
		}
		if !l.remove(l.segs[0]) {
			return
		}
	}
}

// enforceMax deletes the oldest segments while the files hold more than
// MaxBytes, and returns their live records. The caller holds mu.
func (l *Log) enforceMax() []Record {
	var dropped []Record
	for n := 0; l.bytes > l.opts.MaxBytes && len(l.segs) > 1; n++ {
		if n > 0 {
			l.syncDir()
		}
		s := l.segs[0]
		if !l.remove(s) {
			break
		}
		for id, kind := range s.live {
			dropped = append(dropped, Record{ID: id, Kind: kind})
		}
		l.live -= len(s.live)
	}
	if dropped != nil {
		l.deletePrefix()
		slices.SortFunc(dropped, func(a, b Record) int {
			switch {
			case a.ID < b.ID:
				return -1
			case a.ID > b.ID:
				return 1
			}
			return 0
		})
	}
	return dropped
}

// remove deletes the oldest segment s, which is not the newest. It reports
// false when the file could not be deleted; the segment is then kept and
// deleting it is tried again on the next occasion. The caller holds mu.
func (l *Log) remove(s *segment) bool {
	if err := os.Remove(s.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return false
	}
	l.segs[0] = nil
	l.segs = l.segs[1:]
	l.bytes -= s.size
	l.unsynced = slices.DeleteFunc(l.unsynced, func(p string) bool { return p == s.path })
	l.dirDirty = true
	return true
}

// syncDir fsyncs the directory, best effort. The caller holds mu or is Open.
func (l *Log) syncDir() {
	if l.dirf != nil && l.dirf.Sync() == nil {
		l.dirDirty = false
	}
}

// Sync fdatasyncs the segments written since the last sync, and the
// directory when segment files were created or deleted since, so the
// records appended and released before Sync was called survive a power
// loss. It holds the Log's lock only to see what to sync: Append and
// Release go on while it waits for the disk.
func (l *Log) Sync() error {
	l.mu.Lock()
	closed := l.closed
	l.mu.Unlock()
	if closed {
		return ErrClosed
	}
	return l.sync()
}

func (l *Log) sync() error {
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	l.mu.Lock()
	s := l.cur
	var f *os.File
	if s.dirty && s.f != nil {
		f = s.f
		s.dirty = false
		s.syncing = true
	}
	paths := l.unsynced
	l.unsynced = nil
	dirf := l.dirf
	dirDirty := l.dirDirty
	l.dirDirty = false
	l.mu.Unlock()

	var errs []error
	var failed []string
	for _, p := range paths {
		if err := syncPath(p); err != nil {
			errs = append(errs, err)
			failed = append(failed, p)
		}
	}
	var ferr error
	if f != nil {
		if ferr = f.Sync(); errors.Is(ferr, os.ErrClosed) {
			ferr = syncPath(s.path) // rolled meanwhile
		}
		if ferr != nil {
			errs = append(errs, ferr)
		}
	}
	if dirDirty && dirf != nil {
		dirDirty = dirf.Sync() != nil // best effort, tried again next time
	}

	l.mu.Lock()
	s.syncing = false
	if ferr != nil {
		if s.f != nil {
			s.dirty = true
		} else {
			l.unsynced = append(l.unsynced, s.path)
		}
	}
	l.unsynced = append(l.unsynced, failed...)
	l.dirDirty = l.dirDirty || dirDirty
	l.mu.Unlock()
	if len(errs) > 0 {
		return fmt.Errorf("journal: sync: %w", errors.Join(errs...))
	}
	return nil
}

// syncPath fsyncs the file at path through a new descriptor (fsync flushes
// the file, whichever descriptor it is called on). A deleted file needs
// none.
func syncPath(path string) error {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func (l *Log) syncLoop(every time.Duration) {
	defer close(l.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			// A failed sync leaves the files marked, to be tried again on
			// the next tick; Sync and Close report errors.
			l.sync()
		}
	}
}

// Close stops the background sync, syncs and closes the files. Append,
// Release and Sync then return ErrClosed; Close again does nothing.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	if l.stop != nil {
		close(l.stop)
		<-l.done
	}
	err := l.sync()
	l.mu.Lock()
	defer l.mu.Unlock()
	if f := l.cur.f; f != nil {
		l.cur.f = nil
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("journal: %w", cerr)
		}
	}
	if l.dirf != nil {
		l.dirf.Close()
		l.dirf = nil
	}
	return err
}

// Bytes returns the size of all segment files together.
func (l *Log) Bytes() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.bytes
}

// Live returns the number of live records: appended or replayed, and
// neither released nor dropped.
func (l *Log) Live() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.live
}
