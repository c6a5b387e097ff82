package visitlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// visit i of a test: distinct dims, varied code, minute and referrer.
type visit struct {
	code   string
	minute int64
	dims   uint32
	ref    string
}

func visitN(i int) visit {
	return visit{code: fmt.Sprintf("c%d", i%7), minute: int64(i) * 60, dims: uint32(i), ref: fmt.Sprintf("r%d.example.com", i%5)}
}

func record(t testing.TB, l *Log, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		v := visitN(i)
		if !l.Record(uint64(i), v.code, v.minute, v.dims, []byte(v.ref)) {
			t.Fatalf("record %d dropped", i)
		}
	}
}

// drainAll drains l, checks every visit against visitN and returns the
// dims seen, in order.
func drainAll(t testing.TB, l *Log) []uint32 {
	t.Helper()
	var got []uint32
	l.Drain(func(code []byte, minute int64, dims uint32, ref []byte) {
		if want := visitN(int(dims)); string(code) != want.code || minute != want.minute || string(ref) != want.ref {
			t.Errorf("visit %d: %q %d %q, want %+v", dims, code, minute, ref, want)
		}
		got = append(got, dims)
	})
	return got
}

// wantDims checks that got holds exactly the dims of want, each once.
func wantDims(t *testing.T, got []uint32, want ...uint32) {
	t.Helper()
	seen := map[uint32]int{}
	for _, d := range got {
		seen[d]++
	}
	for _, d := range want {
		if seen[d] != 1 {
			t.Errorf("visit %d drained %d times, want once", d, seen[d])
		}
		delete(seen, d)
	}
	for d, n := range seen {
		t.Errorf("visit %d drained %d times, want never", d, n)
	}
}

func span(from, to int) []uint32 {
	var s []uint32
	for i := from; i < to; i++ {
		s = append(s, uint32(i))
	}
	return s
}

// TestJournalChild is the process the crash tests kill: it opens the journal
// of $VISITLOG_CHILD ("path stripes size"), records $VISITLOG_RECORD visits,
// drains and commits as $VISITLOG_COMMIT says ("all", or a position of
// stripe 0), prints what it saw and sends itself SIGKILL.
func TestJournalChild(t *testing.T) {
	arg := os.Getenv("VISITLOG_CHILD")
	if arg == "" {
		t.Skip("only run by the crash tests")
	}
	var path string
	var stripes, size int
	fmt.Sscan(arg, &path, &stripes, &size)
	l, rep, err := Open(path, stripes, size)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(3)
	}
	n, _ := strconv.Atoi(os.Getenv("VISITLOG_RECORD"))
	record(t, l, 0, n)
	drained := 0
	switch c := os.Getenv("VISITLOG_COMMIT"); c {
	case "":
	case "all":
		drained = len(drainAll(t, l))
		l.Commit(l.Drained())
	default:
		drained = len(drainAll(t, l))
		k, _ := strconv.ParseUint(c, 10, 64)
		l.Commit(Mark{k})
	}
	fmt.Printf("resumed=%d corrupt=%d holes=%d drained=%d\n", rep.Resumed, rep.Corrupt, rep.Holes, drained)
	syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {}
}

// crash runs TestJournalChild and returns its line of output, failing
// unless SIGKILL ended it.
func crash(t *testing.T, path string, stripes, size, n int, commit string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestJournalChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), fmt.Sprintf("VISITLOG_CHILD=%s %d %d", path, stripes, size),
		fmt.Sprintf("VISITLOG_RECORD=%d", n), "VISITLOG_COMMIT="+commit)
	out, err := cmd.Output()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child: %v, output %q", err, out)
	}
	return strings.TrimSpace(string(out))
}

func reopen(t *testing.T, path string, stripes, size int) (*Log, Report) {
	t.Helper()
	l, rep, err := Open(path, stripes, size)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, rep
}

// TestJournal_SurvivesSIGKILL: the visits of a killed process come back
// once; once drained and committed, never again.
func TestJournal_SurvivesSIGKILL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "visits")
	const n = 3000
	if out := crash(t, path, 4, 1024, n, ""); out != "resumed=0 corrupt=0 holes=0 drained=0" {
		t.Fatalf("first child: %s", out)
	}
	l, rep := reopen(t, path, 4, 1024)
	if rep != (Report{Resumed: n}) {
		t.Fatalf("report %+v, want %d resumed", rep, n)
	}
	if l.Uncommitted() != n {
		t.Fatalf("uncommitted %d, want %d", l.Uncommitted(), n)
	}
	wantDims(t, drainAll(t, l), span(0, n)...)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	// Drained, not committed: they come back again; this child commits them.
	if out := crash(t, path, 4, 1024, 0, "all"); out != fmt.Sprintf("resumed=%d corrupt=0 holes=0 drained=%d", n, n) {
		t.Fatalf("second child: %s", out)
	}
	l, rep = reopen(t, path, 4, 1024)
	if rep != (Report{}) {
		t.Fatalf("after commit and crash: report %+v, want nothing", rep)
	}
	if got := drainAll(t, l); len(got) != 0 {
		t.Fatalf("after commit and crash: %d visits came back", len(got))
	}
	// The positions went on: recording still works, across the wrap.
	record(t, l, 0, 4*1024)
	wantDims(t, drainAll(t, l), span(0, 4*1024)...)
	l.CommitDrained()
}

// TestJournal_CommitSomeThenCrash: only the uncommitted visits come back,
// at their positions.
func TestJournal_CommitSomeThenCrash(t *testing.T) {
	path := filepath.Join(t.TempDir(), "visits")
	if out := crash(t, path, 1, 64, 40, "25"); out != "resumed=0 corrupt=0 holes=0 drained=40" {
		t.Fatalf("child: %s", out)
	}
	l, rep := reopen(t, path, 1, 64)
	if rep != (Report{Resumed: 15}) {
		t.Fatalf("report %+v, want 15 resumed", rep)
	}
	if c := l.Committed(); c[0] != 25 {
		t.Fatalf("committed %v, want [25]", c)
	}
	got := drainAll(t, l)
	wantDims(t, got, span(25, 40)...)
	if got[0] != 25 || got[len(got)-1] != 39 {
		t.Errorf("resumed out of order: %v", got)
	}
	if d := l.Drained(); d[0] != 40 {
		t.Fatalf("drained %v, want [40]", d)
	}
}

func slotOff(slots, stripe, pos int) int64 {
	return headerSize + int64(stripe*slots+pos%slots)*slotSize
}

func writeAt(t *testing.T, path string, off int64, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func u64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }

// TestJournal_Corrupt: a published slot with a bad checksum is reported and
// skipped; the others come back.
func TestJournal_Corrupt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "visits")
	l := openT(t, path, 1, 16)
	record(t, l, 0, 6)
	l.Close()
	writeAt(t, path, slotOff(16, 0, 2)+offData+2+1, []byte{'X'}) // a referrer byte (after the code "c2")
	writeAt(t, path, slotOff(16, 0, 4)+offCodeLen, []byte{200})  // a code length past the slot
	l, rep := reopen(t, path, 1, 16)
	if rep != (Report{Resumed: 4, Corrupt: 2}) {
		t.Fatalf("report %+v, want 4 resumed, 2 corrupt", rep)
	}
	wantDims(t, drainAll(t, l), 0, 1, 3, 5)
	if d := l.Drained(); d[0] != 6 {
		t.Fatalf("drained %v, want [6] (skips count)", d)
	}
	l.Close()
	// Not committed: the same again, the skip slots now valid skips.
	l, rep = reopen(t, path, 1, 16)
	if rep != (Report{Resumed: 4}) {
		t.Fatalf("second report %+v, want 4 resumed", rep)
	}
	wantDims(t, drainAll(t, l), 0, 1, 3, 5)
	l.CommitDrained()
	l.Close()
	l, rep = reopen(t, path, 1, 16)
	if rep != (Report{}) || l.Committed()[0] != 6 {
		t.Fatalf("after commit: report %+v, committed %v", rep, l.Committed())
	}
}

// TestJournal_Hole: a claimed slot never published before the last
// published one is skipped; one at the end is free again.
func TestJournal_Hole(t *testing.T) {
	path := filepath.Join(t.TempDir(), "visits")
	l := openT(t, path, 1, 16)
	record(t, l, 0, 6)
	l.Close()
	writeAt(t, path, slotOff(16, 0, 2), u64(2)) // claimed for 2, not published
	writeAt(t, path, slotOff(16, 0, 5), u64(5)) // the last one: as if never claimed
	l, rep := reopen(t, path, 1, 16)
	if rep != (Report{Resumed: 4, Holes: 1}) {
		t.Fatalf("report %+v, want 4 resumed, 1 hole", rep)
	}
	record(t, l, 100, 101) // goes to position 5
	got := drainAll(t, l)
	wantDims(t, got, 0, 1, 3, 4, 100)
	if d := l.Drained(); d[0] != 6 {
		t.Fatalf("drained %v, want [6]", d)
	}
	l.CommitDrained()
	l.Close()
	if _, rep = reopen(t, path, 1, 16); rep != (Report{}) {
		t.Fatalf("after commit: report %+v", rep)
	}
}

// TestJournal_SetAside: a file that is not a journal of this geometry is
// renamed aside and a fresh journal takes its place.
func TestJournal_SetAside(t *testing.T) {
	for name, spoil := range map[string]func(t *testing.T, path string){
		"version":   func(t *testing.T, path string) { writeAt(t, path, 4, []byte{2}) },
		"magic":     func(t *testing.T, path string) { writeAt(t, path, 0, []byte("XBVJ")) },
		"headercrc": func(t *testing.T, path string) { writeAt(t, path, 24, []byte{0xff, 0xff}) },
		"truncated": func(t *testing.T, path string) { os.Truncate(path, headerSize+16*slotSize-100) },
		"longer":    func(t *testing.T, path string) { os.Truncate(path, headerSize+17*slotSize) },
		"empty":     func(t *testing.T, path string) { os.Truncate(path, 0) },
		"garbage":   func(t *testing.T, path string) { os.WriteFile(path, []byte("hello"), 0o600) },
		"geometry":  nil,
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "visits")
			l := openT(t, path, 1, 16)
			record(t, l, 0, 3)
			l.Close()
			stripes := 1
			if spoil == nil {
				stripes = 2
			} else {
				spoil(t, path)
			}
			old, _ := os.ReadFile(path)
			l, rep := reopen(t, path, stripes, 16)
			if rep.Resumed != 0 || rep.Corrupt != 0 || rep.Holes != 0 || !strings.HasPrefix(rep.SetAside, path+".bad-") {
				t.Fatalf("report %+v, want the file set aside", rep)
			}
			if aside, err := os.ReadFile(rep.SetAside); err != nil || string(aside) != string(old) {
				t.Fatalf("set-aside file: %v (%d bytes, want %d)", err, len(aside), len(old))
			}
			if n := len(drainAll(t, l)); n != 0 {
				t.Fatalf("fresh journal drained %d", n)
			}
			record(t, l, 0, 3)
			wantDims(t, drainAll(t, l), 0, 1, 2)
			l.CommitDrained()
			l.Close()
			if _, rep = reopen(t, path, stripes, 16); rep != (Report{}) {
				t.Fatalf("reopened fresh journal: report %+v", rep)
			}
		})
	}
}

// TestJournal_Close: Record after Close drops and does not crash; Sync
// after Close fails; Close twice is fine.
func TestJournal_Close(t *testing.T) {
	path := filepath.Join(t.TempDir(), "visits")
	l := openT(t, path, 2, 16)
	record(t, l, 0, 2)
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if l.Record(0, "abc", 0, 0, nil) || l.Dropped() != 1 {
		t.Fatalf("record after close kept (dropped %d)", l.Dropped())
	}
	if err := l.Sync(); !errors.Is(err, ErrClosed) {
		t.Fatalf("sync after close: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	// A store into the old addresses (a Record racing with Close) lands in
	// anonymous memory, not in the file and not in a fault.
	l.rings[0].slots[0].dims = 7
	l2, rep := reopen(t, path, 2, 16)
	if rep != (Report{Resumed: 2}) {
		t.Fatalf("report %+v", rep)
	}
	wantDims(t, drainAll(t, l2), 0, 1)
}

func TestOpen_InUse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "visits")
	l := openT(t, path, 1, 16)
	if _, _, err := Open(path, 1, 16); !errors.Is(err, ErrInUse) {
		t.Fatalf("second open: %v, want ErrInUse", err)
	}
	l.Close()
	reopen(t, path, 1, 16)
}

func TestOpen_TooManyStripes(t *testing.T) {
	if _, _, err := Open(filepath.Join(t.TempDir(), "v"), MaxStripes+1, 4); err == nil {
		t.Fatal("no error")
	}
	path := filepath.Join(t.TempDir(), "v")
	l := openT(t, path, MaxStripes, 2)
	record(t, l, 0, 10)
	l.Close()
	if _, rep := reopen(t, path, MaxStripes, 2); rep.Resumed != 10 {
		t.Fatalf("report %+v", rep)
	}
}
