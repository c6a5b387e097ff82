package journal

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func open(t testing.TB, dir string, o Options) (*Log, []Record, Report) {
	t.Helper()
	l, recs, rep, err := Open(dir, o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return l, recs, rep
}

func appendRec(t testing.TB, l *Log, kind uint8, data []byte) uint64 {
	t.Helper()
	id, err := l.Append(kind, data)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return id
}

func closeLog(t testing.TB, l *Log) {
	t.Helper()
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// segFiles returns the first ids of the segment files in dir, in order.
func segFiles(t testing.TB, dir string) []uint64 {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.seg"))
	if err != nil {
		t.Fatal(err)
	}
	var ids []uint64
	for _, n := range names {
		id, ok := parseName(filepath.Base(n))
		if !ok {
			t.Fatalf("segment file %s", n)
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func diskBytes(t testing.TB, dir string) int64 {
	t.Helper()
	names, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	var n int64
	for _, name := range names {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		n += fi.Size()
	}
	return n
}

func payload(id int) []byte {
	return []byte(strings.Repeat(fmt.Sprintf("record %d;", id), id%7))
}

func sameRecords(t testing.TB, got, want []Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.ID != w.ID || g.Kind != w.Kind || !bytes.Equal(g.Data, w.Data) {
			t.Fatalf("record %d = {%d %d %q}, want {%d %d %q}", i, g.ID, g.Kind, g.Data, w.ID, w.Kind, w.Data)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "dir")
	l, recs, rep := open(t, dir, Options{SegmentBytes: 512})
	if len(recs) != 0 || rep.Segments != 0 || rep.CorruptBytes != 0 {
		t.Fatalf("fresh log: %d records, report %+v", len(recs), rep)
	}
	var want []Record
	buf := make([]byte, 0, 64)
	var last uint64
	for i := 0; i < 100; i++ {
		buf = append(buf[:0], payload(i)...)
		kind := uint8(1 + i%3)
		id := appendRec(t, l, kind, buf)
		if id <= last {
			t.Fatalf("id %d after %d", id, last)
		}
		last = id
		want = append(want, Record{ID: id, Kind: kind, Data: slices.Clone(buf)})
		clear(buf[:cap(buf)]) // Append keeps nothing of data
	}
	if l.Live() != 100 {
		t.Fatalf("Live = %d, want 100", l.Live())
	}
	if b, d := l.Bytes(), diskBytes(t, dir); b != d {
		t.Fatalf("Bytes = %d, files hold %d", b, d)
	}
	if _, err := l.Append(0, nil); err == nil {
		t.Fatal("Append of kind 0 succeeded")
	}
	closeLog(t, l)

	l, recs, rep = open(t, dir, Options{SegmentBytes: 512})
	sameRecords(t, recs, want)
	if rep.Records != 100 || rep.Released != 0 || rep.CorruptBytes != 0 || rep.Segments < 2 || len(rep.SetAside) != 0 {
		t.Fatalf("report %+v", rep)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o755 {
		t.Fatalf("dir: %v %v", fi.Mode(), err)
	}
	if fi, err := os.Stat(filepath.Join(dir, segName(1))); err != nil || fi.Mode().Perm() != 0o644 {
		t.Fatalf("segment: %v %v", fi.Mode(), err)
	}
	id := appendRec(t, l, 9, []byte("after"))
	if id != last+1 {
		t.Fatalf("id after reopen = %d, want %d", id, last+1)
	}
	want = append(want, Record{ID: id, Kind: 9, Data: []byte("after")})
	closeLog(t, l)

	l, recs, _ = open(t, dir, Options{SegmentBytes: 512})
	sameRecords(t, recs, want)
	if id2 := appendRec(t, l, 1, nil); id2 <= id {
		t.Fatalf("id %d after %d", id2, id)
	}
	closeLog(t, l)
}

func TestIDsIncreasePastReleased(t *testing.T) {
	dir := t.TempDir()
	l, _, _ := open(t, dir, Options{})
	a := appendRec(t, l, 1, []byte("a"))
	b := appendRec(t, l, 1, []byte("b"))
	if err := l.Release(a, b); err != nil {
		t.Fatal(err)
	}
	closeLog(t, l)
	l, recs, rep := open(t, dir, Options{})
	if len(recs) != 0 || rep.Records != 2 || rep.Released != 2 {
		t.Fatalf("%d records, report %+v", len(recs), rep)
	}
	// b+1 is the tombstone's.
	if id := appendRec(t, l, 1, nil); id != b+2 {
		t.Fatalf("id = %d, want %d", id, b+2)
	}
	closeLog(t, l)
}

// With SegmentBytes 1 every frame, tombstones too, is a segment of its own,
// named after its id.
func TestReleaseDeletesOldestFirst(t *testing.T) {
	dir := t.TempDir()
	o := Options{SegmentBytes: 1}
	l, _, _ := open(t, dir, o)
	for i := 1; i <= 5; i++ {
		if id := appendRec(t, l, 1, []byte{byte(i)}); id != uint64(i) {
			t.Fatalf("id %d, want %d", id, i)
		}
	}
	check := func(step string, want ...uint64) {
		t.Helper()
		if got := segFiles(t, dir); !slices.Equal(got, want) {
			t.Fatalf("%s: segments %v, want %v", step, got, want)
		}
		if b, d := l.Bytes(), diskBytes(t, dir); b != d {
			t.Fatalf("%s: Bytes = %d, files hold %d", step, b, d)
		}
	}
	check("appended", 1, 2, 3, 4, 5)
	if err := l.Release(3, 3, 42); err != nil { // tombstone 6
		t.Fatal(err)
	}
	check("released 3", 1, 2, 3, 4, 5, 6)
	if err := l.Release(1); err != nil { // tombstone 7
		t.Fatal(err)
	}
	check("released 1", 2, 3, 4, 5, 6, 7)
	if err := l.Release(1); err != nil { // already released: no tombstone
		t.Fatal(err)
	}
	check("released 1 again", 2, 3, 4, 5, 6, 7)
	if err := l.Release(2); err != nil { // tombstone 8
		t.Fatal(err)
	}
	check("released 2", 4, 5, 6, 7, 8)
	if l.Live() != 2 {
		t.Fatalf("Live = %d, want 2", l.Live())
	}
	closeLog(t, l)

	l, recs, rep := open(t, dir, o)
	sameRecords(t, recs, []Record{{4, 1, []byte{4}}, {5, 1, []byte{5}}})
	if rep.Segments != 5 || rep.Records != 2 || rep.Released != 0 {
		t.Fatalf("report %+v", rep)
	}
	if err := l.Release(5, 4); err != nil { // tombstone 9
		t.Fatal(err)
	}
	check("released all", 9)
	closeLog(t, l)

	l, recs, _ = open(t, dir, o)
	if len(recs) != 0 || l.Live() != 0 {
		t.Fatalf("%d records, %d live after releasing all", len(recs), l.Live())
	}
	if id := appendRec(t, l, 1, nil); id != 10 {
		t.Fatalf("id = %d, want 10", id)
	}
	closeLog(t, l)
}

// Segment 1 holds a live and a released record, segment 2 a live one and
// segment 3 the tombstone and another live record: the released record stays
// released whatever is deleted.
func TestReleasedNeverComesBack(t *testing.T) {
	dir := t.TempDir()
	frame, tomb := int64(frameHeaderSize+4), int64(frameHeaderSize+8)
	o := Options{SegmentBytes: headerSize + frame + tomb}
	l, _, _ := open(t, dir, o)
	a1 := appendRec(t, l, 1, []byte("a1.."))
	a2 := appendRec(t, l, 1, []byte("a2.."))
	b1 := appendRec(t, l, 1, []byte("b1.."))
	if err := l.Release(a2); err != nil { // tombstone in segment 2, after b1
		t.Fatal(err)
	}
	c1 := appendRec(t, l, 1, []byte("c1.."))
	if got := segFiles(t, dir); !slices.Equal(got, []uint64{a1, b1, c1}) {
		t.Fatalf("segments %v, want %v", got, []uint64{a1, b1, c1})
	}
	closeLog(t, l)

	l, recs, rep := open(t, dir, o)
	sameRecords(t, recs, []Record{{a1, 1, []byte("a1..")}, {b1, 1, []byte("b1..")}, {c1, 1, []byte("c1..")}})
	if rep.Released != 1 {
		t.Fatalf("report %+v", rep)
	}
	// b1 released (tombstone in segment 3): its segment, holding the
	// tombstone of a2, is kept as segment 1 still holds a1.
	if err := l.Release(b1); err != nil {
		t.Fatal(err)
	}
	closeLog(t, l)
	l, recs, _ = open(t, dir, o)
	sameRecords(t, recs, []Record{{a1, 1, []byte("a1..")}, {c1, 1, []byte("c1..")}})
	if got := segFiles(t, dir); !slices.Equal(got, []uint64{a1, b1, c1}) {
		t.Fatalf("segments %v, want %v", got, []uint64{a1, b1, c1})
	}
	if err := l.Release(a1); err != nil {
		t.Fatal(err)
	}
	if got := segFiles(t, dir); got[0] != c1 {
		t.Fatalf("segments %v, want from %d", got, c1)
	}
	closeLog(t, l)
	l, recs, _ = open(t, dir, o)
	sameRecords(t, recs, []Record{{c1, 1, []byte("c1..")}})
	closeLog(t, l)
}

// model is what the log should hold: the live ids and their data.
type model map[uint64][]byte

func (m model) check(t testing.TB, recs []Record) {
	t.Helper()
	if len(recs) != len(m) {
		t.Fatalf("reopened %d records, want %d", len(recs), len(m))
	}
	for i, r := range recs {
		if i > 0 && recs[i-1].ID >= r.ID {
			t.Fatalf("ids out of order: %d then %d", recs[i-1].ID, r.ID)
		}
		d, ok := m[r.ID]
		if !ok {
			t.Fatalf("record %d is back", r.ID)
		}
		if !bytes.Equal(d, r.Data) {
			t.Fatalf("record %d: %q, want %q", r.ID, r.Data, d)
		}
	}
}

// checkDisk verifies that the oldest segment holds a live record unless it
// is the only one, and that no live record is older than it.
func (m model) checkDisk(t testing.TB, dir string) {
	t.Helper()
	segs := segFiles(t, dir)
	if len(segs) == 0 {
		t.Fatal("no segment files")
	}
	oldestLive := false
	for id := range m {
		if id < segs[0] {
			t.Fatalf("live record %d older than the oldest segment %d", id, segs[0])
		}
		if len(segs) > 1 && id < segs[1] {
			oldestLive = true
		}
	}
	if len(segs) > 1 && !oldestLive {
		t.Fatalf("oldest segment %d of %v holds no live record", segs[0], segs)
	}
}

func TestRandomReleaseReopen(t *testing.T) {
	dir := t.TempDir()
	o := Options{SegmentBytes: 200}
	rng := rand.New(rand.NewPCG(1, 2))
	m := model{}
	l, _, _ := open(t, dir, o)
	for round := 0; round < 30; round++ {
		for op := 0; op < 40; op++ {
			if len(m) == 0 || rng.IntN(3) > 0 {
				data := payload(rng.IntN(20))
				m[appendRec(t, l, 1+uint8(rng.IntN(5)), data)] = data
				continue
			}
			var ids []uint64
			for id := range m {
				if rng.IntN(3) == 0 {
					ids = append(ids, id)
					delete(m, id)
				}
			}
			if err := l.Release(ids...); err != nil {
				t.Fatal(err)
			}
			if l.Live() != len(m) {
				t.Fatalf("Live = %d, want %d", l.Live(), len(m))
			}
			m.checkDisk(t, dir)
		}
		if round%2 == 0 {
			closeLog(t, l)
		} // else dropped without Close, as when killed
		var recs []Record
		l, recs, _ = open(t, dir, o)
		m.check(t, recs)
		m.checkDisk(t, dir)
		if b, d := l.Bytes(), diskBytes(t, dir); b != d {
			t.Fatalf("Bytes = %d, files hold %d", b, d)
		}
	}
	closeLog(t, l)
}

// fill appends n records to a fresh log in dir and closes it.
func fill(t *testing.T, dir string, o Options, n int) []Record {
	t.Helper()
	l, _, _ := open(t, dir, o)
	var recs []Record
	for i := 0; i < n; i++ {
		data := []byte(fmt.Sprintf("record-%03d", i))
		recs = append(recs, Record{ID: appendRec(t, l, 1, data), Kind: 1, Data: data})
	}
	closeLog(t, l)
	return recs
}

// frameOffset returns the offset of the i-th frame of a segment of records
// of equal length n.
func frameOffset(i, n int) int64 {
	return int64(headerSize + i*(frameHeaderSize+n))
}

// corruptThenAppend reopens dir after damage and checks that want comes
// back with corrupt bytes reported, that appending goes on and that a second
// reopen is clean.
func corruptThenAppend(t *testing.T, dir string, want []Record, corrupt int64) {
	t.Helper()
	l, recs, rep := open(t, dir, Options{})
	sameRecords(t, recs, want)
	if rep.CorruptBytes != corrupt {
		t.Fatalf("CorruptBytes = %d, want %d", rep.CorruptBytes, corrupt)
	}
	id := appendRec(t, l, 2, []byte("after"))
	if len(want) > 0 && id <= want[len(want)-1].ID {
		t.Fatalf("id %d not after %d", id, want[len(want)-1].ID)
	}
	if b, d := l.Bytes(), diskBytes(t, dir); b != d {
		t.Fatalf("Bytes = %d, files hold %d", b, d)
	}
	closeLog(t, l)
	want = append(slices.Clone(want), Record{ID: id, Kind: 2, Data: []byte("after")})
	l, recs, rep = open(t, dir, Options{})
	sameRecords(t, recs, want)
	if rep.CorruptBytes != 0 {
		t.Fatalf("second reopen: CorruptBytes = %d", rep.CorruptBytes)
	}
	closeLog(t, l)
}

func TestCorruptNewestSegment(t *testing.T) {
	dir := t.TempDir()
	recs := fill(t, dir, Options{}, 10)
	path := filepath.Join(dir, segName(1))
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	at := frameOffset(5, 10)
	b[at+frameHeaderSize+3] ^= 0x10 // in the data of the sixth record
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	corruptThenAppend(t, dir, recs[:5], int64(len(b))-at)
}

func TestCorruptLengthNewestSegment(t *testing.T) {
	dir := t.TempDir()
	recs := fill(t, dir, Options{}, 10)
	path := filepath.Join(dir, segName(1))
	b, _ := os.ReadFile(path)
	at := frameOffset(3, 10)
	b[at+2] = 0xff // a length far past the end of the file
	os.WriteFile(path, b, 0o644)
	corruptThenAppend(t, dir, recs[:3], int64(len(b))-at)
}

func TestTruncatedLastFrame(t *testing.T) {
	dir := t.TempDir()
	recs := fill(t, dir, Options{}, 10)
	path := filepath.Join(dir, segName(1))
	half := int64(frameHeaderSize+10) / 2
	if err := os.Truncate(path, frameOffset(10, 10)-half); err != nil {
		t.Fatal(err)
	}
	corruptThenAppend(t, dir, recs[:9], int64(frameHeaderSize+10)-half)
}

func TestTruncatedFrameHeader(t *testing.T) {
	dir := t.TempDir()
	recs := fill(t, dir, Options{}, 4)
	path := filepath.Join(dir, segName(1))
	os.Truncate(path, frameOffset(3, 10)+5)
	corruptThenAppend(t, dir, recs[:3], 5)
}

func TestCorruptOlderSegment(t *testing.T) {
	dir := t.TempDir()
	frame := int64(frameHeaderSize + 10)
	o := Options{SegmentBytes: headerSize + 4*frame}
	recs := fill(t, dir, o, 12) // three segments of four
	if got := segFiles(t, dir); !slices.Equal(got, []uint64{1, 5, 9}) {
		t.Fatalf("segments %v", got)
	}
	path := filepath.Join(dir, segName(1))
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	at := frameOffset(1, 10)
	f.WriteAt([]byte("garbage!"), at+4)
	f.Close()
	want := append(slices.Clone(recs[:1]), recs[4:]...)
	for pass := 0; pass < 2; pass++ {
		l, got, rep := open(t, dir, o)
		sameRecords(t, got, want)
		if rep.CorruptBytes != 3*frame || rep.Segments != 3+pass {
			t.Fatalf("pass %d: report %+v, want %d corrupt bytes", pass, rep, 3*frame)
		}
		if fi, err := os.Stat(path); err != nil || fi.Size() != headerSize+4*frame {
			t.Fatalf("older segment changed: %v %v", fi, err)
		}
		if pass == 0 {
			want = append(want, Record{ID: appendRec(t, l, 1, []byte("after")), Kind: 1, Data: []byte("after")})
			if got := segFiles(t, dir); !slices.Equal(got, []uint64{1, 5, 9, 13}) {
				t.Fatalf("segments %v after append", got)
			}
		}
		closeLog(t, l)
	}
	// Releasing the valid prefix of the damaged segment deletes it.
	l, _, _ := open(t, dir, o)
	if err := l.Release(recs[0].ID); err != nil {
		t.Fatal(err)
	}
	if got := segFiles(t, dir); got[0] != 5 {
		t.Fatalf("segments %v", got)
	}
	closeLog(t, l)
}

func TestBadFilesSetAside(t *testing.T) {
	dir := t.TempDir()
	recs := fill(t, dir, Options{}, 3)
	hdr := func(m string, v byte) []byte { return append([]byte(m), v, 0, 0, 0) }
	bad := map[string][]byte{
		segName(100):   append(hdr("XXXX", 1), make([]byte, 40)...),
		segName(2):     hdr("MBJK", 1), // must not cut segment 1 short
		segName(200):   append(hdr(magic, 2), make([]byte, 40)...),
		"junk.seg":     hdr(magic, 1),
		segName(300):   []byte("MBX"), // too short, not a header
		"notes.txt":    []byte("left alone"),
		segName(2)[1:]: hdr(magic, 1), // 19 digits
	}
	for name, b := range bad {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	l, got, rep := open(t, dir, Options{})
	sameRecords(t, got, recs)
	if len(rep.SetAside) != 6 || rep.Segments != 1 || rep.CorruptBytes != 0 {
		t.Fatalf("report %+v", rep)
	}
	for _, name := range rep.SetAside {
		orig, _, ok := strings.Cut(name, ".bad-")
		if !ok || bad[orig] == nil {
			t.Fatalf("set aside %q", name)
		}
		if b, err := os.ReadFile(filepath.Join(dir, name)); err != nil || !bytes.Equal(b, bad[orig]) {
			t.Fatalf("%s: %q %v", name, b, err)
		}
		if _, err := os.Stat(filepath.Join(dir, orig)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s still there: %v", orig, err)
		}
	}
	// Ids are not reused, even those of a file that could not be read.
	if id := appendRec(t, l, 1, nil); id <= 300 {
		t.Fatalf("id %d after a set-aside segment 300", id)
	}
	closeLog(t, l)
	_, _, rep = open(t, dir, Options{})
	if len(rep.SetAside) != 0 {
		t.Fatalf("second open set aside %v", rep.SetAside)
	}
	if _, err := os.Stat(filepath.Join(dir, "notes.txt")); err != nil {
		t.Fatal(err)
	}
}

func TestEmptySegmentFile(t *testing.T) {
	dir := t.TempDir()
	// Alone in the directory.
	os.WriteFile(filepath.Join(dir, segName(7)), nil, 0o644)
	l, recs, rep := open(t, dir, Options{})
	if len(recs) != 0 || len(rep.SetAside) != 0 || rep.Segments != 0 {
		t.Fatalf("%d records, report %+v", len(recs), rep)
	}
	if id := appendRec(t, l, 1, []byte("x")); id < 7 {
		t.Fatalf("id %d", id)
	}
	closeLog(t, l)

	// After a segment, as when its creation was cut short; then half a header.
	dir = t.TempDir()
	want := fill(t, dir, Options{}, 3)
	for _, tc := range []struct {
		first uint64
		b     []byte
	}{{100, nil}, {200, []byte("MBJL\x01")}} {
		os.WriteFile(filepath.Join(dir, segName(tc.first)), tc.b, 0o644)
		l, recs, rep := open(t, dir, Options{})
		sameRecords(t, recs, want)
		if rep.CorruptBytes != int64(len(tc.b)) || len(rep.SetAside) != 0 {
			t.Fatalf("report %+v", rep)
		}
		if _, err := os.Stat(filepath.Join(dir, segName(tc.first))); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("short file kept: %v", err)
		}
		id := appendRec(t, l, 1, []byte("y"))
		if id < tc.first {
			t.Fatalf("id %d before %d", id, tc.first)
		}
		want = append(want, Record{ID: id, Kind: 1, Data: []byte("y")})
		closeLog(t, l)
	}
}

func TestMaxBytesDrops(t *testing.T) {
	dir := t.TempDir()
	var dropped []Record
	var l *Log
	o := Options{
		SegmentBytes: 300,
		MaxBytes:     1000,
		OnDrop: func(d []Record) {
			// No lock is held: calling back must not deadlock.
			_ = l.Live()
			_ = l.Bytes()
			dropped = append(dropped, d...)
		},
	}
	l, _, _ = open(t, dir, o)
	m := model{}
	kinds := map[uint64]uint8{}
	released := map[uint64]bool{}
	for i := 0; i < 200; i++ {
		data := []byte(fmt.Sprintf("%050d", i))
		kind := uint8(1 + i%4)
		id := appendRec(t, l, kind, data)
		m[id] = data
		kinds[id] = kind
		if i%3 == 0 {
			if err := l.Release(id); err != nil {
				t.Fatal(err)
			}
			delete(m, id)
			released[id] = true
		}
		for _, d := range dropped {
			delete(m, d.ID)
		}
		if l.Live() != len(m) {
			t.Fatalf("append %d: Live = %d, want %d", i, l.Live(), len(m))
		}
		if b, d := l.Bytes(), diskBytes(t, dir); b != d || b > o.MaxBytes+o.SegmentBytes {
			t.Fatalf("append %d: Bytes = %d, files hold %d, bound %d", i, b, d, o.MaxBytes)
		}
	}
	if len(dropped) == 0 {
		t.Fatal("nothing dropped")
	}
	for i, d := range dropped {
		if i > 0 && dropped[i-1].ID >= d.ID {
			t.Fatalf("dropped out of order or twice: %d then %d", dropped[i-1].ID, d.ID)
		}
		if released[d.ID] {
			t.Fatalf("released record %d dropped", d.ID)
		}
		if kinds[d.ID] != d.Kind || d.Data != nil {
			t.Fatalf("dropped %+v, kind %d", d, kinds[d.ID])
		}
	}
	closeLog(t, l)
	l, recs, _ := open(t, dir, Options{SegmentBytes: 300, MaxBytes: 1000})
	m.check(t, recs)
	closeLog(t, l)
}

func TestConcurrent(t *testing.T) {
	dir := t.TempDir()
	o := Options{SegmentBytes: 4096, SyncInterval: time.Millisecond}
	l, _, _ := open(t, dir, o)
	const workers, each = 8, 400
	var mu sync.Mutex
	m := model{}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			var mine []uint64
			for i := 0; i < each; i++ {
				data := []byte(fmt.Sprintf("w%d-%d", w, i))
				id, err := l.Append(uint8(1+w), data)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				m[id] = data
				mu.Unlock()
				mine = append(mine, id)
				if rng.IntN(4) == 0 {
					rng.Shuffle(len(mine), func(i, j int) { mine[i], mine[j] = mine[j], mine[i] })
					n := rng.IntN(len(mine) + 1)
					if err := l.Release(mine[:n]...); err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					for _, id := range mine[:n] {
						delete(m, id)
					}
					mu.Unlock()
					mine = slices.Delete(mine, 0, n)
				}
			}
		}()
	}
	stop := make(chan struct{})
	syncDone := make(chan struct{})
	go func() {
		defer close(syncDone)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := l.Sync(); err != nil {
				t.Error(err)
				return
			}
			l.Bytes()
			l.Live()
		}
	}()
	wg.Wait()
	close(stop)
	<-syncDone
	if l.Live() != len(m) {
		t.Fatalf("Live = %d, want %d", l.Live(), len(m))
	}
	closeLog(t, l)
	if _, err := l.Append(1, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close: %v", err)
	}
	if err := l.Release(1); !errors.Is(err, ErrClosed) {
		t.Fatalf("Release after Close: %v", err)
	}
	if err := l.Sync(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Sync after Close: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	l, recs, _ := open(t, dir, o)
	m.check(t, recs)
	m.checkDisk(t, dir)
	closeLog(t, l)
}

func TestReopenWithoutClose(t *testing.T) {
	dir := t.TempDir()
	l1, _, _ := open(t, dir, Options{SegmentBytes: 256})
	var want []Record
	for i := 0; i < 50; i++ {
		data := payload(i)
		want = append(want, Record{ID: appendRec(t, l1, 3, data), Kind: 3, Data: data})
	}
	l1.Release(want[10].ID)
	want = slices.Delete(want, 10, 11)
	// l1 is dropped without Close.
	l2, recs, _ := open(t, dir, Options{SegmentBytes: 256})
	sameRecords(t, recs, want)
	closeLog(t, l2)
}

const killEnv = "JOURNAL_TEST_KILL_DIR"

func TestKilledProcess(t *testing.T) {
	const n = 1000
	if dir := os.Getenv(killEnv); dir != "" {
		// The helper: append n records and die without closing.
		l, _, _ := open(t, dir, Options{SegmentBytes: 8 << 10, SyncInterval: time.Hour})
		for i := 0; i < n; i++ {
			appendRec(t, l, 1, []byte(fmt.Sprintf("visit %d", i)))
		}
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), killEnv+"="+dir)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	l, recs, rep := open(t, dir, Options{})
	if len(recs) != n || rep.CorruptBytes != 0 {
		t.Fatalf("%d records after the kill, want %d; report %+v", len(recs), n, rep)
	}
	for i, r := range recs {
		if r.ID != uint64(i+1) || string(r.Data) != fmt.Sprintf("visit %d", i) {
			t.Fatalf("record %d = {%d %q}", i, r.ID, r.Data)
		}
	}
	closeLog(t, l)
}

func TestSyncAfterRoll(t *testing.T) {
	dir := t.TempDir()
	l, _, _ := open(t, dir, Options{SegmentBytes: 64})
	for i := 0; i < 21; i++ { // two records a segment
		appendRec(t, l, 1, []byte("0123456789"))
		if i%3 == 0 {
			if err := l.Sync(); err != nil {
				t.Fatal(err)
			}
		}
	}
	l.mu.Lock()
	unsynced := len(l.unsynced)
	l.mu.Unlock()
	if unsynced == 0 {
		t.Fatal("rolled segments not waiting for a sync")
	}
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	l.mu.Lock()
	unsynced, dirty, dirDirty := len(l.unsynced), l.cur.dirty, l.dirDirty
	l.mu.Unlock()
	if unsynced != 0 || dirty || dirDirty {
		t.Fatalf("after Sync: %d unsynced, dirty %v, dir dirty %v", unsynced, dirty, dirDirty)
	}
	closeLog(t, l)
}

func TestReleaseLargeTombstone(t *testing.T) {
	dir := t.TempDir()
	l, _, _ := open(t, dir, Options{})
	const n = maxTombstoneIDs + 10
	ids := make([]uint64, 0, n)
	for i := 0; i < n; i++ {
		ids = append(ids, appendRec(t, l, 1, nil))
	}
	keep := ids[n/2]
	ids = slices.Delete(ids, n/2, n/2+1)
	sort.Slice(ids, func(i, j int) bool { return ids[i] > ids[j] })
	if err := l.Release(ids...); err != nil {
		t.Fatal(err)
	}
	closeLog(t, l)
	l, recs, _ := open(t, dir, Options{})
	if len(recs) != 1 || recs[0].ID != keep {
		t.Fatalf("%d records, want only %d", len(recs), keep)
	}
	closeLog(t, l)
}

func BenchmarkAppend(b *testing.B) {
	data := make([]byte, 256)
	for _, bc := range []struct {
		name string
		sync bool
	}{{"nosync", false}, {"concurrent-sync", true}} {
		b.Run(bc.name, func(b *testing.B) {
			l, _, _ := open(b, b.TempDir(), Options{})
			stop := make(chan struct{})
			done := make(chan struct{})
			var syncs int
			go func() {
				defer close(done)
				for bc.sync {
					select {
					case <-stop:
						return
					default:
					}
					l.Sync()
					syncs++
				}
			}()
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := l.Append(1, data); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			close(stop)
			<-done
			b.ReportMetric(float64(syncs), "syncs")
			l.Close()
		})
	}
}

func TestLargeRecord(t *testing.T) {
	dir := t.TempDir()
	l, _, _ := open(t, dir, Options{SegmentBytes: 1 << 20})
	big := bytes.Repeat([]byte("0123456789abcdef"), (3<<20)/16) // written in two parts
	a := appendRec(t, l, 1, []byte("small"))
	b := appendRec(t, l, 2, big)
	c := appendRec(t, l, 3, []byte("after"))
	if _, err := l.Append(1, make([]byte, MaxData+1)); err == nil {
		t.Fatal("Append of more than MaxData succeeded")
	}
	if got := segFiles(t, dir); !slices.Equal(got, []uint64{a, b, c}) {
		t.Fatalf("segments %v, want %v", got, []uint64{a, b, c})
	}
	closeLog(t, l)
	l, recs, _ := open(t, dir, Options{SegmentBytes: 1 << 20})
	sameRecords(t, recs, []Record{{a, 1, []byte("small")}, {b, 2, big}, {c, 3, []byte("after")}})
	closeLog(t, l)
}
