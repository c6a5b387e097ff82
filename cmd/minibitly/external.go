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
	cfg := postgres.DefaultConfig()
	cfg.URL, cfg.ReadURL = c.PostgresURL, c.PostgresReadURL
	if c.PostgresMaxConns > 0 {
		cfg.MaxConns = int32(c.PostgresMaxConns)
	}
	if c.PostgresTimeout > 0 {
		cfg.QueryTimeout, cfg.ConnectTimeout = c.PostgresTimeout, c.PostgresTimeout
	}
	pg, err := postgres.Open(ctx, cfg)
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
	cfg := clickhouse.DefaultConfig()
	cfg.URL = c.ClickHouseURL
	if c.ClickHouseTimeout > 0 {
		cfg.QueryTimeout = c.ClickHouseTimeout
	}
	ch, err := clickhouse.Open(ctx, cfg)
	if err != nil {
		return fmt.Errorf("open clickhouse: %w", err)
	}
	s.closers = append(s.closers, ch.Close)
	if err := ch.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate clickhouse: %w", err)
	}
	s.sink, s.stats = ch, ch
	s.pingers["clickhouse"] = ch
	return nil
}
