package actors

import (
	"log/slog"
	"slices"
	"sync"

	"github.com/minibitly/minibitly/cluster"
	"github.com/minibitly/minibitly/internal/visitlog"
	"github.com/minibitly/minibitly/storage"
)

// RecordLog is the durable record log the visit journal writes into
// (internal/journal.Log): appended records survive the process dying;
// released ones are forgotten.
type RecordLog interface {
	Append(kind uint8, data []byte) (uint64, error)
	Release(ids ...uint64) error
	// Sync makes every record appended so far durable against a crash of
	// the machine.
	Sync() error
}

// JournalRecord is a record read back from the log at start.
type JournalRecord struct {
	ID   uint64
	Kind uint8
	Data []byte
}

// remotePart is the part of a ship for one other owner: sent under
// (from, seq), which the owner applies at most once.
type remotePart struct {
	ship   uint64 // id of the recShip record holding it; 0 without a journal
	idx    int    // its index in that record
	owner  cluster.Member
	from   string
	seq    uint64
	rows   []storage.VisitCount
	visits uint64
}

// journal keeps track of which records of the visit log are still needed
// and releases the others. The rules (docs/storage.md, "Visit journal"):
//
//   - Every row that enters this node's shards is first in a record: a
//     ship's local rows, a batch from another node (recRecv) or a part
//     counted here after all (recReroute). Those records are applied to the
//     shards in id order by the batcher, alone.
//   - A recFlush record holds rows collected from the shards and the id of
//     the last record applied before the collect (upTo): every row of the
//     records up to upTo is in a recFlush record. Once that batch is in the
//     sink a recMark records upTo and the flush records go.
//   - A ship record holds the rings' drain mark; the newest one is kept
//     (the rings resume from it), the others go once their local rows are
//     covered by a delivered flush and every remote part is acknowledged
//     (recAck) or rerouted and covered.
//
// Without a log (no data dir) every method is a no-op.
type journal struct {
	log RecordLog
	lg  *slog.Logger
	m   journalMetrics

	mu         sync.Mutex
	ships      map[uint64]*shipState
	newestShip uint64
	waiting    []coverWait // records whose rows wait for a delivered flush, id ascending
	markID     uint64      // the live recMark, 0 = none
	markUpTo   uint64      // its upTo
	lastMark   []uint64    // the rings' mark in the newest ship
}

type shipState struct {
	outstanding int      // local rows not yet covered + parts not yet settled
	extra       []uint64 // its recAck and recReroute records, released with it
}

type coverWait struct {
	id   uint64
	ship uint64 // the ship the rows belong to (local rows, reroute); 0 = recRecv
}

func newJournal(log RecordLog, lg *slog.Logger, m journalMetrics) *journal {
	return &journal{log: log, lg: lg, m: m, ships: map[uint64]*shipState{}}
}

func (j *journal) enabled() bool { return j != nil && j.log != nil }

func (j *journal) append(kind uint8, data []byte) uint64 {
	id, err := j.log.Append(kind, data)
	if err != nil {
		j.m.errors.Inc()
		j.lg.Error("visit journal: append failed; these visits are only in memory until flushed", "kind", kind, "err", err)
		return 0
	}
	return id
}

func (j *journal) release(ids ...uint64) {
	ids = slices.DeleteFunc(ids, func(id uint64) bool { return id == 0 })
	if len(ids) == 0 {
		return
	}
	if err := j.log.Release(ids...); err != nil {
		j.m.errors.Inc()
		j.lg.Warn("visit journal: release failed", "err", err)
	}
}

// ship records one ship and returns its id (set on its parts too).
func (j *journal) ship(mark []uint64, local []storage.VisitCount, parts []*remotePart) uint64 {
	if !j.enabled() {
		return 0
	}
	// Under mu: the newest ship record must hold the newest mark (see
	// refreshShipLocked).
	j.mu.Lock()
	defer j.mu.Unlock()
	id := j.append(recShip, encodeShip(mark, local, parts))
	if id == 0 {
		return 0
	}
	for _, p := range parts {
		p.ship = id
	}
	j.lastMark = mark
	st := &shipState{outstanding: len(parts)}
	if len(local) > 0 {
		st.outstanding++
		j.waiting = append(j.waiting, coverWait{id: id, ship: id})
	}
	j.ships[id] = st
	prev := j.newestShip
	j.newestShip = id
	j.maybeReleaseLocked(prev)
	return id
}

// acked settles a part its owner acknowledged.
func (j *journal) acked(p *remotePart) {
	if !j.enabled() || p.ship == 0 {
		return
	}
	id := j.append(recAck, encodePartRef(p.ship, p.idx))
	j.mu.Lock()
	defer j.mu.Unlock()
	st := j.ships[p.ship]
	if st == nil {
		j.release(id)
		return
	}
	st.extra = append(st.extra, id)
	st.outstanding--
	j.maybeReleaseLocked(p.ship)
}

// rerouted records that p's rows are counted here; the batcher applies
// them right after. It returns the record's id.
func (j *journal) rerouted(p *remotePart) uint64 {
	if !j.enabled() || p.ship == 0 {
		return 0
	}
	id := j.append(recReroute, encodePartRef(p.ship, p.idx))
	j.mu.Lock()
	defer j.mu.Unlock()
	if st := j.ships[p.ship]; st != nil && id != 0 {
		st.extra = append(st.extra, id)
		j.waiting = append(j.waiting, coverWait{id: id, ship: p.ship})
	}
	return id
}

// recv records a visit batch from another node before it is
// acknowledged; it reports false when the batch could not be journaled.
func (j *journal) recv(from string, seq uint64, rows []storage.VisitCount) (uint64, bool) {
	if !j.enabled() {
		return 0, true
	}
	id := j.append(recRecv, encodeRecv(from, seq, rows))
	if id == 0 {
		return 0, false
	}
	j.mu.Lock()
	j.waiting = append(j.waiting, coverWait{id: id})
	j.mu.Unlock()
	return id, true
}

// flush records part, handed to the flusher as (part of) batch
// (part.NodeID, part.Seq).
func (j *journal) flush(part storage.VisitBatch, upTo uint64) uint64 {
	if !j.enabled() {
		return 0
	}
	return j.append(recFlushTotals, encodeFlush(part, upTo))
}

// sync makes the records appended so far durable against a crash of the
// machine: the flusher calls it before a batch first goes to the sink, so
// that a batch in the sink is never followed, after a power loss, by a
// replay of the records it holds.
func (j *journal) sync() {
	if !j.enabled() {
		return
	}
	if err := j.log.Sync(); err != nil {
		j.m.errors.Inc()
		j.lg.Warn("visit journal: sync failed", "err", err)
	}
}

// delivered is called once the batch held by the flush records ids is in
// the sink (or dropped from the buffer, counted): every record up to upTo
// is then covered.
func (j *journal) delivered(ids []uint64, upTo uint64) {
	if !j.enabled() {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	upTo = max(upTo, j.markUpTo)
	if mark := j.append(recMark, encodeMark(upTo)); mark != 0 {
		old := j.markID
		j.markID, j.markUpTo = mark, upTo
		j.release(append(slices.Clone(ids), old)...)
	}
	j.coverLocked(upTo)
	j.refreshShipLocked()
}

// refreshShipLocked writes the rings' mark again in a ship of its own when
// the newest ship is older than the mark just written: a node that only
// receives visits would otherwise keep its one old ship record, and with it
// its segment and every later one, in the log.
func (j *journal) refreshShipLocked() {
	if j.newestShip == 0 || j.newestShip > j.markID || j.lastMark == nil {
		return
	}
	id := j.append(recShip, encodeShip(j.lastMark, nil, nil))
	if id == 0 {
		return
	}
	j.ships[id] = &shipState{}
	prev := j.newestShip
	j.newestShip = id
	j.maybeReleaseLocked(prev)
}

func (j *journal) coverLocked(upTo uint64) {
	n := 0
	for _, w := range j.waiting {
		if w.id > upTo {
			break
		}
		n++
		if w.ship == 0 {
			j.release(w.id)
			continue
		}
		if st := j.ships[w.ship]; st != nil {
			st.outstanding--
			j.maybeReleaseLocked(w.ship)
		}
	}
	j.waiting = j.waiting[n:]
}

func (j *journal) maybeReleaseLocked(ship uint64) {
	st := j.ships[ship]
	if st == nil || st.outstanding > 0 || ship == j.newestShip {
		return
	}
	delete(j.ships, ship)
	j.release(append(st.extra, ship)...)
}

// replayed is what a journal read back at start still owes.
type replayed struct {
	// mark is the rings' drain mark of the newest ship (nil: none).
	mark visitlog.Mark
	// local are the rows to apply to the shards again, with their records.
	local []replayedLocal
	// flushes are batches to deliver again, oldest first.
	flushes []replayedFlush
	// parts are remote parts to send again.
	parts []*remotePart
	// inbox are the batches from other nodes already journaled.
	inbox []batchID
	// lastID is the highest record id read.
	lastID uint64
	visits uint64 // visits owed (local, parts and flushes)
	bad    int    // records that did not decode (released)
}

type replayedLocal struct {
	id   uint64
	rows []storage.VisitCount
}

type replayedFlush struct {
	ids  []uint64
	b    storage.VisitBatch
	upTo uint64
}

// replay reads the live records back, rebuilds the journal's bookkeeping
// and returns what is still owed.
func (j *journal) replay(recs []JournalRecord) replayed {
	var out replayed
	type shipRec struct {
		id uint64
		shipRecord
		acked    map[int]bool
		reroutes map[int]uint64
		extra    []uint64
	}
	ships := map[uint64]*shipRec{}
	var shipOrder []uint64
	type recvRec struct {
		id   uint64
		rows []storage.VisitCount
	}
	var recvs []recvRec
	type flushKey struct {
		node string
		seq  uint64
	}
	flushes := map[flushKey]*replayedFlush{}
	var flushOrder []flushKey
	var W uint64
	var marks []uint64
	var refs []JournalRecord // acks and reroutes, applied once the ships are known
	var bad []uint64
	for _, r := range recs {
		out.lastID = max(out.lastID, r.ID)
		switch r.Kind {
		case recShip:
			s, err := decodeShip(r.Data)
			if err != nil {
				bad = append(bad, r.ID)
				continue
			}
			ships[r.ID] = &shipRec{id: r.ID, shipRecord: s, acked: map[int]bool{}, reroutes: map[int]uint64{}}
			shipOrder = append(shipOrder, r.ID)
		case recAck, recReroute:
			refs = append(refs, r)
		case recRecv:
			from, seq, rows, err := decodeRecv(r.Data)
			if err != nil {
				bad = append(bad, r.ID)
				continue
			}
			recvs = append(recvs, recvRec{id: r.ID, rows: rows})
			out.inbox = append(out.inbox, batchID{from: from, seq: seq})
		case recFlush, recFlushTotals:
			part, upTo, err := decodeFlush(r.Kind, r.Data)
			if err != nil {
				bad = append(bad, r.ID)
				continue
			}
			k := flushKey{part.NodeID, part.Seq}
			f := flushes[k]
			if f == nil {
				f = &replayedFlush{b: storage.VisitBatch{NodeID: part.NodeID, Seq: part.Seq}}
				flushes[k] = f
				flushOrder = append(flushOrder, k)
			}
			f.ids = append(f.ids, r.ID)
			if r.Kind == recFlush {
				part.Hourly, part.Daily = nil, nil
			}
			mergeBatch(&f.b, part)
			f.upTo = max(f.upTo, upTo)
			W = max(W, upTo)
		case recMark:
			upTo, err := decodeMark(r.Data)
			if err != nil {
				bad = append(bad, r.ID)
				continue
			}
			marks = append(marks, r.ID)
			W = max(W, upTo)
		default:
			bad = append(bad, r.ID)
		}
	}
	for _, r := range refs {
		ship, idx, err := decodePartRef(r.Data)
		s := ships[ship]
		if err != nil || s == nil || idx < 0 || idx >= len(s.parts) {
			bad = append(bad, r.ID)
			continue
		}
		s.extra = append(s.extra, r.ID)
		if r.Kind == recAck {
			s.acked[idx] = true
		} else {
			s.reroutes[idx] = r.ID
		}
	}

	j.mu.Lock()
	defer j.mu.Unlock()
	if len(marks) > 0 {
		j.markID, j.markUpTo = marks[len(marks)-1], W
		j.release(marks[:len(marks)-1]...)
	}
	var waiting []coverWait
	for _, id := range shipOrder {
		s := ships[id]
		st := &shipState{extra: s.extra}
		if len(s.local) > 0 && id > W {
			st.outstanding++
			out.local = append(out.local, replayedLocal{id: id, rows: s.local})
			waiting = append(waiting, coverWait{id: id, ship: id})
		}
		for i, p := range s.parts {
			p.ship = id
			switch rr, rerouted := s.reroutes[i]; {
			case s.acked[i]:
			case rerouted && rr > W:
				st.outstanding++
				out.local = append(out.local, replayedLocal{id: rr, rows: p.rows})
				waiting = append(waiting, coverWait{id: rr, ship: id})
			case rerouted:
			default:
				st.outstanding++
				out.parts = append(out.parts, p)
				out.visits += p.visits
			}
		}
		j.ships[id] = st
		out.mark = s.mark
		j.lastMark = s.mark
		j.newestShip = id
	}
	for _, r := range recvs {
		if r.id > W {
			out.local = append(out.local, replayedLocal{id: r.id, rows: r.rows})
			waiting = append(waiting, coverWait{id: r.id})
		} else {
			j.release(r.id) // covered: the process died before releasing it
		}
	}
	slices.SortFunc(waiting, func(a, b coverWait) int { return cmpU64(a.id, b.id) })
	slices.SortFunc(out.local, func(a, b replayedLocal) int { return cmpU64(a.id, b.id) })
	j.waiting = waiting
	for _, l := range out.local {
		out.visits += sumVisits(l.rows)
	}
	for _, k := range flushOrder {
		f := flushes[k]
		out.flushes = append(out.flushes, *f)
		out.visits += sumVisits(f.b.Rows)
	}
	for _, id := range shipOrder {
		j.maybeReleaseLocked(id)
	}
	out.bad = len(bad)
	j.release(bad...)
	return out
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
