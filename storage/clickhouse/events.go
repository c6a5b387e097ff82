package clickhouse

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/minibitly/minibitly/storage"
)

// Raw visit events (--raw-visits): the table visit_events, one row per
// visit, deduplicated by its id (node_id, seq, idx). Everything about it
// lives in this file; Migrate creates the table through migrateEvents.

var (
	_ storage.EventSink    = (*Store)(nil)
	_ storage.EventReader  = (*Store)(nil)
	_ storage.EventDeleter = (*Store)(nil)
)

// eventsColumns is the column list every INSERT names (18.16 needs it).
const eventsColumns = `time, code, referrer, user_agent, device, browser, os, country, bot, node_id, seq, idx`

// eventsState is what the store learns about the server for the events
// table: its version (a TTL clause needs ≥ 19.6) and the TTL last set.
type eventsState struct {
	mu      sync.Mutex
	checked bool
	ttlOK   bool          // the server knows table TTLs (≥ 19.6)
	ttl     time.Duration // the TTL clause this process set, 0 = none yet
}

func (s *Store) eventsTable() string { return s.tableNamed("visit_events") }

// eventsDDL is the events table's DDL (also printed in docs/storage.md and
// the README). time is DateTime('UTC') so that a day partition is a UTC day
// whatever the server's time zone. Migrate creates it whether or not
// --raw-visits is on: an empty table costs nothing, and turning the flag
// on needs no migration. On a cluster it is sharded by code like the
// visits (a retried batch's copies of an event land on the same shard,
// where the ReplacingMergeTree collapses them).
func eventsDDL() tableDDL {
	return tableDDL{
		engine: "ReplacingMergeTree", partitionBy: "toYYYYMMDD(time)",
		orderBy: "code, time, node_id, seq, idx", shardKey: codeShard,
		columns: `(
    time       DateTime('UTC'),  -- the visit, to the second
    code       String,
    referrer   String,           -- Referer URL without query string and fragment, ≤ 200 bytes; '' = direct
    user_agent String,           -- ≤ 256 bytes
    device     String,           -- the user agent's classes, as in visits
    browser    String,
    os         String,
    country    String,           -- ISO 3166 alpha-2, '' = unknown
    bot        UInt8,
    node_id    String,           -- the writer's incarnation
    seq        UInt64,           -- the writer's batch
    idx        UInt32            -- the event's index in the batch
)`,
	}
}

// WriteEvents inserts the batch's events. A retried batch inserts the same
// rows (same id, same values): the ReplacingMergeTree keeps one once parts
// merge, and reads use FINAL, so each is seen once before that too.
func (s *Store) WriteEvents(ctx context.Context, b storage.EventBatch) error {
	if len(b.Events) == 0 {
		return nil
	}
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	batch, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+s.eventsTable()+" ("+eventsColumns+")")
	if err != nil {
		return mapErr(ctx, "write events", err)
	}
	defer batch.Abort() //nolint:errcheck // no-op after Send
	for i, e := range b.Events {
		var bot uint8
		if e.Bot {
			bot = 1
		}
		if err := batch.Append(e.Time.UTC(), e.Code, e.Referrer, e.UserAgent, e.Device, e.Browser, e.OS, e.Country, bot,
			b.NodeID, b.Seq, uint32(i)); err != nil {
			return mapErr(ctx, "write events", err)
		}
	}
	if err := batch.Send(); err != nil {
		return mapErr(ctx, "write events", err)
	}
	return nil
}

// eventsWhere is the WHERE clause of q.
func eventsWhere(q storage.EventsQuery) string {
	var b strings.Builder
	b.WriteString("code IN (")
	for i, c := range q.Codes {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(quote(c))
	}
	fmt.Fprintf(&b, ") AND time >= toDateTime(%d) AND time < toDateTime(%d)", max(q.From.Unix(), 0), max(q.To.Unix(), 0))
	if q.ExcludeBots {
		b.WriteString(" AND bot = 0")
	}
	return b.String()
}

// Events returns a page of q's events, newest first. FINAL collapses the
// copies of a retried batch that have not merged yet.
func (s *Store) Events(ctx context.Context, q storage.EventsQuery) ([]storage.Event, error) {
	if err := storage.ValidateEventsQuery(q, false); err != nil {
		return nil, err
	}
	if len(q.Codes) == 0 {
		return nil, nil
	}
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	sql := `SELECT time, code, referrer, user_agent, device, browser, os, country, bot FROM ` + s.eventsTable() + ` FINAL
WHERE ` + eventsWhere(q) + `
ORDER BY time DESC, code, node_id, seq, idx
LIMIT ` + strconv.Itoa(q.Offset) + `, ` + strconv.Itoa(q.Limit)
	var out []storage.Event
	err := retry(ctx, func() error { // a dead pooled connection: another host
		out = out[:0]
		rows, err := s.conn.Query(bigQuery(ctx, sql), sql)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e storage.Event
			var bot uint8
			if err := rows.Scan(&e.Time, &e.Code, &e.Referrer, &e.UserAgent, &e.Device, &e.Browser, &e.OS, &e.Country, &bot); err != nil {
				return err
			}
			e.Time, e.Bot = e.Time.UTC(), bot != 0
			out = append(out, e)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, mapErr(ctx, "read events", err)
	}
	return out, nil
}

// bigQuery raises max_query_size (256 KiB by default) for a query that
// lists many codes (a tag's or every link's events: up to 10,000 codes).
func bigQuery(ctx context.Context, sql string) context.Context {
	if len(sql) < 200<<10 {
		return ctx
	}
	return ch.Context(ctx, ch.WithSettings(ch.Settings{"max_query_size": 2*len(sql) + 1<<20}))
}

// CountEvents counts q's events, each once.
func (s *Store) CountEvents(ctx context.Context, q storage.EventsQuery) (uint64, error) {
	if err := storage.ValidateEventsQuery(q, true); err != nil {
		return 0, err
	}
	if len(q.Codes) == 0 {
		return 0, nil
	}
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	var n uint64
	sql := `SELECT count() FROM ` + s.eventsTable() + ` FINAL WHERE ` + eventsWhere(q)
	if err := retry(ctx, func() error { return s.conn.QueryRow(bigQuery(ctx, sql), sql).Scan(&n) }); err != nil {
		return 0, mapErr(ctx, "count events", err)
	}
	return n, nil
}

// ExpireEvents applies the TTL. On a server with table TTLs (≥ 19.6) it
// sets `TTL time + INTERVAL ttl SECOND` once per process and TTL value (the
// server then removes expired rows as it merges). On every server it also
// drops the day partitions whose whole day is older than now − ttl: the
// only expiry 18.16 has. Several nodes dropping the same partition is
// harmless: the second finds it gone.
func (s *Store) ExpireEvents(ctx context.Context, now time.Time, ttl time.Duration) error {
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	if err := s.setEventsTTL(ctx, ttl); err != nil {
		return err
	}
	rows, err := s.conn.Query(ctx, `SELECT DISTINCT partition FROM `+s.systemTable("parts")+` WHERE database = `+quote(s.db)+
		` AND table = `+quote(s.dataTable("visit_events"))+` AND active`)
	if err != nil {
		return mapErr(ctx, "expire events: list partitions", err)
	}
	var parts []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			rows.Close()
			return mapErr(ctx, "expire events: list partitions", err)
		}
		parts = append(parts, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return mapErr(ctx, "expire events: list partitions", err)
	}
	cutoff := now.Add(-ttl)
	for _, p := range parts {
		day, err := time.Parse("20060102", p)
		if err != nil {
			continue // not a partition of this schema
		}
		if day.AddDate(0, 0, 1).After(cutoff) {
			continue // some of its day is within the TTL
		}
		if err := s.conn.Exec(ctx, "ALTER TABLE "+s.tableNamed(s.dataTable("visit_events"))+s.onCluster()+" DROP PARTITION "+p); err != nil {
			return mapErr(ctx, "expire events: drop partition "+p, err)
		}
	}
	return nil
}

// setEventsTTL sets the table's TTL clause on servers that have one, when
// this process has not set that value yet.
func (s *Store) setEventsTTL(ctx context.Context, ttl time.Duration) error {
	st := &s.events
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.checked {
		var v string
		if err := s.conn.QueryRow(ctx, "SELECT version()").Scan(&v); err != nil {
			return mapErr(ctx, "expire events: server version", err)
		}
		st.ttlOK, st.checked = versionAtLeast(v, 19, 6), true
	}
	if !st.ttlOK || st.ttl == ttl {
		return nil
	}
	secs := int64(ttl / time.Second)
	var engine string
	if err := s.conn.QueryRow(ctx, `SELECT engine_full FROM system.tables WHERE database = `+quote(s.db)+
		` AND name = `+quote(s.dataTable("visit_events"))).Scan(&engine); err != nil {
		return mapErr(ctx, "expire events: read the table's TTL", err)
	}
	if !strings.Contains(engine, fmt.Sprintf("toIntervalSecond(%d)", secs)) {
		if err := s.conn.Exec(ctx, fmt.Sprintf("ALTER TABLE %s%s MODIFY TTL time + INTERVAL %d SECOND", s.tableNamed(s.dataTable("visit_events")), s.onCluster(), secs)); err != nil {
			return mapErr(ctx, "expire events: modify TTL", err)
		}
	}
	st.ttl = ttl
	return nil
}

// versionAtLeast reports whether a server version ("18.16.1",
// "24.3.2.23") is at least major.minor.
func versionAtLeast(v string, major, minor int) bool {
	f := strings.SplitN(v, ".", 3)
	if len(f) < 2 {
		return false
	}
	ma, err1 := strconv.Atoi(f[0])
	mi, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil {
		return false
	}
	return ma > major || ma == major && mi >= minor
}

// DeleteEvents removes code's events (ALTER … DELETE, a mutation) and
// waits until the mutation is done, as DeleteVisits does.
func (s *Store) DeleteEvents(ctx context.Context, code string) error {
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	return s.deleteCode(ctx, "delete events of "+quote(code), code, "visit_events")
}
