package main

import (
	"context"
	"fmt"

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
