package clickhouse

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"
)

// The scale benchmark's data (issue 11 §3): benchRows aggregate rows
// (~10.5 visits each, so ~1B visits for 100M rows) over benchDays days of
// benchCodes codes with a skewed split:
//
//   - 10 hot codes (c1000000 … c1000009) get 50 % of the rows, ~5 % each;
//   - the next 1,000 (c1000010 … c1001009) get 30 %;
//   - the remaining 998,990 codes (the tail) get 20 %, ~20 rows each.
//
// Rows are laid out in time order: generated row n falls in second
// n·30d/total of the period, on node n mod 3, and its flush_seq is that
// second (one flush per second per node, so the rows of one flush share
// node_id and flush_seq, and seq grows with time per node). Dimensions come
// from a hash of n, as in fillSynthetic. On top, benchRetryPct % of each
// chunk is inserted a second time, identically: retried batches.
const (
	benchDays     = 30
	benchCodes    = 1_000_000
	benchHot      = 10
	benchWarm     = 1_000
	benchChunk    = 10_000_000
	benchRetryPct = 1
)

// benchRowsDefault is the default size; MINIBITLY_BENCH_ROWS overrides it
// (e.g. 10000000 for a quick run).
const benchRowsDefault = 100_000_000

// benchBase is the first minute of the benchmark data.
var benchBase = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)

// benchRows is the number of generated rows (before retried duplicates).
func benchRows(b *testing.B) uint64 {
	v := os.Getenv("MINIBITLY_BENCH_ROWS")
	if v == "" {
		return benchRowsDefault
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || n == 0 {
		b.Fatalf("MINIBITLY_BENCH_ROWS=%q: want a positive integer", v)
	}
	return n
}

// benchCode is the code of code index i (0 = hottest): 8 bytes, unique.
func benchCode(i int) string { return "c" + strconv.Itoa(benchCodes+i) }

// benchSelect is the generator: a SELECT yielding the generated rows
// [offset, offset+n) of total, with the columns of visitsColumns (same
// names and order). It runs inside ClickHouse over system.numbers and
// works on 18.16.
func benchSelect(total, offset, n uint64) string {
	period := uint64(benchDays * 24 * 3600)
	return fmt.Sprintf(`SELECT
	concat('c', toString(%[1]d + multiIf(
		h1 %% 100 < 50, h2 %% %[2]d,
		h1 %% 100 < 80, %[2]d + h2 %% %[3]d,
		%[2]d + %[3]d + h2 %% %[4]d))) AS code,
	toDateTime(%[5]d + intDiv(sec, 60) * 60) AS minute,
	['', 'google.com', 't.co', 'news.ycombinator.com', 'bing.com', 'facebook.com', 'example.org'][d %% 7 + 1] AS referrer,
	['desktop', 'mobile', 'tablet', 'bot', 'other'][intDiv(d, 7) %% 5 + 1] AS device,
	['Chrome', 'Safari', 'Firefox', 'Edge'][intDiv(d, 35) %% 4 + 1] AS browser,
	['Windows', 'macOS', 'Linux', 'iOS', 'Android', 'other'][intDiv(d, 140) %% 6 + 1] AS os,
	['', 'DE', 'US', 'FR', 'GB', 'JP', 'BR', 'IN'][intDiv(d, 840) %% 8 + 1] AS country,
	toUInt8(intDiv(d, 7) %% 5 = 3) AS bot,
	toUInt64(1 + intDiv(d, 6720) %% 20) AS visits,
	concat('node-', toString(n %% 3)) AS node_id,
	toUInt64(sec + 1) AS flush_seq
FROM (
	SELECT number + %[6]d AS n, intHash64(n) AS h1, cityHash64(n) AS h2, sipHash64(n) AS d,
		intDiv(n * %[7]d, %[8]d) AS sec
	FROM system.numbers LIMIT %[9]d
)`, benchCodes, benchHot, benchWarm, benchCodes-benchHot-benchWarm,
		benchBase.Unix(), offset, period, total, n)
}

// benchLayout is a schema the scale benchmark fills and measures. Only
// Insert and Tables depend on the schema; the queries go through the Store.
type benchLayout struct {
	Name string
	// Insert returns the statement that stores the generated rows
	// [offset, offset+n) of total (benchSelect) into s's tables.
	Insert func(s *Store, total, offset, n uint64) []string
	// Tables are the tables (without database) whose rows and bytes are
	// reported and which OPTIMIZE … FINAL merges.
	Tables []string
}

// layoutRunningTotals is the schema of issue 11: each generated row is a
// writer's (node's) running total of its bucket, versioned by its flush
// (rows of one bucket and node replace each other, newest wins), and the
// hourly and daily rollups hold the same rows summed per hour and day,
// one writer per node and generated chunk (a chunk of rows is what a
// node's flusher would have written for those hours). The figures of the
// first schema (keyed by (…, node_id, flush_seq), rows inserted as flushed)
// are in docs/storage.md: its code is gone, so it is not re-measured.
var layoutRunningTotals = benchLayout{
	Name: "issue 11 (running totals per bucket and writer, hourly and daily rollups)",
	Insert: func(s *Store, total, offset, n uint64) []string {
		gen := benchSelect(total, offset, n)
		stmts := []string{"INSERT INTO " + s.table + " (" + visitsColumns + ")\n" +
			`SELECT code, minute, referrer, device, browser, os, country, bot, visits, node_id, flush_seq FROM (` + gen + `)`}
		for _, r := range []struct{ table, bucket string }{{"visits_hourly", "toStartOfHour(minute)"}, {"visits_daily", "toStartOfDay(minute)"}} {
			for _, d := range rollupDims {
				stmts = append(stmts, "INSERT INTO "+s.tableNamed(r.table)+" ("+rollupColumns+")\n"+
					`SELECT code, `+r.bucket+` AS b, '`+d.dim+`', `+d.value+` AS v, sum(visits),
	concat(node_id, '/c', toString(`+fmt.Sprint(offset/benchChunk)+`)) AS w, max(flush_seq)
FROM (`+gen+`) WHERE `+d.where+` GROUP BY code, b, v, w`)
			}
		}
		return stmts
	},
	Tables: []string{"visits", "visits_hourly", "visits_daily"},
}

// fillBenchData generates the benchmark data into s with layout, in chunks
// of benchChunk rows, each followed by its retried duplicates, and logs
// progress and the generation time.
func fillBenchData(b *testing.B, s *Store, layout benchLayout) time.Duration {
	b.Helper()
	total := benchRows(b)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Hour)
	defer cancel()
	start := time.Now()
	for off := uint64(0); off < total; off += benchChunk {
		n := min(benchChunk, total-off)
		t0 := time.Now()
		stmts := layout.Insert(s, total, off, n)
		// Retried batches: the first 1 % of the chunk again (whole flushes,
		// as rows are in time order).
		stmts = append(stmts, layout.Insert(s, total, off, n*benchRetryPct/100)...)
		for _, q := range stmts {
			if err := s.conn.Exec(ctx, q); err != nil {
				b.Fatalf("generate rows %d+%d: %v", off, n, err)
			}
		}
		b.Logf("generated rows %d–%d of %d (+%d%% retried) in %s", off, off+n, total,
			benchRetryPct, time.Since(t0).Round(time.Millisecond))
	}
	d := time.Since(start)
	b.Logf("generation of %d rows (+%d%% retried) into %s took %s", total, benchRetryPct, layout.Name, d.Round(time.Second))
	return d
}
