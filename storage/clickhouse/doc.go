// Package clickhouse is the ClickHouse backend of storage.VisitSink,
// storage.StatsReader and storage.Pinger: visit aggregates in table
// <db>.visits (default database "minibitly"), over clickhouse-go/v2's native
// protocol. The SQL runs on ClickHouse 18.16 (Debian's) and on current
// releases: INSERTs name their columns, no LowCardinality (experimental in
// 18.16), no features newer than 18.16 unless guarded by the server version
// from the handshake.
//
// Exactly-once without insert deduplication: every row carries the batch's
// (node_id, flush_seq); a retried batch re-sends exactly the same rows (rows
// of one key within a batch are summed before sending, so the block is a
// function of the batch); the table is a ReplacingMergeTree ordered by the
// full key (code, minute, dims…, node_id, flush_seq), so copies of a batch
// collapse when parts merge; and every read collapses them before merging
// happens: Stats with FINAL, VisitTotal with a GROUP BY on the full key and
// any(visits) (each measured faster for its query; docs/storage.md). On servers ≥ 22.2
// inserts also carry insert_deduplication_token = node_id/flush_seq, and the
// table is created with a non-replicated deduplication window, so most
// retries are dropped at insert time.
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
