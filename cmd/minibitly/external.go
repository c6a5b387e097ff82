package main

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/minibitly/minibitly/storage/clickhouse"
	"github.com/minibitly/minibitly/storage/postgres"
)

// openPostgres opens PostgreSQL for links and API keys and applies its
// migrations (idempotent, serialised across nodes by an advisory lock).
func openPostgres(ctx context.Context, c *config, s *stores) error {
	pg, err := postgres.Open(ctx, c.Postgres)
	if err != nil {
		return fmt.Errorf("open postgres: %w", err)
	}
	s.closers = append(s.closers, func() error { pg.Close(); return nil })
	if err := pg.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate postgres: %w", err)
	}
	s.links, s.keys = pg, pg
	s.pg = pg
	s.pingers["postgres"] = pg
	return nil
}

// openClickHouse opens ClickHouse for visit aggregates and applies its
// migrations.
func openClickHouse(ctx context.Context, c *config, s *stores) error {
	ch, err := clickhouse.Open(ctx, c.ClickHouse)
	if err != nil {
		return fmt.Errorf("open clickhouse: %w", err)
	}
	s.closers = append(s.closers, ch.Close)
	if err := ch.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate clickhouse: %w", err)
	}
	s.sink, s.stats = ch, ch
	s.events, s.eventReader = ch, ch
	s.pingers["clickhouse"] = ch
	return nil
}

// registerPostgresReads exports the read routing of a store with a read
// replica: reads by the pool that answered, fallbacks, and whether the
// replica is being skipped now.
func registerPostgresReads(reg prometheus.Registerer, pg *postgres.Store) {
	reads := func(pool string, f func(postgres.ReadStats) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "minibitly_postgres_reads_total",
			Help:        "PostgreSQL link and key reads by the pool that answered (replica: --postgres-read-url; primary: read-your-writes, fallbacks, a down replica).",
			ConstLabels: prometheus.Labels{"pool": pool},
		}, func() float64 { return float64(f(pg.ReadStats())) })
	}
	reg.MustRegister(
		reads("replica", func(s postgres.ReadStats) uint64 { return s.Replica }),
		reads("primary", func(s postgres.ReadStats) uint64 { return s.Primary }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "minibitly_postgres_read_fallbacks_total",
			Help: "Reads that failed on the read replica and were answered by the primary.",
		}, func() float64 { return float64(pg.ReadStats().Fallbacks) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "minibitly_postgres_replica_down",
			Help: "1 while the read replica is skipped after a failure (reads go to the primary).",
		}, func() float64 {
			if pg.ReadStats().ReplicaDown {
				return 1
			}
			return 0
		}),
	)
}
