package clickhouse

import (
	"errors"
	"testing"
	"time"

	"github.com/minibitly/minibitly/internal/harness"
	"github.com/minibitly/minibitly/storage"
)

var t0 = time.Date(2024, 3, 10, 12, 0, 0, 0, time.UTC).Unix()

func row(code string, minute int64, ref string, n uint64) storage.VisitCount {
	return storage.VisitCount{VisitKey: storage.VisitKey{Code: code, Minute: minute, Referrer: ref,
		Device: "desktop", Browser: "Chrome", OS: "Linux", Country: "DE"}, Visits: n}
}

func TestStore_Migrate(t *testing.T) {
	s := openFresh(t)
	for range 3 {
		if err := s.Migrate(t.Context()); err != nil {
			t.Fatalf("Migrate again: %v", err)
		}
	}
}

// TestStore_DuplicateBatch writes a batch three times: the table holds the
// copies until parts merge, yet every read, and the documented user SQL,
// counts it once; after OPTIMIZE … FINAL a plain sum() agrees.
func TestStore_DuplicateBatch(t *testing.T) {
	s := openFresh(t)
	ctx := t.Context()
	b := storage.VisitBatch{NodeID: "n1", Seq: 7, Rows: []storage.VisitCount{
		row("dup", t0, "a.com", 3), row("dup", t0+60, "", 4), row("dup", t0, "a.com", 2),
	}}
	for range 3 {
		if err := s.WriteVisits(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.WriteVisits(ctx, storage.VisitBatch{NodeID: "n2", Seq: 7, Rows: []storage.VisitCount{row("dup", t0, "a.com", 10)}}); err != nil {
		t.Fatal(err)
	}
	var raw, rows uint64
	if err := s.conn.QueryRow(ctx, "SELECT sum(visits), count() FROM "+s.table+" WHERE code = 'dup'").Scan(&raw, &rows); err != nil {
		t.Fatal(err)
	}
	t.Logf("before merges: %d rows, plain sum(visits) = %d", rows, raw)
	if n, err := s.VisitTotal(ctx, "dup"); err != nil || n != 19 {
		t.Fatalf("VisitTotal = %d, %v; want 19", n, err)
	}
	checkUserSQL(t, s, "dup", 19)
	if err := s.conn.Exec(ctx, "OPTIMIZE TABLE "+s.table+" FINAL"); err != nil {
		t.Fatal(err)
	}
	if err := s.conn.QueryRow(ctx, "SELECT sum(visits), count() FROM "+s.table+" WHERE code = 'dup'").Scan(&raw, &rows); err != nil {
		t.Fatal(err)
	}
	if raw != 19 || rows != 3 {
		t.Fatalf("after OPTIMIZE FINAL: %d rows, sum(visits) = %d; want 3 rows, 19", rows, raw)
	}
}

// TestStore_RunningTotalsReplace: a node's flushes of one bucket carry its
// running total; retries and later flushes replace the row, so after
// merges a bucket holds one row per node, and every read is exact before.
func TestStore_RunningTotalsReplace(t *testing.T) {
	s := openFresh(t)
	ctx := t.Context()
	cum := func(node string, seq, visits, total uint64) storage.VisitBatch {
		r := row("hot", t0, "a.com", visits)
		r.Cumulative = total
		return storage.VisitBatch{NodeID: node, Seq: seq, Rows: []storage.VisitCount{r}}
	}
	for _, b := range []storage.VisitBatch{
		cum("n1", 1, 5, 5), cum("n1", 2, 4, 9), cum("n1", 2, 4, 9), // a retry
		cum("n1", 3, 3, 12), cum("n2", 1, 4, 4),
		// A bucket n1 no longer tracks: counts on its own.
		{NodeID: "n1", Seq: 4, Rows: []storage.VisitCount{row("hot", t0, "a.com", 2)}},
		cum("n1", 2, 4, 9), // a late retry of an older flush: the newer total stays
	} {
		if err := s.WriteVisits(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	const want = 12 + 4 + 2
	if n, err := s.VisitTotal(ctx, "hot"); err != nil || n != want {
		t.Fatalf("VisitTotal = %d, %v; want %d", n, err, want)
	}
	checkUserSQL(t, s, "hot", want)
	if err := s.conn.Exec(ctx, "OPTIMIZE TABLE "+s.table+" FINAL"); err != nil {
		t.Fatal(err)
	}
	var raw, rows uint64
	if err := s.conn.QueryRow(ctx, "SELECT sum(visits), count() FROM "+s.table+" WHERE code = 'hot'").Scan(&raw, &rows); err != nil {
		t.Fatal(err)
	}
	if raw != want || rows != 3 {
		t.Fatalf("after OPTIMIZE FINAL: %d rows, plain sum(visits) = %d; want 3 rows (n1, n2, n1's untracked batch), %d", rows, raw, want)
	}
}

// TestStore_MigratesFirstSchema: a visits table of the first schema (one
// row per bucket and batch) is moved aside, copied once per bucket into the
// current one and dropped; the totals stay, and Migrate can run again.
func TestStore_MigratesFirstSchema(t *testing.T) {
	s := openFresh(t)
	ctx := t.Context()
	for _, q := range []string{"DROP TABLE " + s.table, `CREATE TABLE ` + s.table + ` (
    code String, minute DateTime, referrer String, device String, browser String, os String,
    country String, bot UInt8, visits UInt64, node_id String, flush_seq UInt64
) ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(minute)
ORDER BY (code, minute, referrer, device, browser, os, country, bot, node_id, flush_seq)`,
		// Two batches of one bucket, the second written twice (a retry), and another code.
		"INSERT INTO " + s.table + " SELECT 'old', toDateTime(1700000040), 'a.com', 'desktop', 'Chrome', 'Linux', 'DE', 0, 3, 'n', 1",
		"INSERT INTO " + s.table + " SELECT 'old', toDateTime(1700000040), 'a.com', 'desktop', 'Chrome', 'Linux', 'DE', 0, 4, 'n', 2",
		"INSERT INTO " + s.table + " SELECT 'old', toDateTime(1700000040), 'a.com', 'desktop', 'Chrome', 'Linux', 'DE', 0, 4, 'n', 2",
		"INSERT INTO " + s.table + " SELECT 'other', toDateTime(1700000100), '', 'mobile', 'Safari', 'iOS', '', 1, 6, 'm', 9",
	} {
		if err := s.conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for range 2 {
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		for code, want := range map[string]uint64{"old": 7, "other": 6} {
			if n, err := s.VisitTotal(ctx, code); err != nil || n != want {
				t.Fatalf("VisitTotal(%s) = %d, %v after the migration; want %d", code, n, err, want)
			}
		}
	}
	if old, err := s.hasColumn(ctx, legacyTable, "flush_seq"); err != nil || old {
		t.Fatalf("the first-schema table is still there (%v)", err)
	}
	// An interrupted migration (moved aside, not yet copied) completes.
	if err := s.conn.Exec(ctx, "CREATE TABLE "+s.tableNamed(legacyTable)+` (
    code String, minute DateTime, referrer String, device String, browser String, os String,
    country String, bot UInt8, visits UInt64, node_id String, flush_seq UInt64
) ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(minute)
ORDER BY (code, minute, referrer, device, browser, os, country, bot, node_id, flush_seq)`); err != nil {
		t.Fatal(err)
	}
	if err := s.conn.Exec(ctx, "INSERT INTO "+s.tableNamed(legacyTable)+" SELECT 'late', toDateTime(1700000040), '', 'desktop', 'Chrome', 'Linux', '', 0, 5, 'n', 3"); err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := s.VisitTotal(ctx, "late"); err != nil || n != 5 {
		t.Fatalf("VisitTotal(late) = %d, %v; want 5", n, err)
	}
}

// checkUserSQL runs the exact-before-merges queries of docs/storage.md.
func checkUserSQL(t *testing.T, s *Store, code string, want uint64) {
	t.Helper()
	for name, q := range map[string]string{
		"GROUP BY": "SELECT sum(visits) FROM (SELECT argMax(visits, version) AS visits FROM " + s.table +
			" WHERE code = " + quote(code) + " GROUP BY " + bucketKey + ")",
		"FINAL": "SELECT sum(visits) FROM " + s.table + " FINAL WHERE code = " + quote(code),
	} {
		var n uint64
		if err := s.conn.QueryRow(t.Context(), q).Scan(&n); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if n != want {
			t.Fatalf("user SQL (%s) = %d, want %d", name, n, want)
		}
	}
}

func TestOpen_Unreachable(t *testing.T) {
	if testing.Short() {
		t.Skip("real servers")
	}
	_, err := Open(t.Context(), func() Config {
		c := config("clickhouse://127.0.0.1:1/x")
		c.DialTimeout = time.Second
		return c
	}())
	if !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("Open of an unreachable server: %v, want ErrUnavailable", err)
	}
	for _, bad := range []string{"", "http://127.0.0.1:8123/x", "clickhouse://127.0.0.1:9000/bad-name"} {
		if _, err := Open(t.Context(), config(bad)); err == nil || errors.Is(err, storage.ErrUnavailable) {
			t.Fatalf("Open(%q): %v, want a configuration error", bad, err)
		}
	}
}

// TestStore_ServerStopped: with the server down WriteVisits, Stats and Ping
// fail with ErrUnavailable; after the restart the same batch is written
// (counted once even if the failed attempt had landed) and reads agree.
func TestStore_ServerStopped(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a real ClickHouse server (skipped with -short)")
	}
	srv := harness.StartClickHouse(t) // its own: this test stops it
	s := openURL(t, func() Config {
		c := config(srv.URL())
		c.DialTimeout, c.QueryTimeout = time.Second, 5*time.Second
		return c
	}())
	ctx := t.Context()
	if err := s.WriteVisits(ctx, storage.VisitBatch{NodeID: "n", Seq: 1, Rows: []storage.VisitCount{row("x", t0, "", 5)}}); err != nil {
		t.Fatal(err)
	}
	srv.Stop(t)
	b2 := storage.VisitBatch{NodeID: "n", Seq: 2, Rows: []storage.VisitCount{row("x", t0+60, "", 7)}}
	if err := s.WriteVisits(ctx, b2); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("WriteVisits with the server stopped: %v, want ErrUnavailable", err)
	}
	if _, err := s.VisitTotal(ctx, "x"); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("VisitTotal with the server stopped: %v, want ErrUnavailable", err)
	}
	if err := s.Ping(ctx); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("Ping with the server stopped: %v, want ErrUnavailable", err)
	}
	srv.Start(t)
	harness.Eventually(t, 30*time.Second, func() error {
		err := s.WriteVisits(ctx, b2)
		if err != nil && !errors.Is(err, storage.ErrUnavailable) {
			t.Fatalf("WriteVisits after the restart: %v", err)
		}
		return err
	})
	if err := s.WriteVisits(ctx, b2); err != nil { // a retry of a batch that landed
		t.Fatal(err)
	}
	if n, err := s.VisitTotal(ctx, "x"); err != nil || n != 12 {
		t.Fatalf("VisitTotal after the restart = %d, %v; want 12", n, err)
	}
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"abc": `'abc'`, "a'b": `'a\x27b'`, `a\b`: `'a\x5cb'`, "a\x00": `'a\x00'`, "é": `'\xc3\xa9'`,
	} {
		if got := quote(in); got != want {
			t.Errorf("quote(%q) = %s, want %s", in, got, want)
		}
	}
}
