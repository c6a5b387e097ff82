package clickhouse

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/minibitly/minibitly/storage"
)

// WriteVisits inserts one batch into the three tables — visits by minute
// and dimensions, visits_hourly and visits_daily by hour or day and one
// dimension value at a time (storage.RollupCount) — one block each, one row
// per bucket and writer, versioned by the batch's sequence:
//
//   - a row with a running total (Cumulative > 0) is written under the
//     batch's node (with "/<epoch>" after a first epoch) with that total:
//     the node's later flushes of the bucket replace it, so a bucket keeps
//     one row per writer;
//   - a row without one (a bucket the node no longer tracks, or a batch
//     that carries none) is written under node_id "<node>~<seq>", a writer
//     of its own, with the batch's visits of the bucket.
//
// A batch without hourly and daily rows gets them derived from its minute
// rows, written on their own. The daily rows go first, then the hourly,
// then the minute rows: once a batch's minute rows are visible, so are its
// rollups. A retry re-sends the same rows under the same version, which
// the ReplacingMergeTree and the reads collapse. An empty batch writes
// nothing.
// StoresRunningTotals is true: see WriteVisits (storage.TotalsSink).
func (s *Store) StoresRunningTotals() bool { return true }

func (s *Store) WriteVisits(ctx context.Context, b storage.VisitBatch) error {
	if len(b.Rows) == 0 {
		return nil
	}
	op := fmt.Sprintf("write visits %q/%d", b.NodeID, b.Seq)
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	for _, r := range []struct {
		t    visitTable
		rows []storage.RollupCount
	}{{s.tables()[2], b.Daily}, {s.tables()[1], b.Hourly}} {
		rows := r.rows
		if rows == nil {
			for _, v := range b.Rows {
				rows = storage.Rollups(rows, v, r.t.width)
			}
		}
		if err := s.insertRollups(ctx, r.t.name, b, rows); err != nil {
			return mapErr(ctx, op+" into "+r.t.short, err)
		}
	}
	if err := s.insert(ctx, s.table, b, b.Rows); err != nil {
		return mapErr(ctx, op+" into visits", err)
	}
	return nil
}

// writerOf is the node_id a row is written under.
func writerOf(b storage.VisitBatch, own bool, epoch uint32) string {
	switch {
	case own:
		return b.NodeID + "~" + strconv.FormatUint(b.Seq, 10)
	case epoch > 0:
		return b.NodeID + "/" + strconv.FormatUint(uint64(epoch), 10)
	}
	return b.NodeID
}

// writerSums sums rows per key and writer: a row on its own adds its
// visits, running totals of one writer keep the largest. It returns the
// keys in first-seen order.
func writerSums[R any, K comparable](rows []R, key func(R) K, own func(R) bool, visits func(R) uint64) ([]writerKey[K], map[writerKey[K]]uint64) {
	sums := make(map[writerKey[K]]uint64, len(rows))
	keys := make([]writerKey[K], 0, len(rows))
	for _, r := range rows {
		k := writerKey[K]{key: key(r), own: own(r)}
		if _, ok := sums[k]; !ok {
			keys = append(keys, k)
		}
		if k.own {
			sums[k] += visits(r)
		} else {
			sums[k] = max(sums[k], visits(r))
		}
	}
	return keys, sums
}

type writerKey[K comparable] struct {
	key K
	own bool // counts on its own
}

func (s *Store) insert(ctx context.Context, table string, b storage.VisitBatch, rows []storage.VisitCount) error {
	type key struct {
		storage.VisitKey
		epoch uint32
	}
	keys, sums := writerSums(rows, func(r storage.VisitCount) key {
		if r.Cumulative == 0 {
			return key{VisitKey: r.VisitKey}
		}
		return key{r.VisitKey, r.Epoch}
	}, func(r storage.VisitCount) bool { return r.Cumulative == 0 }, countOf(storage.VisitCount.Counts))
	batch, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+table+" ("+visitsColumns+")")
	if err != nil {
		return err
	}
	defer batch.Abort() //nolint:errcheck // no-op after Send
	for _, k := range keys {
		var bot uint8
		if k.key.Bot {
			bot = 1
		}
		if err := batch.Append(k.key.Code, time.Unix(k.key.Minute, 0).UTC(), k.key.Referrer, k.key.Device, k.key.Browser,
			k.key.OS, k.key.Country, bot, sums[k], writerOf(b, k.own, k.key.epoch), b.Seq); err != nil {
			return err
		}
	}
	return batch.Send()
}

func (s *Store) insertRollups(ctx context.Context, table string, b storage.VisitBatch, rows []storage.RollupCount) error {
	type key struct {
		storage.RollupKey
		epoch uint32
	}
	keys, sums := writerSums(rows, func(r storage.RollupCount) key {
		if r.Cumulative == 0 {
			return key{RollupKey: r.Key()}
		}
		return key{r.Key(), r.Epoch}
	}, func(r storage.RollupCount) bool { return r.Cumulative == 0 }, countOf(storage.RollupCount.Counts))
	batch, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+table+" ("+rollupColumns+")")
	if err != nil {
		return err
	}
	defer batch.Abort() //nolint:errcheck // no-op after Send
	for _, k := range keys {
		if err := batch.Append(k.key.Code, time.Unix(k.key.Bucket, 0).UTC(), k.key.Dim, k.key.Value, sums[k],
			writerOf(b, k.own, k.key.epoch), b.Seq); err != nil {
			return err
		}
	}
	return batch.Send()
}

// countOf is what a row adds to its writer's sum: its visits when it
// counts on its own, its running total otherwise.
func countOf[R any](counts func(R) (visits, cumulative uint64)) func(R) uint64 {
	return func(r R) uint64 {
		v, c := counts(r)
		if c == 0 {
			return v
		}
		return c
	}
}

// source returns the FROM clause that yields each stored bucket of the
// minute table once per writer, at its newest version, restricted by where.
func (s *Store) source(where string, mode readMode) string {
	return sourceOf(s.table, bucketKey, where, mode)
}

// sourceOf is source over table, whose rows are identified by key.
func sourceOf(table, key, where string, mode readMode) string {
	if mode == readFinal {
		return table + " FINAL WHERE " + where
	}
	return `(SELECT ` + key + `, argMax(visits, version) AS visits FROM ` + table +
		` WHERE ` + where + ` GROUP BY ` + key + `)`
}

// mode returns the read mode, auto resolving to def.
func (s *Store) mode(def readMode) readMode {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.readMode == readAuto {
		return def
	}
	return s.readMode
}

// span is a part of a stats range read from one table.
type span struct {
	t      visitTable
	lo, hi int64
}

// spans splits [from, to) over the coarsest tables that answer it exactly,
// no coarser than maxWidth: whole days from the daily table, whole hours
// around them from the hourly one, the minutes at the edges from the minute
// table.
func (s *Store) spans(from, to, maxWidth int64) []span {
	t := s.tables()
	var out []span
	var add func(from, to int64, level int)
	add = func(from, to int64, level int) {
		if from >= to {
			return
		}
		for level > 0 && t[level].width > maxWidth {
			level--
		}
		if level == 0 {
			out = append(out, span{t[0], from, to})
			return
		}
		w := t[level].width
		lo, hi := (from+w-1)/w*w, to/w*w
		if lo >= hi {
			add(from, to, level-1)
			return
		}
		add(from, lo, level-1)
		out = append(out, span{t[level], lo, hi})
		add(hi, to, level-1)
	}
	add(from, to, len(t)-1)
	return out
}

func spanWhere(code string, sp span) string {
	return fmt.Sprintf("code = %s AND minute >= toDateTime(%d) AND minute < toDateTime(%d)", quote(code), sp.lo, sp.hi)
}

// VisitTotal is every visit of code ever stored: the newest row of each
// bucket and writer, summed.
func (s *Store) VisitTotal(ctx context.Context, code string) (uint64, error) {
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	var n uint64
	// Every visit is in the daily table once.
	q := `SELECT sum(visits) FROM ` + sourceOf(s.tableNamed("visits_daily"), rollupKey, "code = "+quote(code)+" AND dim = ''", s.mode(readGroupBy))
	if err := retry(ctx, func() error { return s.conn.QueryRow(ctx, q).Scan(&n) }); err != nil {
		return 0, mapErr(ctx, fmt.Sprintf("visit total %q", code), err)
	}
	return n, nil
}

// breakdowns are the Stats dimensions: the kind tag that marks a
// breakdown's rows in statsSQL's UNION ALL, and the column it groups by.
// Stats files each kind's rows into its Stats list (the lists map there).
var breakdowns = []struct{ kind, column string }{
	{"r", "referrer"}, {"d", "device"}, {"b", "browser"}, {"o", "os"}, {"c", "country"},
}

// statsSQL answers q in one query: the series (with totals and bots) and
// the five top-N breakdowns, ordered like storage.SortBuckets, as UNION ALL
// branches. Each branch reads the newest row per bucket and writer of the
// code in [From, To): the minutes at the edges from visits, whole hours and
// days from the rollups' rows of the dimension it needs (spans).
func (s *Store) statsSQL(q storage.StatsQuery, mode readMode) string {
	from, to := clampDateTime(q.From.Unix()), clampDateTime(q.To.Unix())
	w := q.Interval.Seconds()
	sps := s.spans(from, to, w)
	top := q.TopN
	if top <= 0 {
		top = 10
	}
	// union is the rows of every span: minute rows as minuteCols, rollup
	// rows of dims as rollupCols.
	union := func(minuteCols, rollupCols, dims string) string {
		var parts []string
		for _, sp := range sps {
			where := spanWhere(q.Code, sp)
			if sp.t.width == 60 {
				parts = append(parts, "SELECT "+minuteCols+" FROM "+sourceOf(sp.t.name, bucketKey, where, mode))
			} else {
				parts = append(parts, "SELECT "+rollupCols+" FROM "+sourceOf(sp.t.name, rollupKey, where+" AND dim IN ("+dims+")", mode))
			}
		}
		if len(parts) == 0 { // an empty range
			parts = append(parts, "SELECT "+minuteCols+" FROM "+sourceOf(s.table, bucketKey, "0", mode))
		}
		return "(" + strings.Join(parts, " UNION ALL ") + ")"
	}
	tcol := fmt.Sprintf("toUInt32(intDiv(toUInt32(minute), %d) * %d) AS t", w, w)
	series := union(tcol+", visits AS v, if(bot = 1, visits, 0) AS b",
		tcol+", if(dim = '', visits, 0) AS v, if(dim = 'bot', visits, 0) AS b", "'', 'bot'")
	parts := []string{`SELECT 's' AS kind, '' AS key, t, toUInt64(sum(v)) AS v, toUInt64(sum(b)) AS bots
FROM ` + series + ` GROUP BY t`}
	for _, b := range breakdowns {
		src := union(b.column+" AS key, visits AS v", "value AS key, visits AS v", quote(b.column))
		parts = append(parts, fmt.Sprintf(`SELECT * FROM (SELECT '%s' AS kind, key, toUInt32(0) AS t,
	toUInt64(sum(v)) AS v, toUInt64(0) AS bots
FROM %s GROUP BY key ORDER BY v DESC, key ASC LIMIT %d)`, b.kind, src, top))
	}
	return strings.Join(parts, "\nUNION ALL\n")
}

// clampDateTime keeps a unix time inside DateTime's range.
func clampDateTime(sec int64) int64 { return min(max(sec, 0), 1<<32-1) }

// Stats answers q with ClickHouse SQL; see statsSQL. The series is made
// dense in Go (storage.SeriesBounds).
func (s *Store) Stats(ctx context.Context, q storage.StatsQuery) (storage.Stats, error) {
	if err := storage.ValidateStatsQuery(q); err != nil {
		return storage.Stats{}, err
	}
	op := fmt.Sprintf("stats %q", q.Code)
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	sql := s.statsSQL(q, s.mode(readFinal))
	var rows driver.Rows
	err := retry(ctx, func() (err error) { rows, err = s.conn.Query(ctx, sql); return err })
	if err != nil {
		return storage.Stats{}, mapErr(ctx, op, err)
	}
	defer rows.Close()

	start, n := storage.SeriesBounds(q)
	w := q.Interval.Seconds()
	st := storage.Stats{Series: make([]storage.Point, n)}
	for i := range st.Series {
		st.Series[i].T = time.Unix(start+int64(i)*w, 0).UTC()
	}
	lists := map[string]*[]storage.Bucket{
		"r": &st.Referrers, "d": &st.Devices, "b": &st.Browsers, "o": &st.OS, "c": &st.Countries,
	}
	for rows.Next() {
		var (
			kind, key string
			t         uint32
			v, bots   uint64
		)
		if err := rows.Scan(&kind, &key, &t, &v, &bots); err != nil {
			return storage.Stats{}, mapErr(ctx, op, err)
		}
		if kind == "s" {
			if i := (int64(t) - start) / w; i >= 0 && i < int64(n) {
				st.Series[i].Visits += v
			}
			st.Total += v
			st.Bots += bots
			continue
		}
		if l := lists[kind]; l != nil {
			*l = append(*l, storage.Bucket{Key: key, Visits: v})
		}
	}
	if err := rows.Err(); err != nil {
		return storage.Stats{}, mapErr(ctx, op, err)
	}
	st.Humans = st.Total - st.Bots
	for _, l := range lists {
		storage.SortBuckets(*l) // UNION ALL branches may interleave
		*l = slices.Clip(*l)
	}
	return st, nil
}

// VisitRows sums each bucket over its (deduplicated) batches, in
// storage.LessVisitKey order within a minute (strings compare bytewise in
// ClickHouse as in Go).
func (s *Store) VisitRows(ctx context.Context, q storage.VisitRowsQuery) ([]storage.VisitCount, error) {
	op := fmt.Sprintf("visit rows %q", q.Code)
	if err := storage.ValidateVisitRowsQuery(q); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	// The newest rows first: a window back from To that already holds
	// Limit rows holds the answer (every row in it is newer than any
	// before it), so a hot link's page reads its last hours, not its life.
	from, to := clampDateTime(q.From.Unix()), clampDateTime(q.To.Unix())
	for _, back := range []int64{3600, 86400, 7 * 86400, 31 * 86400, 0} {
		lo := from
		if back > 0 {
			lo = max(from, to-back)
		}
		out, err := s.visitRows(ctx, q, lo, to)
		if err != nil {
			return nil, mapErr(ctx, op, err)
		}
		if len(out) >= q.Limit || lo == from {
			return out, nil
		}
	}
	panic("unreachable")
}

// visitRows is VisitRows over [from, to).
func (s *Store) visitRows(ctx context.Context, q storage.VisitRowsQuery, from, to int64) ([]storage.VisitCount, error) {
	where := fmt.Sprintf("code = %s AND minute >= toDateTime(%d) AND minute < toDateTime(%d)", quote(q.Code), from, to)
	if q.ExcludeBots {
		where += " AND bot = 0"
	}
	const dims = `minute, referrer, device, browser, os, country, bot`
	sql := fmt.Sprintf(`SELECT toUInt32(minute) AS m, referrer, device, browser, os, country, bot, toUInt64(sum(visits)) AS v
FROM %s GROUP BY %s ORDER BY m DESC, referrer, device, browser, os, country, bot LIMIT %d`,
		s.source(where, s.mode(readFinal)), dims, q.Limit)
	var rows driver.Rows
	err := retry(ctx, func() (err error) { rows, err = s.conn.Query(ctx, sql); return err })
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []storage.VisitCount
	for rows.Next() {
		var (
			m   uint32
			bot uint8
			r   storage.VisitCount
		)
		if err := rows.Scan(&m, &r.Referrer, &r.Device, &r.Browser, &r.OS, &r.Country, &bot, &r.Visits); err != nil {
			return nil, err
		}
		r.Code, r.Minute, r.Bot = q.Code, int64(m), bot == 1
		out = append(out, r)
	}
	return out, rows.Err()
}

// mutationPoll is how often DeleteVisits looks whether its mutation is done.
const mutationPoll = 50 * time.Millisecond

// DeleteVisits counts code's visits (duplicates collapsed, as VisitTotal),
// deletes its rows with ALTER TABLE … DELETE — an asynchronous mutation on
// every ClickHouse release — and waits, within the query timeout, until
// system.mutations reports every mutation of the table done, so the next
// read sees no visit of code. A batch retried after the delete that had
// been written before it (its first write's answer was lost) would bring
// its rows back: the flusher retries within seconds, so this needs a delete
// during a ClickHouse hiccup; docs/storage.md says so.
func (s *Store) DeleteVisits(ctx context.Context, code string) (uint64, error) {
	op := fmt.Sprintf("delete visits of %q", code)
	n, err := s.VisitTotal(ctx, code)
	if err != nil {
		return 0, err
	}
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	if n == 0 {
		// Nothing in the daily table; the minute table may still hold rows
		// (a migration copying, daily partitions dropped): delete those.
		var rows uint64
		if err := s.conn.QueryRow(ctx, `SELECT count() FROM `+s.table+` WHERE code = `+quote(code)).Scan(&rows); err != nil {
			return 0, mapErr(ctx, op, err)
		}
		if rows == 0 {
			return 0, nil
		}
	}
	var tables []string
	for _, t := range s.tables() {
		tables = append(tables, t.short)
	}
	if err := s.deleteCode(ctx, op, code, tables...); err != nil {
		return 0, err
	}
	return n, nil
}

// deleteCode removes code's rows from tables (short names) with one
// ALTER … DELETE each, and waits until the mutations are done (see
// awaitMutations).
func (s *Store) deleteCode(ctx context.Context, op, code string, tables ...string) error {
	var since time.Time // the server's clock, for awaitMutations on a cluster
	if s.cluster != "" {
		if err := retry(ctx, func() error { return s.conn.QueryRow(ctx, "SELECT now()").Scan(&since) }); err != nil {
			return mapErr(ctx, op, err)
		}
	}
	var quoted []string
	for _, t := range tables {
		local := s.dataTable(t)
		quoted = append(quoted, quote(local))
		if err := s.conn.Exec(ctx, `ALTER TABLE `+s.tableNamed(local)+s.onCluster()+` DELETE WHERE code = `+quote(code)); err != nil {
			return mapErr(ctx, op, err)
		}
	}
	return s.awaitMutations(ctx, op, code, quoted, since)
}

// awaitMutations polls system.mutations until the delete of code from
// tables (quoted names) is done.
//
// On one server a mutation is registered before its ALTER returns, so none
// pending means done. On a cluster the ALTER is sent ON CLUSTER and makes
// one mutation per shard in ZooKeeper, which each replica loads into its
// system.mutations a moment later: none pending could mean none loaded
// yet. So on a cluster it waits until, on one replica of every shard (the
// cluster table function), each table has this delete — created since
// since, its command naming the code — and all of them are done.
func (s *Store) awaitMutations(ctx context.Context, op, code string, tables []string, since time.Time) error {
	var shards uint64
	mine := "1"
	if s.cluster != "" {
		if err := retry(ctx, func() error {
			return s.conn.QueryRow(ctx, `SELECT uniqExact(shard_num) FROM system.clusters WHERE cluster = `+quote(s.cluster)).Scan(&shards)
		}); err != nil {
			return mapErr(ctx, op+": count the shards", err)
		}
		mine = `create_time >= toDateTime(` + strconv.FormatInt(since.Unix(), 10) + `)`
		if codeChars.MatchString(code) { // as ClickHouse prints the command
			mine += ` AND position(command, ` + quote("'"+code+"'") + `) > 0`
		}
	}
	q := `SELECT table, countIf(is_done = 0), countIf(is_done = 1 AND ` + mine + `) FROM ` + s.systemTable("mutations") +
		` WHERE database = ` + quote(s.db) + ` AND table IN (` + strings.Join(tables, ", ") + `) GROUP BY table`
	for {
		var pending uint64
		done := map[string]uint64{}
		if err := retry(ctx, func() error {
			pending = 0
			clear(done)
			rows, err := s.conn.Query(ctx, q)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var t string
				var p, d uint64
				if err := rows.Scan(&t, &p, &d); err != nil {
					return err
				}
				pending += p
				done[quote(t)] = d
			}
			return rows.Err()
		}); err != nil {
			return mapErr(ctx, op+": wait for the mutation", err)
		}
		finished := pending == 0
		for _, t := range tables {
			if done[t] < shards { // on one server shards is 0
				finished = false
			}
		}
		if finished {
			return nil
		}
		select {
		case <-ctx.Done():
			return mapErr(ctx, op+": wait for the mutation", ctx.Err())
		case <-time.After(mutationPoll):
		}
	}
}

// codeChars are the bytes ClickHouse prints as they are in a string
// literal of a command (every short code's).
var codeChars = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
