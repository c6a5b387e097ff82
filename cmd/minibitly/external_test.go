package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/jackc/pgx/v5"

	"github.com/minibitly/minibitly/internal/harness"
)

// The tests in this file run the real binary against real PostgreSQL and
// ClickHouse servers: one of each per test binary, started on first use (so
// -short starts none), each test on its own databases. The outage tests stop
// and restart these shared servers, so the tests must not run in parallel.
var (
	pgShared = harness.NewShared(harness.LaunchPostgres)
	chShared = harness.NewShared(harness.LaunchClickHouse)
)

func TestMain(m *testing.M) { harness.RunAndClose(m, pgShared, chShared, chClusterShared) }

// extServers returns the shared servers, starting them on first use. A
// server a test stopped is restarted when the test ends, so one failed fault
// test does not take the next tests down with it.
func extServers(t testing.TB) (*harness.Postgres, *harness.ClickHouse) {
	t.Helper()
	pg, ch := pgShared.Get(t), chShared.Get(t)
	t.Cleanup(func() {
		pg.Start(t) // no-op when running
		ch.Start(t)
		if t.Failed() {
			t.Logf("postgres:\n%s\nclickhouse:\n%s", pg.Logs(), ch.Logs())
		}
	})
	return pg, ch
}

// extNode is one minibitly process on its own PostgreSQL and ClickHouse
// databases.
type extNode struct {
	*harness.Node
	base  string              // http://host:port
	pg    *harness.Postgres   // the shared servers: the outage tests stop them
	ch    *harness.ClickHouse //
	pgURL string
	chURL string
	db    chDB // the node's ClickHouse database
}

func startExternal(t *testing.T, flushInterval string) *extNode {
	t.Helper()
	pg, ch := extServers(t)
	e := &extNode{pg: pg, ch: ch, pgURL: pg.NewDatabase(t), chURL: ch.NewDatabase(t)}
	e.db = newCHDB(t, ch, e.chURL)
	addr := fmt.Sprintf("127.0.0.1:%d", harness.FreePort(t, "127.0.0.1"))
	e.base = "http://" + addr
	e.Node = harness.StartNode(t, harness.NodeConfig{Name: "external", HTTPAddr: addr, Args: []string{
		"--http-addr", addr, "--data-dir", t.TempDir(), "--shards", "8",
		"--flush-interval", flushInterval,
		"--postgres-url", e.pgURL, "--clickhouse-url", e.chURL,
	}, Env: []string{"MINIBITLY_INITIAL_API_KEY=" + extKey}})
	return e
}

const extKey = "mb_external_test_key_0123456789"

// create makes a link (generated code when code is empty) and returns its
// code; it fails t unless the answer is 201.
func (e *extNode) create(t *testing.T, code string) string {
	t.Helper()
	body := map[string]any{"url": "https://example.com/ext?c=" + code}
	if code != "" {
		body["code"] = code
	}
	var l struct {
		Code string `json:"code"`
	}
	if st := harness.Do(t, "POST", e.base+"/api/v1/links", extKey, body, &l); st != http.StatusCreated || l.Code == "" {
		t.Fatalf("create %q: status %d, code %q", code, st, l.Code)
	}
	return l.Code
}

// get sends a request and returns the status and body; transport errors are
// returned, not fatal, so it can run in goroutines and during outages.
func get(c *http.Client, method, u, key string, body io.Reader) (int, []byte, error) {
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		return 0, nil, err
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}

// hit makes one redirect and fails t unless it is a 302.
func (e *extNode) hit(t *testing.T, code string) {
	t.Helper()
	st, _, err := get(harness.Client, "GET", e.base+"/"+code, "", nil)
	if err != nil || st != http.StatusFound {
		t.Fatalf("GET /%s: %d %v", code, st, err)
	}
}

// apiTotal is the link's total from the stats API (last hour).
func (e *extNode) apiTotal(t *testing.T, code string) uint64 {
	t.Helper()
	var s struct {
		Total uint64 `json:"total"`
	}
	from := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	if st := harness.Do(t, "GET", e.base+"/api/v1/links/"+code+"/stats?interval=minute&from="+from, extKey, nil, &s); st != 200 {
		t.Fatalf("stats of %s: %d", code, st)
	}
	return s.Total
}

type readyJSON struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

// isReady is a condition: /ready answers 200.
func (e *extNode) isReady() error {
	st, body, err := get(harness.Client, "GET", e.base+"/ready", "", nil)
	if err == nil && st != http.StatusOK {
		err = fmt.Errorf("/ready: %d %s", st, body)
	}
	return err
}

func (e *extNode) ready(t *testing.T) (int, readyJSON) {
	t.Helper()
	var r readyJSON
	st, data, err := get(harness.Client, "GET", e.base+"/ready", "", nil)
	if err != nil {
		t.Fatalf("GET /ready: %v", err)
	}
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("GET /ready: %d %q: %v", st, data, err)
	}
	return st, r
}

// chDB is one test's database on a ClickHouse server. Each query opens a
// fresh native connection, so a restarted server needs no reconnect logic
// here.
type chDB struct {
	addr string // host:port of the native protocol, as the test dials it
	name string
}

// newCHDB is the database of dbURL (from NewDatabase) on ch.
func newCHDB(t testing.TB, ch *harness.ClickHouse, dbURL string) chDB {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	return chDB{addr: ch.Addr(), name: strings.TrimPrefix(u.Path, "/")}
}

// query runs query and scans every row with scan.
func (d chDB) query(query string, scan func(rows interface{ Scan(...any) error }) error) error {
	conn, err := clickhouse.Open(&clickhouse.Options{
		Addr:        []string{d.addr},
		Auth:        clickhouse.Auth{Database: "default", Username: "default"},
		DialTimeout: 2 * time.Second,
	})
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rows, err := conn.Query(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// count runs a query answering one number.
func (d chDB) count(t testing.TB, query string) uint64 {
	t.Helper()
	var n uint64
	if err := d.query(query, func(r interface{ Scan(...any) error }) error { return r.Scan(&n) }); err != nil {
		t.Fatalf("clickhouse: %s: %v", query, err)
	}
	return n
}

// sum is the exact total of the visits table, in the form docs/storage.md
// gives users (FINAL collapses retried batches not merged yet).
func (d chDB) sum(t testing.TB) uint64 {
	t.Helper()
	return d.count(t, fmt.Sprintf("SELECT sum(visits) FROM %s.visits FINAL WHERE code NOT LIKE '~%%'", d.name))
}

// sumBy is sum(visits) FINAL grouped by a string column.
func (d chDB) sumBy(t testing.TB, col string) map[string]uint64 {
	t.Helper()
	return d.totals(t, fmt.Sprintf("SELECT %s, sum(visits) FROM %s.visits FINAL GROUP BY %s", col, d.name, col))
}

// byCode is the exact total per code, in the documented GROUP BY form (no
// FINAL), so both user-facing forms are exercised.
func (d chDB) byCode(t testing.TB) map[string]uint64 {
	t.Helper()
	return d.totals(t, fmt.Sprintf(`SELECT code, sum(visits) FROM (
	SELECT code, argMax(visits, version) AS visits FROM %s.visits
	GROUP BY code, minute, referrer, device, browser, os, country, bot, node_id)
GROUP BY code`, d.name))
}

// totals runs a query answering (key, number) rows.
func (d chDB) totals(t testing.TB, query string) map[string]uint64 {
	t.Helper()
	out := map[string]uint64{}
	err := d.query(query, func(r interface{ Scan(...any) error }) error {
		var k string
		var n uint64
		err := r.Scan(&k, &n)
		out[k] = n
		return err
	})
	if err != nil {
		t.Fatalf("clickhouse: %v", err)
	}
	return out
}

// sqlSum is the node's exact total (chDB.sum) and the number of stored
// aggregate rows.
func (e *extNode) sqlSum(t *testing.T) (visits, rows uint64) {
	t.Helper()
	return e.db.sum(t), e.db.count(t, fmt.Sprintf("SELECT count() FROM %s.visits", e.db.name))
}

// waitSum polls until the SQL total is want and fails at once if it ever
// exceeds want (a visit counted twice). It returns how long it took.
func (e *extNode) waitSum(t *testing.T, want uint64, d time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	harness.Eventually(t, d, func() error {
		got, _ := e.sqlSum(t)
		if got > want {
			t.Fatalf("sum(visits) = %d > %d sent: visits counted twice", got, want)
		}
		if got != want {
			return fmt.Errorf("sum(visits) = %d, want %d", got, want)
		}
		return nil
	})
	return time.Since(start)
}

// TestExternal_VisitsExactInClickHouse: with PostgreSQL and ClickHouse, 1000
// redirects over 20 links appear as exactly 1000 in sum(visits) within a few
// flush intervals, stored as aggregates, and the stats API agrees with SQL per
// code.
func TestExternal_VisitsExactInClickHouse(t *testing.T) {
	e := startExternal(t, "200ms")
	codes := make([]string, 20)
	for i := range codes {
		codes[i] = e.create(t, "")
	}
	const total = 1000
	var wg sync.WaitGroup
	errs := make(chan error, total)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < total; i += 4 {
				code := codes[i%len(codes)]
				st, _, err := get(harness.Client, "GET", e.base+"/"+code, "", nil)
				if err == nil && st != http.StatusFound {
					err = fmt.Errorf("GET /%s: %d", code, st)
				}
				if err != nil {
					errs <- err
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	took := e.waitSum(t, total, 15*time.Second)
	_, rows := e.sqlSum(t)
	t.Logf("sum(visits) = %d exact %s after the last redirect (flush interval 200ms); %d aggregate rows",
		total, took.Round(time.Millisecond), rows)
	if rows == 0 || rows > total/4 {
		t.Fatalf("%d rows hold %d visits: want aggregates (at most %d rows)", rows, total, total/4)
	}

	e.db.checkRollups(t)
	byCode := e.db.byCode(t)
	if len(byCode) != len(codes) {
		t.Fatalf("SQL has %d codes, want %d: %v", len(byCode), len(codes), byCode)
	}
	for _, c := range codes {
		if byCode[c] != total/20 {
			t.Errorf("SQL total of %s = %d, want %d", c, byCode[c], total/20)
		}
		if api := e.apiTotal(t, c); api != byCode[c] {
			t.Errorf("stats API total of %s = %d, SQL says %d", c, api, byCode[c])
		}
	}
}

// load sends redirects at a steady pace from one goroutine and records every
// status and latency by phase.
type load struct {
	phase atomic.Int32
	mu    sync.Mutex
	lat   map[int32][]time.Duration
	bad   []string // non-302 answers and transport errors
	ok    map[string]uint64
	stop  chan struct{}
	done  chan struct{}
}

func startLoad(e *extNode, codes []string, every time.Duration) *load {
	l := &load{lat: map[int32][]time.Duration{}, ok: map[string]uint64{},
		stop: make(chan struct{}), done: make(chan struct{})}
	c := &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	go func() {
		defer close(l.done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-l.stop:
				return
			case <-tick.C:
			}
			code := codes[i%len(codes)]
			ph := l.phase.Load()
			t0 := time.Now()
			st, _, err := get(c, "GET", e.base+"/"+code, "", nil)
			d := time.Since(t0)
			l.mu.Lock()
			switch {
			case err != nil:
				l.bad = append(l.bad, fmt.Sprintf("phase %d GET /%s: %v", ph, code, err))
			case st != http.StatusFound:
				l.bad = append(l.bad, fmt.Sprintf("phase %d GET /%s: %d", ph, code, st))
			default:
				l.ok[code]++
				l.lat[ph] = append(l.lat[ph], d)
			}
			l.mu.Unlock()
		}
	}()
	return l
}

// count is the number of 302s recorded in phase ph.
func (l *load) count(ph int32) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.lat[ph])
}

// atLeast is a condition: at least n 302s recorded in phase ph.
func (l *load) atLeast(ph int32, n int) func() error {
	return func() error {
		if got := l.count(ph); got < n {
			return fmt.Errorf("%d redirects in phase %d, want %d", got, ph, n)
		}
		return nil
	}
}

// failures is nil while every redirect so far was a 302.
func (l *load) failures() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.bad) > 0 {
		return fmt.Errorf("%d redirects were not 302 (first: %s)", len(l.bad), l.bad[0])
	}
	return nil
}

func (l *load) finish() {
	close(l.stop)
	<-l.done
}

func percentiles(d []time.Duration) string {
	if len(d) == 0 {
		return "no samples"
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	p := func(q float64) time.Duration { return s[int(q*float64(len(s)-1))] }
	return fmt.Sprintf("n=%d p50=%s p99=%s max=%s", len(s),
		p(0.50).Round(time.Microsecond), p(0.99).Round(time.Microsecond), s[len(s)-1].Round(time.Microsecond))
}

// TestExternal_ClickHouseOutage stops ClickHouse for 20 s while redirects
// continue at a steady pace: every redirect stays 302, /ready reports
// ClickHouse down, and after it returns the sum is exact.
func TestExternal_ClickHouseOutage(t *testing.T) {
	e := startExternal(t, "200ms")
	codes := make([]string, 5)
	for i := range codes {
		codes[i] = e.create(t, "")
	}
	const (
		before = iota
		outage
		after
	)
	l := startLoad(e, codes, 10*time.Millisecond)
	defer func() {
		select {
		case <-l.done:
		default:
			l.finish()
		}
	}()
	harness.Eventually(t, 30*time.Second, l.atLeast(before, 200))

	l.phase.Store(outage)
	stopped := time.Now()
	e.ch.Stop(t)
	clickhouseDown := func() error {
		if st, r := e.ready(t); st != http.StatusServiceUnavailable || r.Status == "ready" ||
			r.Checks["clickhouse"] == "" || r.Checks["clickhouse"] == "ok" || r.Checks["postgres"] != "ok" {
			return fmt.Errorf("/ready: %d %+v, want 503 naming clickhouse only", st, r)
		}
		return nil
	}
	harness.Eventually(t, 10*time.Second, clickhouseDown)
	t.Logf("/ready reported clickhouse down %s after the stop began", time.Since(stopped).Round(time.Millisecond))
	// The outage is a duration of the scenario, not a condition to wait for:
	// all along, /ready says so and every redirect is a 302.
	harness.Consistently(t, time.Until(stopped.Add(20*time.Second)), func() error {
		if err := l.failures(); err != nil {
			return err
		}
		return clickhouseDown()
	})
	e.ch.Start(t)
	l.phase.Store(after)
	restarted := time.Now()
	t.Logf("clickhouse down for %s", restarted.Sub(stopped).Round(time.Millisecond))

	harness.Eventually(t, 30*time.Second, e.isReady)
	harness.Eventually(t, 30*time.Second, l.atLeast(after, 200))
	l.finish()

	l.mu.Lock()
	bad := l.bad
	var sent uint64
	for _, n := range l.ok {
		sent += n
	}
	t.Logf("latency before the outage: %s", percentiles(l.lat[before]))
	t.Logf("latency during the outage: %s", percentiles(l.lat[outage]))
	t.Logf("latency after the outage:  %s", percentiles(l.lat[after]))
	l.mu.Unlock()
	if len(bad) > 0 {
		t.Fatalf("%d redirects were not 302 (first: %s)", len(bad), bad[0])
	}
	if l.count(outage) < 1000 {
		t.Fatalf("only %d redirects during a 20 s outage at one per 10 ms: the load stalled", l.count(outage))
	}

	took := e.waitSum(t, sent, 90*time.Second)
	t.Logf("sum(visits) = %d exact %s after the last redirect, %s after clickhouse was back",
		sent, took.Round(time.Millisecond), time.Since(restarted).Round(time.Millisecond))
	byCode := e.db.byCode(t)
	for _, c := range codes {
		if byCode[c] != l.ok[c] {
			t.Errorf("SQL total of %s = %d, sent %d", c, byCode[c], l.ok[c])
		}
	}
}

// TestExternal_PostgresOutage stops PostgreSQL: a cached link still
// redirects, an uncached code and a create answer 503 with a JSON error,
// /ready names postgres; after it returns creates succeed again and nothing
// from the outage was half-written.
func TestExternal_PostgresOutage(t *testing.T) {
	e := startExternal(t, "200ms")
	cached := e.create(t, "cached-before")
	e.hit(t, cached) // fills the near-cache
	kept := e.create(t, "")

	e.pg.Stop(t)
	hits := uint64(1)
	for i := 0; i < 20; i++ {
		e.hit(t, cached)
		hits++
	}

	wantJSONError := func(what string, st int, body []byte, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		var b struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if st != http.StatusServiceUnavailable || json.Unmarshal(body, &b) != nil || b.Error.Code == "" || b.Error.Message == "" {
			t.Fatalf("%s with postgres down: %d %q, want 503 with a JSON error", what, st, body)
		}
	}
	st, body, err := get(harness.Client, "GET", e.base+"/never-seen-code", "", nil)
	wantJSONError("GET of an uncached code", st, body, err)

	outageCodes := []string{"during-outage-1", "during-outage-2", "during-outage-3"}
	for _, c := range outageCodes {
		st, body, err := get(harness.Client, "POST", e.base+"/api/v1/links", extKey,
			strings.NewReader(`{"url":"https://example.com/outage","code":"`+c+`"}`))
		wantJSONError("POST /api/v1/links", st, body, err)
	}
	rst, r := e.ready(t)
	if rst != http.StatusServiceUnavailable || r.Checks["postgres"] == "" || r.Checks["postgres"] == "ok" || r.Checks["clickhouse"] != "ok" {
		t.Fatalf("/ready with postgres down: %d %+v, want 503 naming postgres", rst, r)
	}

	e.pg.Start(t)
	restarted := time.Now()
	var after string
	harness.Eventually(t, 30*time.Second, func() error {
		var l struct {
			Code string `json:"code"`
		}
		st := harness.Do(t, "POST", e.base+"/api/v1/links", extKey, map[string]any{"url": "https://example.com/after"}, &l)
		if after = l.Code; st != http.StatusCreated {
			return fmt.Errorf("create after postgres returned: %d", st)
		}
		return nil
	})
	t.Logf("creates succeed %s after postgres was back", time.Since(restarted).Round(time.Millisecond))
	harness.Eventually(t, 30*time.Second, e.isReady)
	e.hit(t, after)
	e.hit(t, kept)

	for _, c := range outageCodes {
		if st := harness.Do(t, "GET", e.base+"/api/v1/links/"+c, extKey, nil, nil); st != http.StatusNotFound {
			t.Errorf("GET /api/v1/links/%s (created during the outage) = %d, want 404", c, st)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, e.pgURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM links WHERE code LIKE 'during-outage-%'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("%d links created during the outage are in PostgreSQL, want 0", n)
	}
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM links WHERE code = ANY($1)", []string{cached, kept, after}).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Fatalf("%d of the 3 links created with postgres up are in PostgreSQL", n)
	}

	// Redirects served from the near-cache during the outage were counted
	// (plus one each for after and kept).
	e.waitSum(t, hits+2, 15*time.Second)
	if got := e.db.byCode(t)[cached]; got != hits {
		t.Fatalf("SQL total of %s = %d, want %d", cached, got, hits)
	}
}

// TestExternal_SIGTERMFlushesToClickHouse: visits made right before SIGTERM
// are in ClickHouse, exactly, once the process has exited. With a 1 h flush
// interval only the shutdown flush can have written them.
func TestExternal_SIGTERMFlushesToClickHouse(t *testing.T) {
	for _, iv := range []string{"200ms", "1h"} {
		t.Run("flush-interval="+iv, func(t *testing.T) {
			e := startExternal(t, iv)
			codes := make([]string, 10)
			for i := range codes {
				codes[i] = e.create(t, "")
			}
			const total = 500
			for i := 0; i < total; i++ {
				e.hit(t, codes[i%len(codes)])
			}
			e.Stop(t) // SIGTERM right after the visits; fails t on a non-zero exit
			got, rows := e.sqlSum(t)
			if got != total {
				t.Fatalf("after SIGTERM sum(visits) = %d, want %d\n%s", got, total, e.Logs())
			}
			t.Logf("sum(visits) = %d in %d rows right after the exit", got, rows)
			for c, n := range e.db.byCode(t) {
				if n != total/uint64(len(codes)) {
					t.Errorf("SQL total of %s = %d, want %d", c, n, total/len(codes))
				}
			}
		})
	}
}

// checkRollups fails t unless visits_hourly and visits_daily hold the same
// total as visits (orphan visits left out), exact forms all; call it once
// the flushes have settled.
func (d chDB) checkRollups(t testing.TB) {
	t.Helper()
	minute := d.sum(t)
	for _, table := range []string{"visits_hourly", "visits_daily"} {
		n := d.count(t, fmt.Sprintf("SELECT sum(visits) FROM %s.%s FINAL WHERE dim = '' AND code NOT LIKE '~%%'", d.name, table))
		if n != minute {
			t.Fatalf("sum(visits) of %s = %d, of visits %d: the rollup disagrees", table, n, minute)
		}
	}
}

// optimize runs OPTIMIZE TABLE … FINAL until the server does it: ClickHouse
// skips the statement without an error while a background merge holds some
// of the parts (seen in CI: 7 rows before and after), so it is asked to
// throw instead (optimize_throw_if_noop) and retried.
func (d chDB) optimize(t testing.TB, table string) {
	t.Helper()
	conn, err := clickhouse.Open(&clickhouse.Options{
		Addr:        []string{d.addr},
		Auth:        clickhouse.Auth{Database: "default", Username: "default"},
		DialTimeout: 2 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	stmt := fmt.Sprintf("OPTIMIZE TABLE %s.%s FINAL", d.name, table)
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := conn.Exec(clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"optimize_throw_if_noop": 1})), stmt)
		cancel()
		if err == nil {
			return
		}
		if attempt == 50 {
			t.Fatalf("clickhouse: %s: %v", stmt, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestExternal_RowsBoundedByBuckets: one hot link with one kind of visitor,
// flushed every 100 ms for 5 s, keeps one row per minute bucket once parts
// merge (the first schema kept one per flush: 118 rows for 15 s), and the
// exact sum holds before and after the merge.
func TestExternal_RowsBoundedByBuckets(t *testing.T) {
	if testing.Short() {
		t.Skip("real servers")
	}
	e := startExternal(t, "100ms")
	code := e.create(t, "hotrows")
	var n uint64
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); n++ {
		e.hit(t, code)
		time.Sleep(5 * time.Millisecond)
	}
	e.waitSum(t, n, 20*time.Second)
	where := fmt.Sprintf("FROM %s.visits WHERE code = '%s'", e.db.name, code)
	before := e.db.count(t, "SELECT count() "+where)
	e.db.optimize(t, "visits")
	rows := e.db.count(t, "SELECT count() "+where)
	minutes := e.db.count(t, "SELECT uniqExact(minute) "+where)
	plain := e.db.count(t, "SELECT sum(visits) "+where)
	t.Logf("%d visits: %d rows before merges, %d after OPTIMIZE FINAL over %d minute(s); plain sum %d", n, before, rows, minutes, plain)
	if rows != minutes {
		t.Fatalf("%d rows after merges for %d minute bucket(s) of one writer and one kind of visitor; want one per bucket", rows, minutes)
	}
	if plain != n {
		t.Fatalf("plain sum(visits) after merges = %d, want %d", plain, n)
	}
}

// TestExternal_DeletedVisitsStayDeleted: after DELETE …/visits the node's
// running totals of the link restart from zero, so the next flush of the
// same minute bucket brings none of the deleted visits back.
func TestExternal_DeletedVisitsStayDeleted(t *testing.T) {
	if testing.Short() {
		t.Skip("real servers")
	}
	e := startExternal(t, "100ms")
	code := e.create(t, "delcum")
	for range 20 {
		e.hit(t, code)
	}
	e.waitSum(t, 20, 20*time.Second)
	var del struct {
		Deleted uint64 `json:"deleted_visits"`
	}
	if st := harness.Do(t, "DELETE", e.base+"/api/v1/links/"+code+"/visits", extKey, nil, &del); st != 200 || del.Deleted != 20 {
		t.Fatalf("DELETE visits: %d, deleted %d; want 200, 20", st, del.Deleted)
	}
	for range 5 {
		e.hit(t, code) // the same minute bucket, most likely
	}
	e.waitSum(t, 5, 20*time.Second)
	harness.Consistently(t, time.Second, func() error {
		if got, _ := e.sqlSum(t); got != 5 {
			return fmt.Errorf("sum(visits) = %d after the delete and 5 visits, want 5", got)
		}
		return nil
	})
}
