package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"sort"

	bolt "go.etcd.io/bbolt"

	"github.com/minibitly/minibitly/storage"
)

// SeqWindow is how many sequence numbers below a node's highest applied Seq
// are remembered one by one. A batch older than that is taken as applied:
// sequences from one node only increase, so it can only be a replay.
const SeqWindow = 1 << 16

// WriteVisits adds b's rows to the aggregates and totals in one
// transaction, unless this (NodeID, Seq) was applied before: a batch counts
// exactly once, whatever order batches arrive in (within SeqWindow).
func (s *Store) WriteVisits(ctx context.Context, b storage.VisitBatch) error {
	for i := range b.Rows {
		if !validCode(b.Rows[i].Code) {
			return fmt.Errorf("write visits %s/%d: row %d: invalid code %q", b.NodeID, b.Seq, i, b.Rows[i].Code)
		}
	}
	return s.update(ctx, fmt.Sprintf("write visits %s/%d", b.NodeID, b.Seq), func(tx *bolt.Tx) error {
		applied, err := markApplied(tx, b.NodeID, b.Seq)
		if err != nil || applied {
			return err
		}
		// bbolt keeps keys and values until commit: append them all to one
		// arena, never overwriting. Keys are put in ascending order: a leaf
		// grows by appending, where a random order moves the leaf's
		// entries on every insert until commit splits it (O(n²): a
		// flush of 20k first visits spent most of the node's CPU in
		// bbolt's node.put memmove; issue 13's profile).
		arena := make([]byte, 0, len(b.Rows)*72)
		type put struct {
			key    []byte
			visits uint64
		}
		puts := make([]put, 0, len(b.Rows))
		perCode := map[string]uint64{}
		for _, r := range b.Rows {
			if r.Visits == 0 {
				continue
			}
			start := len(arena)
			arena = appendVisitKey(arena, r.Code, r.Minute, r.Referrer, r.Device, r.Browser, r.OS, r.Country, r.Bot)
			puts = append(puts, put{arena[start:len(arena):len(arena)], r.Visits})
			perCode[r.Code] += r.Visits
		}
		slices.SortFunc(puts, func(a, b put) int { return bytes.Compare(a.key, b.key) })
		visits, totals := tx.Bucket(bVisits), tx.Bucket(bTotals)
		for _, p := range puts {
			arena = binary.BigEndian.AppendUint64(arena, u64(visits.Get(p.key))+p.visits)
			if err := visits.Put(p.key, arena[len(arena)-8:len(arena):len(arena)]); err != nil {
				return fmt.Errorf("put visits: %w", err)
			}
		}
		codes := make([]string, 0, len(perCode))
		for code := range perCode {
			codes = append(codes, code)
		}
		slices.Sort(codes)
		for _, code := range codes {
			k := []byte(code)
			if err := totals.Put(k, binary.BigEndian.AppendUint64(nil, u64(totals.Get(k))+perCode[code])); err != nil {
				return fmt.Errorf("put total: %w", err)
			}
		}
		return nil
	})
}

// markApplied records (node, seq) and reports whether it was applied
// before. It forgets sequence numbers more than SeqWindow below the highest.
func markApplied(tx *bolt.Tx, node string, seq uint64) (bool, error) {
	nb, err := tx.Bucket(bBatches).CreateBucketIfNotExists([]byte("node:" + node))
	if err != nil {
		return false, fmt.Errorf("batches of node %q: %w", node, err)
	}
	k := binary.BigEndian.AppendUint64(nil, seq)
	if nb.Get(k) != nil {
		return true, nil
	}
	c := nb.Cursor()
	top, _ := c.Last()
	if top != nil {
		high := binary.BigEndian.Uint64(top)
		if high > SeqWindow && seq < high-SeqWindow {
			return true, nil
		}
	}
	if err := nb.Put(k, []byte{1}); err != nil { // non-empty: Get tells it from absent
		return false, fmt.Errorf("mark batch applied: %w", err)
	}
	if top == nil || seq < binary.BigEndian.Uint64(top) || seq <= SeqWindow {
		return false, nil
	}
	// seq is the new highest: forget what fell out of the window.
	var old [][]byte
	for k, _ := c.First(); k != nil && binary.BigEndian.Uint64(k) < seq-SeqWindow; k, _ = c.Next() {
		old = append(old, k)
	}
	for _, k := range old {
		if err := nb.Delete(k); err != nil {
			return false, fmt.Errorf("forget batch: %w", err)
		}
	}
	return false, nil
}

// VisitTotal is every visit of code ever written.
func (s *Store) VisitTotal(ctx context.Context, code string) (uint64, error) {
	var n uint64
	err := s.view(ctx, fmt.Sprintf("visit total of %q", code), func(tx *bolt.Tx) error {
		if code != "" {
			n = u64(tx.Bucket(bTotals).Get([]byte(code)))
		}
		return nil
	})
	return n, err
}

// Stats scans the code's rows in [From, To) into a storage.Aggregator.
func (s *Store) Stats(ctx context.Context, q storage.StatsQuery) (storage.Stats, error) {
	op := fmt.Sprintf("stats of %q", q.Code)
	if err := storage.ValidateStatsQuery(q); err != nil {
		return storage.Stats{}, fmt.Errorf("%s: %w", op, err)
	}
	agg := storage.NewAggregator(q)
	err := s.view(ctx, op, func(tx *bolt.Tx) error {
		if !validCode(q.Code) {
			return nil
		}
		prefix := appendVisitPrefix(nil, q.Code)
		from := binary.BigEndian.AppendUint64(bytes.Clone(prefix), flip(q.From.Unix()))
		to := binary.BigEndian.AppendUint64(prefix, flip(q.To.Unix()))
		c := tx.Bucket(bVisits).Cursor()
		for k, v := c.Seek(from); k != nil && bytes.Compare(k, to) < 0; k, v = c.Next() {
			d, err := decodeVisitKey(k, len(prefix))
			if err != nil {
				return err
			}
			agg.Add(storage.VisitCount{VisitKey: storage.VisitKey{
				Code: q.Code, Minute: d.minute, Referrer: d.ref, Device: d.dev,
				Browser: d.br, OS: d.os, Country: d.cc, Bot: d.bot,
			}, Visits: u64(v)})
		}
		return nil
	})
	if err != nil {
		return storage.Stats{}, err
	}
	return agg.Stats(), nil
}

// VisitRows walks the code's keys backwards from To: keys sort by minute,
// then by length-prefixed dimensions, so each minute's rows are re-sorted
// into storage.LessVisitKey order before they are appended.
func (s *Store) VisitRows(ctx context.Context, q storage.VisitRowsQuery) ([]storage.VisitCount, error) {
	op := fmt.Sprintf("visit rows of %q", q.Code)
	if err := storage.ValidateVisitRowsQuery(q); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	var out, minute []storage.VisitCount
	flush := func() {
		sort.Slice(minute, func(i, j int) bool { return storage.LessVisitKey(minute[i].VisitKey, minute[j].VisitKey) })
		out = append(out, minute...)
		minute = minute[:0]
	}
	err := s.view(ctx, op, func(tx *bolt.Tx) error {
		if !validCode(q.Code) {
			return nil
		}
		prefix := appendVisitPrefix(nil, q.Code)
		from := binary.BigEndian.AppendUint64(bytes.Clone(prefix), flip(q.From.Unix()))
		to := binary.BigEndian.AppendUint64(bytes.Clone(prefix), flip(q.To.Unix()))
		c := tx.Bucket(bVisits).Cursor()
		k, v := c.Seek(to)
		if k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
		// Keys in [from, to) all start with the code's prefix.
		for ; k != nil && bytes.Compare(k, from) >= 0; k, v = c.Prev() {
			if bytes.Compare(k, to) >= 0 {
				continue // c.Last() past the end of the code's range
			}
			d, err := decodeVisitKey(k, len(prefix))
			if err != nil {
				return err
			}
			if d.bot && q.ExcludeBots {
				continue
			}
			if len(minute) > 0 && minute[0].Minute != d.minute {
				if flush(); len(out) >= q.Limit {
					break
				}
			}
			minute = append(minute, storage.VisitCount{VisitKey: storage.VisitKey{
				Code: q.Code, Minute: d.minute, Referrer: d.ref, Device: d.dev,
				Browser: d.br, OS: d.os, Country: d.cc, Bot: d.bot,
			}, Visits: u64(v)})
		}
		flush()
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

// DeleteVisits removes code's aggregate rows and its total in one
// transaction and returns the total. The applied-batch marks stay, so a
// replay of a batch written before still counts nothing.
func (s *Store) DeleteVisits(ctx context.Context, code string) (uint64, error) {
	var n uint64
	err := s.update(ctx, fmt.Sprintf("delete visits of %q", code), func(tx *bolt.Tx) error {
		if !validCode(code) {
			return nil
		}
		totals := tx.Bucket(bTotals)
		n = u64(totals.Get([]byte(code)))
		prefix := appendVisitPrefix(nil, code)
		c := tx.Bucket(bVisits).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
			if err := c.Delete(); err != nil {
				return fmt.Errorf("delete visits: %w", err)
			}
		}
		return totals.Delete([]byte(code))
	})
	return n, err
}
