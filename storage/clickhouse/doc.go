// Package clickhouse is the ClickHouse backend of storage.VisitSink,
// storage.StatsReader and storage.Pinger: visit aggregates in table
// <db>.visits (default database "minibitly"), over clickhouse-go/v2's native
// protocol. The SQL runs on ClickHouse 18.16 (Debian's) and on current
// releases: INSERTs name their columns, no LowCardinality (experimental in
// 18.16), no features newer than 18.16.
//
// Exactly-once without insert deduplication: a node writes each bucket's
// running total (storage.VisitCount.Cumulative) under its node_id, versioned
// by its flush sequence, into a ReplacingMergeTree(version) ordered by
// (code, minute, dims…, node_id): a retried batch writes the same row again,
// a later flush replaces it, so a bucket keeps one row per writer once parts
// merge. A row without a running total is written under a writer of its own,
// "<node_id>~<flush_seq>". Every read keeps the newest row per bucket and
// writer before merging happens: Stats with FINAL, VisitTotal with a GROUP
// BY on the key and argMax(visits, version) (each measured faster for its
// query; docs/storage.md). Migrate upgrades a table of the first schema
// (keyed by (…, node_id, flush_seq)) in place.
//
// With Config.Cluster the tables are created ON CLUSTER as
// Replicated*MergeTree <name>_local tables under Distributed <name> tables
// sharded by cityHash64(code) (createSQL: one helper per table), so a
// bucket's versions stay on one shard; inserts are synchronous
// (insert_distributed_sync). The URL may list several hosts; reads and
// pings are retried on a connection error (the next dial goes to the next
// host). docs/clickhouse-cluster.md has the configuration and the argument.
//
// Errors: connection failures, timeouts and server overload wrap
// storage.ErrUnavailable (keeping the cause). Open fails fast with
// ErrUnavailable when the server is unreachable at start; the driver
// reconnects afterwards by itself.
//
// The schema and SQL for users who query the table themselves are in
// docs/storage.md.
//
// This package imports package storage, clickhouse-go and the standard
// library only.
package clickhouse
