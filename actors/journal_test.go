package actors

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/minibitly/minibitly/cluster"
	"github.com/minibitly/minibitly/storage"
)

// memLog is a RecordLog in memory: reopen returns its live records, as
// journal.Open does after the process died.
type memLog struct {
	mu   sync.Mutex
	next uint64
	recs map[uint64]JournalRecord
	fail bool
}

func newMemLog() *memLog { return &memLog{recs: map[uint64]JournalRecord{}} }

func (l *memLog) Append(kind uint8, data []byte) (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fail {
		return 0, fmt.Errorf("disk full")
	}
	l.next++
	l.recs[l.next] = JournalRecord{ID: l.next, Kind: kind, Data: slices.Clone(data)}
	return l.next, nil
}

func (l *memLog) Release(ids ...uint64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, id := range ids {
		delete(l.recs, id)
	}
	return nil
}

func (l *memLog) Sync() error { return nil }

func (l *memLog) live() []JournalRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []JournalRecord
	for _, r := range l.recs {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b JournalRecord) int { return cmpU64(a.ID, b.ID) })
	return out
}

func (l *memLog) kinds() map[uint8]int {
	m := map[uint8]int{}
	for _, r := range l.live() {
		m[r.Kind]++
	}
	return m
}

func testJournal(t *testing.T, l *memLog) *journal {
	return newJournal(l, slog.New(slog.DiscardHandler), testMetrics(t).journal)
}

// reopen is a restart: a new journal replays what l still holds.
func reopen(t *testing.T, l *memLog) (*journal, replayed) {
	j := testJournal(t, l)
	return j, j.replay(l.live())
}

func rowsOf(code string, n uint64) []storage.VisitCount {
	return []storage.VisitCount{{VisitKey: storage.VisitKey{Code: code, Minute: 600, Device: "desktop"}, Visits: n}}
}

func localVisits(r replayed) map[string]uint64 {
	m := map[string]uint64{}
	for _, l := range r.local {
		for _, row := range l.rows {
			m[row.Code] += row.Visits
		}
	}
	return m
}

func TestJournal_ShippedNotFlushedIsReplayedOnce(t *testing.T) {
	l := newMemLog()
	j := testJournal(t, l)
	j.ship([]uint64{5, 9}, rowsOf("a", 3), nil)
	j2, r := reopen(t, l)
	if got := localVisits(r); got["a"] != 3 || len(r.flushes) != 0 || !slices.Equal(r.mark, []uint64{5, 9}) {
		t.Fatalf("replayed %v flushes %d mark %v", got, len(r.flushes), r.mark)
	}
	// The replayed rows are flushed by the next incarnation: nothing owed after.
	id := j2.flush(storage.VisitBatch{NodeID: "n#2", Seq: 1, Rows: rowsOf("a", 3)}, r.lastID)
	j2.delivered([]uint64{id}, r.lastID)
	if _, r := reopen(t, l); len(r.local) != 0 || len(r.flushes) != 0 || r.visits != 0 {
		t.Fatalf("after the flush a restart still owes %+v", r)
	}
}

func TestJournal_FlushRecordCoversItsShips(t *testing.T) {
	l := newMemLog()
	j := testJournal(t, l)
	s1 := j.ship([]uint64{1}, rowsOf("a", 1), nil)
	s2 := j.ship([]uint64{2}, rowsOf("a", 2), nil)
	f := j.flush(storage.VisitBatch{NodeID: "n#1", Seq: 1, Rows: rowsOf("a", 3)}, s2)
	// Not delivered: a restart delivers the batch again as it was, and
	// does not apply the ships' rows a second time.
	_, r := reopen(t, l)
	if len(r.local) != 0 || len(r.flushes) != 1 || r.flushes[0].b.Seq != 1 || r.flushes[0].b.NodeID != "n#1" || sumVisits(r.flushes[0].b.Rows) != 3 {
		t.Fatalf("replay %+v", r)
	}
	j.delivered([]uint64{f}, s2)
	if _, r := reopen(t, l); r.visits != 0 {
		t.Fatalf("delivered, yet %d visits owed", r.visits)
	}
	// Only the newest ship (its ring mark) and the mark are kept.
	if k := l.kinds(); k[recShip] != 1 || k[recMark] != 1 || len(l.live()) != 2 {
		t.Fatalf("live records %v", k)
	}
	if _, ok := l.recs[s1]; ok {
		t.Fatal("the older ship record was kept")
	}
}

func TestJournal_ShipAfterCollectIsNotCovered(t *testing.T) {
	l := newMemLog()
	j := testJournal(t, l)
	s1 := j.ship([]uint64{1}, rowsOf("a", 1), nil)
	j.ship([]uint64{2}, rowsOf("a", 2), nil) // after the collect
	f := j.flush(storage.VisitBatch{NodeID: "n#1", Seq: 1, Rows: rowsOf("a", 1)}, s1)
	j.delivered([]uint64{f}, s1)
	if _, r := reopen(t, l); localVisits(r)["a"] != 2 {
		t.Fatalf("replayed %v, want the 2 visits of the ship after the collect", localVisits(r))
	}
}

func TestJournal_MergedFlushParts(t *testing.T) {
	l := newMemLog()
	j := testJournal(t, l)
	s1 := j.ship([]uint64{1}, rowsOf("a", 1), nil)
	j.flush(storage.VisitBatch{NodeID: "n#1", Seq: 4, Rows: rowsOf("a", 1)}, s1)
	s2 := j.ship([]uint64{2}, rowsOf("a", 2), nil)
	j.flush(storage.VisitBatch{NodeID: "n#1", Seq: 4, Rows: rowsOf("a", 2)}, s2) // merged into the same unattempted batch
	_, r := reopen(t, l)
	if len(r.flushes) != 1 || sumVisits(r.flushes[0].b.Rows) != 3 || len(r.flushes[0].ids) != 2 || r.flushes[0].upTo != s2 || len(r.local) != 0 {
		t.Fatalf("replay %+v", r)
	}
}

func TestJournal_RemoteParts(t *testing.T) {
	owner := cluster.Member{Name: "n2", RemoteAddr: "127.0.0.1:1"}
	newParts := func() []*remotePart {
		return []*remotePart{
			{idx: 0, owner: owner, from: "n1#1", seq: 10, rows: rowsOf("x", 4), visits: 4},
			{idx: 1, owner: cluster.Member{Name: "n3"}, from: "n1#1", seq: 11, rows: rowsOf("y", 5), visits: 5},
		}
	}
	t.Run("unacknowledged parts are sent again under their id", func(t *testing.T) {
		l := newMemLog()
		j := testJournal(t, l)
		ps := newParts()
		j.ship([]uint64{1}, nil, ps)
		j.acked(ps[1])
		_, r := reopen(t, l)
		if len(r.parts) != 1 || r.parts[0].seq != 10 || r.parts[0].from != "n1#1" || r.parts[0].owner != owner || r.parts[0].visits != 4 || len(r.local) != 0 {
			t.Fatalf("parts %+v local %v", r.parts, r.local)
		}
	})
	t.Run("a rerouted part counts here once", func(t *testing.T) {
		l := newMemLog()
		j := testJournal(t, l)
		ps := newParts()
		j.ship([]uint64{1}, nil, ps)
		j.acked(ps[1])
		rr := j.rerouted(ps[0])
		_, r := reopen(t, l)
		if len(r.parts) != 0 || localVisits(r)["x"] != 4 {
			t.Fatalf("parts %+v local %v", r.parts, localVisits(r))
		}
		f := j.flush(storage.VisitBatch{NodeID: "n1#1", Seq: 1, Rows: rowsOf("x", 4)}, rr)
		j.delivered([]uint64{f}, rr)
		j.ship([]uint64{2}, nil, nil) // a newer ship: the first may go
		if _, r := reopen(t, l); r.visits != 0 || len(l.live()) != 2 {
			t.Fatalf("owed %d, live %v", r.visits, l.kinds())
		}
	})
}

func TestJournal_ReceivedBatches(t *testing.T) {
	l := newMemLog()
	j := testJournal(t, l)
	id, ok := j.recv("n2#1", 77, rowsOf("z", 6))
	if !ok {
		t.Fatal("recv not journaled")
	}
	j2, r := reopen(t, l)
	if localVisits(r)["z"] != 6 || len(r.inbox) != 1 || r.inbox[0] != (batchID{from: "n2#1", seq: 77}) {
		t.Fatalf("replay %+v", r)
	}
	f := j2.flush(storage.VisitBatch{NodeID: "n1#2", Seq: 1, Rows: rowsOf("z", 6)}, r.lastID)
	j2.delivered([]uint64{f}, r.lastID)
	if _, ok := l.recs[id]; ok {
		t.Fatal("a covered batch from another node was kept")
	}
	l.fail = true
	if _, ok := j2.recv("n2#1", 78, rowsOf("z", 1)); ok {
		t.Fatal("a batch that could not be journaled reported journaled (it would be acknowledged)")
	}
}

func TestJournal_BadRecordsAreSkipped(t *testing.T) {
	l := newMemLog()
	j := testJournal(t, l)
	j.ship([]uint64{1}, rowsOf("a", 2), nil)
	l.Append(recShip, []byte{0xff, 0xff, 0xff})
	l.Append(99, nil)
	_, r := reopen(t, l)
	if r.bad != 2 || localVisits(r)["a"] != 2 {
		t.Fatalf("bad %d local %v", r.bad, localVisits(r))
	}
}

func TestJournal_WithoutLogIsANoOp(t *testing.T) {
	var j *journal
	if j.enabled() {
		t.Fatal("nil journal enabled")
	}
	j = newJournal(nil, slog.New(slog.DiscardHandler), testMetrics(t).journal)
	if id := j.ship([]uint64{1}, rowsOf("a", 1), nil); id != 0 {
		t.Fatal("ship without a log returned an id")
	}
	if _, ok := j.recv("x", 1, nil); !ok {
		t.Fatal("recv without a log must accept")
	}
}

func FuzzJournalRecords(f *testing.F) {
	f.Add(recShip, encodeShip([]uint64{1, 2}, rowsOf("a", 1), []*remotePart{{owner: cluster.Member{Name: "n"}, rows: rowsOf("b", 2)}}))
	f.Add(recFlushTotals, encodeFlush(storage.VisitBatch{NodeID: "n#1", Seq: 3, Rows: rowsOf("c", 4), Hourly: []storage.RollupCount{{Code: "c", Bucket: 3600, Visits: 4, Cumulative: 4}}}, 9))
	f.Add(recRecv, encodeRecv("n#2", 5, rowsOf("d", 1)))
	f.Add(recAck, encodePartRef(1, 0))
	f.Add(recMark, encodeMark(7))
	f.Fuzz(func(t *testing.T, kind uint8, data []byte) {
		l := newMemLog()
		j := testJournal(t, l)
		j.ship([]uint64{1}, rowsOf("a", 1), nil)
		l.Append(kind, data)
		j.replay(l.live()) // must not panic, whatever the bytes
	})
}

// A shard that answers a collect late does not lose its rows: they join
// the next collect, and a collect that did not complete claims no records.
func TestBatcher_CollectKeepsLateAnswers(t *testing.T) {
	reqs := make(chan []chan []storage.VisitCount, 2)
	b := newBatcher(batcherDeps{
		shards: 2, shardOf: func(string) int { return 0 },
		drains: func() []chan []storage.VisitCount {
			cs := []chan []storage.VisitCount{make(chan []storage.VisitCount, 1), make(chan []storage.VisitCount, 1)}
			reqs <- cs
			return cs
		},
		j: newJournal(nil, slog.New(slog.DiscardHandler), testMetrics(t).journal),
	}, time.Hour)
	b.lastApplied = 7
	var first []chan []storage.VisitCount
	go func() {
		first = <-reqs
		first[0] <- rowsOf("a", 2) // shard 0 answers, shard 1 is slow
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	rows, upTo := b.collect(ctx)
	cancel()
	if rows != nil || upTo != 0 {
		t.Fatalf("an incomplete collect returned %v up to %d", rows, upTo)
	}
	first[1] <- rowsOf("b", 3) // the slow answer arrives
	b.lastApplied = 9
	go func() {
		second := <-reqs
		second[0] <- nil
		second[1] <- rowsOf("c", 1)
	}()
	rows, upTo = b.collect(t.Context())
	if sumVisits(rows) != 6 || upTo != 9 {
		t.Fatalf("collect got %d visits up to %d, want 6 up to 9", sumVisits(rows), upTo)
	}
}
