package actors

import (
	"encoding/binary"
	"errors"

	"github.com/minibitly/minibitly/storage"
)

// The records of the visit journal (internal/journal), their kinds and
// binary form. Every field is a varint or a length-prefixed string; a
// decoder never trusts a length beyond the bytes it has.
const (
	// recShip is one ship of the batcher: the visit rings' drain mark it
	// covers, the rows for this node's shards and one part per other owner.
	recShip uint8 = 1 + iota
	// recAck: a part of a ship was acknowledged by its owner.
	recAck
	// recReroute: a part of a ship was counted here instead (its rows are
	// this node's from then on).
	recReroute
	// recRecv: a visit batch from another node, journaled before its
	// acknowledgement.
	recRecv
	// recFlush: rows handed to the flusher as (part of) batch (node, seq),
	// holding every row of the records up to upTo.
	recFlush
	// recMark: every record up to upTo is in the sink.
	recMark
	// recFlushTotals is recFlush whose rows also hold their running
	// totals (storage.VisitCount.Cumulative); recFlush records of an
	// earlier version read back with none.
	recFlushTotals
)

type encoder struct{ b []byte }

func (e *encoder) uint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) int(v int64)   { e.b = binary.AppendVarint(e.b, v) }
func (e *encoder) str(s string)  { e.uint(uint64(len(s))); e.b = append(e.b, s...) }

func (e *encoder) rows(rows []storage.VisitCount) { e.rowsWith(rows, false) }

func (e *encoder) rowsWith(rows []storage.VisitCount, totals bool) {
	e.uint(uint64(len(rows)))
	for _, r := range rows {
		e.str(r.Code)
		e.int(r.Minute)
		e.str(r.Referrer)
		e.str(r.Device)
		e.str(r.Browser)
		e.str(r.OS)
		e.str(r.Country)
		if r.Bot {
			e.uint(1)
		} else {
			e.uint(0)
		}
		e.uint(r.Visits)
		if totals {
			e.uint(r.Cumulative)
			e.uint(uint64(r.Epoch))
		}
	}
}

var errShortRecord = errors.New("journal record: truncated or malformed")

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errShortRecord
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) int() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errShortRecord
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) str() string {
	n := d.uint()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.b)) {
		d.err = errShortRecord
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

// count reads a length and checks that at least min bytes per element
// remain, so a forged length cannot make the decoder allocate.
func (d *decoder) count(min int) int {
	n := d.uint()
	if d.err == nil && n > uint64(len(d.b)/min) {
		d.err = errShortRecord
		return 0
	}
	return int(n)
}

func (d *decoder) rows() []storage.VisitCount { return d.rowsWith(false) }

func (d *decoder) rowsWith(totals bool) []storage.VisitCount {
	n := d.count(10)
	if d.err != nil || n == 0 {
		return nil
	}
	out := make([]storage.VisitCount, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		var r storage.VisitCount
		r.Code = d.str()
		r.Minute = d.int()
		r.Referrer = d.str()
		r.Device = d.str()
		r.Browser = d.str()
		r.OS = d.str()
		r.Country = d.str()
		r.Bot = d.uint() == 1
		r.Visits = d.uint()
		if totals {
			r.Cumulative = d.uint()
			r.Epoch = uint32(d.uint())
		}
		out = append(out, r)
	}
	return out
}

func (d *decoder) done() error {
	if d.err == nil && len(d.b) != 0 {
		d.err = errShortRecord
	}
	return d.err
}

// shipRecord is the decoded form of recShip.
type shipRecord struct {
	mark  []uint64
	local []storage.VisitCount
	parts []*remotePart
}

func encodeShip(mark []uint64, local []storage.VisitCount, parts []*remotePart) []byte {
	var e encoder
	e.uint(uint64(len(mark)))
	for _, m := range mark {
		e.uint(m)
	}
	e.rows(local)
	e.uint(uint64(len(parts)))
	for _, p := range parts {
		e.str(p.owner.Name)
		e.str(p.owner.RemoteAddr)
		e.str(p.owner.HTTPAddr)
		e.str(p.from)
		e.uint(p.seq)
		e.rows(p.rows)
	}
	return e.b
}

func decodeShip(b []byte) (shipRecord, error) {
	d := decoder{b: b}
	var s shipRecord
	n := d.count(1)
	for i := 0; i < n && d.err == nil; i++ {
		s.mark = append(s.mark, d.uint())
	}
	s.local = d.rows()
	n = d.count(5)
	for i := 0; i < n && d.err == nil; i++ {
		p := &remotePart{idx: i}
		p.owner.Name = d.str()
		p.owner.RemoteAddr = d.str()
		p.owner.HTTPAddr = d.str()
		p.from = d.str()
		p.seq = d.uint()
		p.rows = d.rows()
		p.visits = sumVisits(p.rows)
		s.parts = append(s.parts, p)
	}
	return s, d.done()
}

// encodePartRef is the body of recAck and recReroute.
func encodePartRef(ship uint64, idx int) []byte {
	var e encoder
	e.uint(ship)
	e.uint(uint64(idx))
	return e.b
}

func decodePartRef(b []byte) (ship uint64, idx int, err error) {
	d := decoder{b: b}
	ship = d.uint()
	idx = int(d.uint())
	return ship, idx, d.done()
}

func encodeRecv(from string, seq uint64, rows []storage.VisitCount) []byte {
	var e encoder
	e.str(from)
	e.uint(seq)
	e.rows(rows)
	return e.b
}

func decodeRecv(b []byte) (from string, seq uint64, rows []storage.VisitCount, err error) {
	d := decoder{b: b}
	from = d.str()
	seq = d.uint()
	rows = d.rows()
	return from, seq, rows, d.done()
}

// encodeFlush is the body of recFlushTotals: the batch id, upTo, and the
// rows by minute, hour and day with their running totals.
func encodeFlush(part storage.VisitBatch, upTo uint64) []byte {
	var e encoder
	e.str(part.NodeID)
	e.uint(part.Seq)
	e.uint(upTo)
	e.rowsWith(part.Rows, true)
	e.rollups(part.Hourly)
	e.rollups(part.Daily)
	return e.b
}

func (e *encoder) rollups(rows []storage.RollupCount) {
	e.uint(uint64(len(rows)))
	for _, r := range rows {
		e.str(r.Code)
		e.int(r.Bucket)
		e.str(r.Dim)
		e.str(r.Value)
		e.uint(r.Visits)
		e.uint(r.Cumulative)
		e.uint(uint64(r.Epoch))
	}
}

func (d *decoder) rollups() []storage.RollupCount {
	n := d.count(7)
	if d.err != nil || n == 0 {
		return nil
	}
	out := make([]storage.RollupCount, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		var r storage.RollupCount
		r.Code = d.str()
		r.Bucket = d.int()
		r.Dim = d.str()
		r.Value = d.str()
		r.Visits = d.uint()
		r.Cumulative = d.uint()
		r.Epoch = uint32(d.uint())
		out = append(out, r)
	}
	return out
}

// decodeFlush reads recFlush (minute rows only, no running totals) and
// recFlushTotals.
func decodeFlush(kind uint8, b []byte) (part storage.VisitBatch, upTo uint64, err error) {
	d := decoder{b: b}
	part.NodeID = d.str()
	part.Seq = d.uint()
	upTo = d.uint()
	totals := kind == recFlushTotals
	part.Rows = d.rowsWith(totals)
	if totals {
		part.Hourly = d.rollups()
		part.Daily = d.rollups()
	}
	return part, upTo, d.done()
}

func encodeMark(upTo uint64) []byte {
	var e encoder
	e.uint(upTo)
	return e.b
}

func decodeMark(b []byte) (uint64, error) {
	d := decoder{b: b}
	v := d.uint()
	return v, d.done()
}

func sumVisits(rows []storage.VisitCount) uint64 {
	var v uint64
	for _, r := range rows {
		v += r.Visits
	}
	return v
}
