package clickhouse

import (
	"context"
	"fmt"
)

// visitsColumns is the column list every INSERT names (18.16 needs it).
const visitsColumns = `code, minute, referrer, device, browser, os, country, bot, visits, node_id, flush_seq`

// dedupKey is the table's ORDER BY: one row per bucket and batch.
const dedupKey = `code, minute, referrer, device, browser, os, country, bot, node_id, flush_seq`

// Migrate creates the database and the visits table if they are missing.
// It is idempotent and safe to run from several nodes at once.
func (s *Store) Migrate(ctx context.Context) error {
	if err := s.Ping(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	if err := s.conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS `"+s.db+"`"); err != nil {
		return mapErr(ctx, "migrate: create database "+s.db, err)
	}
	settings := ""
	if s.atLeast(22, 2) {
		// Lets insert_deduplication_token drop most retried batches at
		// insert time on a non-replicated table; reads stay exact without it.
		settings = "\nSETTINGS non_replicated_deduplication_window = 10000"
	}
	if err := s.conn.Exec(ctx, createVisits(s.table)+settings); err != nil {
		return mapErr(ctx, "migrate: create "+s.table, err)
	}
	return nil
}

// createVisits is the table's DDL (also printed in docs/storage.md).
func createVisits(table string) string {
	return `CREATE TABLE IF NOT EXISTS ` + table + ` (
    code      String,
    minute    DateTime,          -- start of the minute, UTC
    referrer  String,            -- referrer host, '' = direct
    device    String,            -- desktop, mobile, tablet, bot, other
    browser   String,
    os        String,
    country   String,            -- ISO 3166 alpha-2, '' = unknown
    bot       UInt8,
    visits    UInt64,
    node_id   String,            -- the flushing node
    flush_seq UInt64             -- the node's batch sequence number
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (` + dedupKey + `)`
}
