package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
)

// tableDDL is one table's DDL without its name and engine's placement:
// createTable makes a plain table of it on one server, or, with
// Config.Cluster, a replicated <name>_local table on every server of the
// cluster and a Distributed <name> table over them.
type tableDDL struct {
	columns     string // the column list, "(\n    code String, …\n)"
	engine      string // a *MergeTree engine, without "Replicated": "ReplacingMergeTree"
	engineArgs  string // its arguments: "version"
	partitionBy string
	orderBy     string
	// shardKey is the Distributed sharding expression on a cluster: every
	// row one engine row may replace (a ReplacingMergeTree row's versions)
	// must hash to the same shard.
	shardKey string
}

// codeShard sends every row of one code to one shard: the versions of a
// bucket and writer, which ReplacingMergeTree replaces within a shard only,
// always share their code.
const codeShard = "cityHash64(code)"

// createSQL is the DDL that creates table name (in the store's database)
// from d: one statement on a single server; on a cluster the local table
// ON CLUSTER, then the Distributed one.
func (s *Store) createSQL(name string, d tableDDL) []string {
	tail := "\nPARTITION BY " + d.partitionBy + "\nORDER BY (" + d.orderBy + ")"
	if s.cluster == "" {
		return []string{"CREATE TABLE IF NOT EXISTS " + s.tableNamed(name) + " " + d.columns +
			" ENGINE = " + d.engine + "(" + d.engineArgs + ")" + tail}
	}
	local := name + localSuffix
	on := " ON CLUSTER `" + s.cluster + "`"
	args := "'/clickhouse/tables/{shard}/" + s.db + "/" + local + "', '{replica}'"
	if d.engineArgs != "" {
		args += ", " + d.engineArgs
	}
	return []string{
		"CREATE TABLE IF NOT EXISTS " + s.tableNamed(local) + on + " " + d.columns +
			" ENGINE = Replicated" + d.engine + "(" + args + ")" + tail,
		"CREATE TABLE IF NOT EXISTS " + s.tableNamed(name) + on + " AS " + s.tableNamed(local) +
			" ENGINE = Distributed(`" + s.cluster + "`, `" + s.db + "`, " + local + ", " + d.shardKey + ")",
	}
}

// localSuffix names a cluster's replicated table under its Distributed one.
const localSuffix = "_local"

// createTable runs createSQL(name, d). It is idempotent.
func (s *Store) createTable(ctx context.Context, name string, d tableDDL) error {
	for _, q := range s.createSQL(name, d) {
		qctx, cancel := s.opContext(ctx) // within Migrate's, on one server
		err := s.conn.Exec(qctx, q)
		cancel()
		if err != nil {
			return mapErr(qctx, "migrate: create "+name, err)
		}
	}
	return nil
}

// onCluster is " ON CLUSTER `name`" on a cluster, "" on one server.
func (s *Store) onCluster() string {
	if s.cluster == "" {
		return ""
	}
	return " ON CLUSTER `" + s.cluster + "`"
}

// dataTable is where the rows of table short live: itself on one server,
// its replicated <short>_local table on a cluster (ALTER … DELETE runs
// there).
func (s *Store) dataTable(short string) string {
	if s.cluster == "" {
		return short
	}
	return short + localSuffix
}

// systemTable is system.<name> of the connected server, or on a cluster
// the same table on one replica of every shard (cluster(…, system, name)).
func (s *Store) systemTable(name string) string {
	if s.cluster == "" {
		return "system." + name
	}
	return "cluster(" + quote(s.cluster) + ", system, " + name + ")"
}

// clusterReady reports whether the connected server already has every
// table of a cluster schema (Distributed tables over replicated ones), so
// Migrate need not send DDL ON CLUSTER, which waits for every server of the
// cluster: a node then starts while a replica is down. A table of the
// wrong kind is an error that says what to do.
func (s *Store) clusterReady(ctx context.Context, tables []string) (bool, error) {
	q := `SELECT name, engine FROM system.tables WHERE database = ` + quote(s.db)
	rows, err := s.conn.Query(ctx, q)
	if err != nil {
		return false, mapErr(ctx, "migrate: read system.tables", err)
	}
	defer rows.Close()
	engines := map[string]string{}
	for rows.Next() {
		var name, engine string
		if err := rows.Scan(&name, &engine); err != nil {
			return false, mapErr(ctx, "migrate: read system.tables", err)
		}
		engines[name] = engine
	}
	if err := rows.Err(); err != nil {
		return false, mapErr(ctx, "migrate: read system.tables", err)
	}
	ready := true
	for _, t := range tables {
		switch e, ok := engines[t]; {
		case !ok:
			ready = false
		case e != "Distributed":
			return false, fmt.Errorf("clickhouse: cluster %q: table %s.%s exists with engine %s, not Distributed: "+
				"a cluster starts on a new schema (docs/clickhouse-cluster.md). Move it aside "+
				"(RENAME TABLE %s.%s TO %s.%s_single), run `minibitly migrate --clickhouse-cluster %s`, "+
				"then copy its rows (INSERT INTO %s.%s SELECT * FROM %s.%s_single)",
				s.cluster, s.db, t, e, s.db, t, s.db, t, s.cluster, s.db, t, s.db, t)
		}
		switch e, ok := engines[t+localSuffix]; {
		case !ok:
			ready = false
		case !strings.HasPrefix(e, "Replicated"):
			return false, fmt.Errorf("clickhouse: cluster %q: table %s.%s%s has engine %s, not a Replicated one", s.cluster, s.db, t, localSuffix, e)
		}
	}
	return ready, nil
}

// clusterSettings are sent with every query on a cluster:
// insert_distributed_sync, so an INSERT into a Distributed table returns
// once every shard's block is written on one of its replicas (not queued on
// the disk of the server that took it), and distributed_ddl_task_timeout,
// so ON CLUSTER DDL with a server down fails within the query timeout
// instead of 180 s. (18.16 takes integer settings only over the native
// protocol: load_balancing, a string, is set in the servers' profile.)
func clusterSettings(cfg Config) ch.Settings {
	return ch.Settings{
		"insert_distributed_sync":      1,
		"distributed_ddl_task_timeout": max(1, int(cfg.QueryTimeout/time.Second)),
	}
}

// readAttempts bounds how often a read or a ping is tried when it fails on
// the connection (not with a server exception): the pool may hand out a
// connection to a server that has just gone, and the next dial goes to the
// next host of the URL.
const readAttempts = 3

// retry runs f until it succeeds, fails with a server exception, ctx ends
// or readAttempts have been made.
func retry(ctx context.Context, f func() error) error {
	var err error
	for range readAttempts {
		if err = f(); err == nil || ctx.Err() != nil {
			return err
		}
		var ex *ch.Exception
		if errors.As(err, &ex) {
			return err
		}
	}
	return err
}
