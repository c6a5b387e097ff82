package clickhouse

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/minibitly/minibitly/storage"
)

// synthRows is the size of the synthetic table: 10M aggregate rows of 10
// codes over 30 days, 1–20 visits each (105M visits), plus 5% of the rows
// written a second time as retried batches.
const synthRows = 10_000_000

// synthBase is the first minute of the synthetic data.
var synthBase = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)

// fillSynthetic generates the table with SQL inside ClickHouse.
func fillSynthetic(b *testing.B, s *Store) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	gen := func(n, offset int) string {
		return fmt.Sprintf(`INSERT INTO %s (%s)
SELECT concat('c', toString(number %% 10)) AS code,
	toDateTime(%d + (intDiv(number, 10) %% 43200) * 60) AS minute,
	['', 'google.com', 't.co', 'news.ycombinator.com', 'bing.com', 'facebook.com', 'example.org'][number %% 7 + 1] AS referrer,
	['desktop', 'mobile', 'tablet', 'bot', 'other'][number %% 5 + 1] AS device,
	['Chrome', 'Safari', 'Firefox', 'Edge'][number %% 4 + 1] AS browser,
	['Windows', 'macOS', 'Linux', 'iOS', 'Android', 'other'][number %% 6 + 1] AS os,
	['', 'DE', 'US', 'FR', 'GB', 'JP', 'BR', 'IN'][number %% 8 + 1] AS country,
	toUInt8(number %% 5 = 3) AS bot,
	toUInt64(1 + number %% 20) AS visits,
	concat('node-', toString(number %% 3)) AS node_id,
	intDiv(number, 1000) AS flush_seq
FROM system.numbers LIMIT %d OFFSET %d`, s.table, visitsColumns, synthBase.Unix(), n, offset)
	}
	start := time.Now()
	if err := s.conn.Exec(ctx, gen(synthRows, 0)); err != nil {
		b.Fatalf("generate: %v", err)
	}
	if err := s.conn.Exec(ctx, gen(synthRows/20, synthRows/2)); err != nil { // retried batches
		b.Fatalf("generate duplicates: %v", err)
	}
	var rows, raw uint64
	if err := s.conn.QueryRow(ctx, "SELECT count(), sum(visits) FROM "+s.table).Scan(&rows, &raw); err != nil {
		b.Fatal(err)
	}
	total := uint64(0)
	for i := range 10 {
		n, err := s.VisitTotal(ctx, fmt.Sprintf("c%d", i))
		if err != nil {
			b.Fatal(err)
		}
		total += n
	}
	b.Logf("generated %d rows (%d visits stored, %d after collapsing retries) in %s",
		rows, raw, total, time.Since(start).Round(time.Millisecond))
}

// BenchmarkStore_Stats times one Stats call for one code (1M of the 10M
// rows) over a 100M+ visit table, with reads collapsing retried batches by
// GROUP BY (the default) or FINAL.
func BenchmarkStore_Stats(b *testing.B) {
	s := openFresh(b)
	fillSynthetic(b, s)
	for _, mode := range []struct {
		name string
		m    readMode
	}{{"groupby", readGroupBy}, {"final", readFinal}} {
		for _, r := range []struct {
			name     string
			from, to time.Time
			iv       storage.Interval
		}{
			{"day-by-hour", synthBase.Add(24 * time.Hour), synthBase.Add(48 * time.Hour), storage.Hour},
			{"30days-by-day", synthBase, synthBase.Add(30 * 24 * time.Hour), storage.Day},
		} {
			b.Run(mode.name+"/"+r.name, func(b *testing.B) {
				s.readMode = mode.m
				q := storage.StatsQuery{Code: "c3", From: r.from, To: r.to, Interval: r.iv}
				b.ReportAllocs()
				var st storage.Stats
				for b.Loop() {
					var err error
					if st, err = s.Stats(b.Context(), q); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(st.Total), "visits")
			})
		}
		b.Run(mode.name+"/visit-total", func(b *testing.B) {
			s.readMode = mode.m
			for b.Loop() {
				if _, err := s.VisitTotal(b.Context(), "c3"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
