package clickhouse

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/minibitly/minibitly/storage"
)

func event(code string, t time.Time, ref string) storage.Event {
	return storage.Event{Time: t, Code: code, Referrer: ref, UserAgent: "Mozilla/5.0 test",
		Device: "desktop", Browser: "chrome", OS: "linux", Country: "DE"}
}

// TestStore_Events: a batch written three times (retries) is read once, in
// page order (newest first, then by code and id), and counted once.
func TestStore_Events(t *testing.T) { testEvents(t, openFresh(t)) }

func testEvents(t *testing.T, s *Store) {
	ctx := t.Context()
	at := time.Unix(t0, 0).UTC()
	b := storage.EventBatch{NodeID: "n1", Seq: 1, Events: []storage.Event{
		event("a", at, "https://r.example/1"), event("a", at.Add(2*time.Second), "https://r.example/2"),
		event("b", at.Add(time.Second), ""), event("a", at.Add(time.Second), "https://r.example/3"),
	}}
	b.Events[2].Bot = true
	for range 3 {
		if err := s.WriteEvents(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	// Another batch of the same writer: not a duplicate.
	if err := s.WriteEvents(ctx, storage.EventBatch{NodeID: "n1", Seq: 2, Events: []storage.Event{event("a", at, "https://r.example/1")}}); err != nil {
		t.Fatal(err)
	}
	q := storage.EventsQuery{Codes: []string{"a", "b"}, From: at.Add(-time.Hour), To: at.Add(time.Hour), Limit: 10}
	n, err := s.CountEvents(ctx, q)
	if err != nil || n != 5 {
		t.Fatalf("CountEvents = %d, %v; want 5", n, err)
	}
	got, err := s.Events(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, e := range got {
		order = append(order, e.Code+e.Time.Format(":05")+"|"+e.Referrer)
	}
	want := []string{"a:02|https://r.example/2", "a:01|https://r.example/3", "b:01|", "a:00|https://r.example/1", "a:00|https://r.example/1"}
	if len(order) != len(want) {
		t.Fatalf("events %q, want %q", order, want)
	}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("events %q, want %q", order, want)
		}
	}
	if e := got[2]; !e.Bot || e.UserAgent != "Mozilla/5.0 test" || e.Country != "DE" || e.Device != "desktop" || e.Time.Location() != time.UTC {
		t.Fatalf("event fields: %+v", e)
	}
	q.Offset, q.Limit = 1, 2
	if page, err := s.Events(ctx, q); err != nil || len(page) != 2 || page[0].Referrer != "https://r.example/3" {
		t.Fatalf("page 2 of 2: %+v, %v", page, err)
	}
	q.Offset, q.Limit, q.ExcludeBots, q.Codes = 0, 10, true, []string{"b"}
	if n, err := s.CountEvents(ctx, q); err != nil || n != 0 {
		t.Fatalf("b without bots: %d, %v", n, err)
	}
	// 10,000 codes of 64 bytes: a query above max_query_size's default.
	q = storage.EventsQuery{From: at.Add(-time.Hour), To: at.Add(time.Hour), Limit: 10, Codes: []string{"a"}}
	for i := range 10000 {
		q.Codes = append(q.Codes, fmt.Sprintf("%064d", i))
	}
	if n, err := s.CountEvents(ctx, q); err != nil || n != 4 {
		t.Fatalf("CountEvents of 10,001 codes = %d, %v; want 4", n, err)
	}
	if page, err := s.Events(ctx, q); err != nil || len(page) != 4 {
		t.Fatalf("Events of 10,001 codes: %d, %v", len(page), err)
	}
	if _, err := s.Events(ctx, storage.EventsQuery{Codes: []string{"a"}, From: at, To: at, Limit: 1}); err == nil {
		t.Fatal("an empty range was answered")
	}
}

// TestStore_DeleteEvents: a code's events go, the others stay.
func TestStore_DeleteEvents(t *testing.T) { testEventsDelete(t, openFresh(t)) }

func testEventsDelete(t *testing.T, s *Store) {
	ctx := t.Context()
	at := time.Unix(t0, 0).UTC()
	if err := s.WriteEvents(ctx, storage.EventBatch{NodeID: "n1", Seq: 1, Events: []storage.Event{event("a", at, ""), event("b", at, "")}}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteEvents(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	q := storage.EventsQuery{Codes: []string{"a", "b"}, From: at, To: at.Add(time.Second)}
	if n, err := s.CountEvents(ctx, q); err != nil || n != 1 {
		t.Fatalf("after DeleteEvents(a): %d events, %v; want 1", n, err)
	}
}

// TestStore_EventsTable: the table holds no IP address (its columns are
// the documented ones) and is partitioned by UTC day.
func TestStore_EventsTable(t *testing.T) {
	s := openFresh(t)
	rows, err := s.conn.Query(t.Context(), `SELECT name FROM system.columns WHERE database = `+quote(s.db)+` AND table = 'visit_events'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			t.Fatal(err)
		}
		cols = append(cols, c)
	}
	sort.Strings(cols)
	want := "bot browser code country device idx node_id os referrer seq time user_agent"
	if got := strings.Join(cols, " "); got != want {
		t.Fatalf("columns %q, want %q", got, want)
	}
}

// TestStore_ExpireEvents: the TTL emulation drops the day partitions wholly
// older than the TTL and keeps the rest (18.16 has no table TTL; on newer
// servers ExpireEvents also sets one).
func TestStore_ExpireEvents(t *testing.T) { testEventsExpire(t, openFresh(t)) }

func testEventsExpire(t *testing.T, s *Store) {
	ctx := t.Context()
	now := time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)
	b := storage.EventBatch{NodeID: "n1", Seq: 1, Events: []storage.Event{
		event("a", now.AddDate(0, 0, -40), "old"),
		event("a", now.Add(-30*24*time.Hour-time.Hour), "past the TTL, but its day is not"),
		event("a", now.AddDate(0, 0, -10), "recent"),
	}}
	codes := []string{"a"}
	for i := range 8 { // old events of more codes: on a cluster, on every shard
		c := fmt.Sprintf("old%d", i)
		codes = append(codes, c)
		b.Events = append(b.Events, event(c, now.AddDate(0, 0, -40), "old"))
	}
	if err := s.WriteEvents(ctx, b); err != nil {
		t.Fatal(err)
	}
	for range 2 { // a second run (another node) finds nothing more to drop
		if err := s.ExpireEvents(ctx, now, 30*24*time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Events(ctx, storage.EventsQuery{Codes: codes, From: now.AddDate(-1, 0, 0), To: now, Limit: 20})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Referrer != "recent" || got[1].Referrer != "past the TTL, but its day is not" {
		t.Fatalf("after expiry: %+v", got)
	}
}

func TestVersionAtLeast(t *testing.T) {
	for v, want := range map[string]bool{"18.16.1": false, "19.5.9": false, "19.6.1.1": true, "20.1": true, "24.3.2.23": true, "x": false} {
		if got := versionAtLeast(v, 19, 6); got != want {
			t.Errorf("versionAtLeast(%q) = %v", v, got)
		}
	}
}
