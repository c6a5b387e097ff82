package clickhouse

import (
	"context"
	"fmt"
)

// visitsColumns is the column list every INSERT names (18.16 needs it).
const visitsColumns = `code, minute, referrer, device, browser, os, country, bot, visits, node_id, version`

// bucketKey is the table's ORDER BY: one row per bucket and writer once
// merged (the newest version wins).
const bucketKey = `code, minute, referrer, device, browser, os, country, bot, node_id`

// rollupColumns and rollupKey are visitsColumns and bucketKey of the
// rollup tables (one row per bucket, dimension value and writer).
const (
	rollupColumns = `code, minute, dim, value, visits, node_id, version`
	rollupKey     = `code, minute, dim, value, node_id`
)

// legacyTable is where Migrate moves a visits table of the first schema
// (one row per bucket and batch, keyed by (…, node_id, flush_seq)) while it
// copies its rows into the current one.
const legacyTable = "visits_v1"

// Migrate creates the database and the visits tables if they are missing,
// and upgrades a visits table of the first schema (see migrateLegacy). It
// is idempotent and safe to run from several nodes at once. On a cluster
// (Config.Cluster) it creates the replicated and Distributed tables ON
// CLUSTER (createSQL), unless the connected server has them all already
// (clusterReady); the first schema is not migrated there: a cluster starts
// on the current one.
func (s *Store) Migrate(ctx context.Context) error {
	if err := s.Ping(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if s.cluster != "" {
		return s.migrateCluster(ctx) // a query timeout per statement
	}
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	if err := s.conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS `"+s.db+"`"); err != nil {
		return mapErr(ctx, "migrate: create database "+s.db, err)
	}
	legacy, err := s.hasColumn(ctx, "visits", "flush_seq")
	if err != nil {
		return err
	}
	if legacy {
		// Moved aside in one statement: a node of the previous version then
		// fails to insert (its INSERT names flush_seq) and retries, instead
		// of writing rows of the old meaning into the new table.
		if err := s.conn.Exec(ctx, "RENAME TABLE "+s.table+" TO "+s.tableNamed(legacyTable)); err != nil {
			// Another node may have moved it a moment ago: fine if so.
			if still, cerr := s.hasColumn(ctx, "visits", "flush_seq"); cerr != nil || still {
				return mapErr(ctx, "migrate: move the first-schema visits table aside", err)
			}
		}
	}
	for _, t := range s.schema() {
		if err := s.createTable(ctx, t.name, t.ddl); err != nil {
			return err
		}
	}
	return s.migrateLegacy(ctx)
}

// migrateCluster is Migrate on a cluster.
func (s *Store) migrateCluster(ctx context.Context) error {
	var names []string
	for _, t := range s.schema() {
		names = append(names, t.name)
	}
	rctx, cancel := s.opContext(ctx)
	ready, err := s.clusterReady(rctx, names)
	cancel()
	if err != nil || ready {
		return err
	}
	// Each ON CLUSTER statement waits for every server (up to the query
	// timeout, distributed_ddl_task_timeout): each gets its own.
	dctx, cancel := s.opContext(ctx)
	err = s.conn.Exec(dctx, "CREATE DATABASE IF NOT EXISTS `"+s.db+"`"+s.onCluster())
	cancel()
	if err != nil {
		return mapErr(dctx, "migrate: create database "+s.db+s.onCluster(), err)
	}
	for _, t := range s.schema() {
		if err := s.createTable(ctx, t.name, t.ddl); err != nil {
			return err
		}
	}
	return nil
}

// schemaTable is one table Migrate creates: its name in the store's
// database (the Distributed one on a cluster) and its DDL.
type schemaTable struct {
	name string
	ddl  tableDDL
}

// schema is every table Migrate creates, on one server and on a cluster
// alike (createSQL): a further table is one more entry.
func (s *Store) schema() []schemaTable {
	var out []schemaTable
	for _, t := range s.tables() {
		out = append(out, schemaTable{t.short, visitDDL(t.short)})
	}
	return append(out, schemaTable{"visit_events", eventsDDL()}) // events.go
}

// migrateLegacy copies the rows of a first-schema table moved aside into
// the visits table, one row per bucket under node_id 'v1' and version 0,
// then drops it. Re-running it after an interruption writes the same rows
// again, which the ReplacingMergeTree collapses: the copy is idempotent.
func (s *Store) migrateLegacy(ctx context.Context) error {
	exists, err := s.hasColumn(ctx, legacyTable, "flush_seq")
	if err != nil || !exists {
		return err
	}
	const oldKey = `code, minute, referrer, device, browser, os, country, bot, node_id, flush_seq`
	dedup := `(SELECT ` + oldKey + `, any(visits) AS v FROM ` + s.tableNamed(legacyTable) + ` GROUP BY ` + oldKey + `)`
	for _, t := range s.tables() {
		copySQL := `INSERT INTO ` + t.name + ` (` + visitsColumns + `)
SELECT code, minute, referrer, device, browser, os, country, bot, sum(v), 'v1', toUInt64(0)
FROM ` + dedup + ` GROUP BY code, minute, referrer, device, browser, os, country, bot`
		stmts := []string{copySQL + spill}
		if t.width > 60 {
			stmts = stmts[:0]
			for _, d := range rollupDims {
				stmts = append(stmts, `INSERT INTO `+t.name+` (`+rollupColumns+`)
SELECT code, toDateTime(intDiv(toUInt32(minute), `+fmt.Sprint(t.width)+`) * `+fmt.Sprint(t.width)+`) AS b, '`+d.dim+`', `+d.value+` AS value, sum(v), 'v1', toUInt64(0)
FROM `+dedup+` WHERE `+d.where+` GROUP BY code, b, value`+spill)
			}
		}
		for _, q := range stmts {
			if err := s.conn.Exec(ctx, q); err != nil {
				return mapErr(ctx, "migrate: copy the first-schema visits into "+t.name, err)
			}
		}
	}
	if err := s.conn.Exec(ctx, "DROP TABLE IF EXISTS "+s.tableNamed(legacyTable)); err != nil {
		return mapErr(ctx, "migrate: drop the first-schema visits table", err)
	}
	return nil
}

// hasColumn reports whether table (in the store's database) has column.
func (s *Store) hasColumn(ctx context.Context, table, column string) (bool, error) {
	var n uint64
	q := `SELECT count() FROM system.columns WHERE database = ` + quote(s.db) +
		` AND table = ` + quote(table) + ` AND name = ` + quote(column)
	if err := s.conn.QueryRow(ctx, q).Scan(&n); err != nil {
		return false, mapErr(ctx, "migrate: read system.columns", err)
	}
	return n > 0, nil
}

func (s *Store) tableNamed(name string) string { return "`" + s.db + "`." + name }

// visitTable is one of the three tables of the same visits: by minute (the
// table users query, visits), by hour and by day (rollups).
type visitTable struct {
	name  string // `db`.table
	short string // table, for system tables
	width int64  // bucket width, seconds
}

func (s *Store) tables() []visitTable {
	return []visitTable{
		{s.table, "visits", 60},
		{s.tableNamed("visits_hourly"), "visits_hourly", 3600},
		{s.tableNamed("visits_daily"), "visits_daily", 86400},
	}
}

// rollupDims are the rollup rows of a minute row (its columns in scope), as
// storage.Rollups makes them: the dimension, the SQL of its value, and
// which rows have one. One INSERT … SELECT per dimension keeps each GROUP
// BY to one row per bucket and value.
var rollupDims = []struct{ dim, value, where string }{
	{"", "''", "1"}, {"bot", "'1'", "bot = 1"},
	{"referrer", "referrer", "1"}, {"device", "device", "1"}, {"browser", "browser", "1"},
	{"os", "os", "1"}, {"country", "country", "1"},
}

// spill lets a migration's GROUP BY over a large table spill to disk
// instead of failing on the memory limit.
const spill = "\nSETTINGS max_bytes_before_external_group_by = 2000000000"

// visitDDL is the DDL of the visits tables (also printed in
// docs/storage.md and docs/clickhouse-cluster.md): visits by minute and
// dimensions, visits_hourly and visits_daily by bucket and one dimension
// value. visits_daily is ordered by code first (one code's days and values
// are one range: a link's stats and total), visits_hourly by hour,
// dimension, then code (a day's totals of every code are 24 ranges: the
// top links of a day). Measured both ways in docs/storage.md.
func visitDDL(short string) tableDDL {
	d := tableDDL{
		engine: "ReplacingMergeTree", engineArgs: "version",
		partitionBy: "toYYYYMM(minute)", orderBy: bucketKey, shardKey: codeShard,
		columns: `(
    code      String,
    minute    DateTime,          -- start of the minute, UTC
    referrer  String,            -- referrer host, '' = direct
    device    String,            -- desktop, mobile, tablet, bot, other
    browser   String,
    os        String,
    country   String,            -- ISO 3166 alpha-2, '' = unknown
    bot       UInt8,
    visits    UInt64,            -- the writer's visits of the bucket so far
    node_id   String,            -- the writer: a node incarnation (or one batch of it)
    version   UInt64             -- the writer's flush sequence: the newest row wins
)`,
	}
	if short == "visits" {
		return d
	}
	d.orderBy = rollupKey
	if short == "visits_hourly" {
		d.orderBy = `minute, dim, code, value, node_id`
	}
	d.columns = `(
    code      String,
    minute    DateTime,          -- start of the bucket (hour or day), UTC
    dim       String,            -- '' (every visit), 'bot' (bot visits), referrer, device, browser, os, country
    value     String,            -- the dimension's value ('' for dim '', '1' for 'bot')
    visits    UInt64,            -- the writer's visits of the bucket and value so far
    node_id   String,            -- the writer
    version   UInt64             -- the writer's flush sequence: the newest row wins
)`
	return d
}
