// Package postgres is the PostgreSQL backend of storage.LinkStore,
// storage.KeyStore and storage.Pinger (links and API keys), over a pgx/v5
// pool.
//
// Schema migrations are embedded (migrations/*.sql) and applied by Migrate,
// which is idempotent and safe when several nodes start at once (each
// migration's transaction takes a transaction-level advisory lock, which
// also holds through a transaction-pooling PgBouncer; applied versions are
// recorded in schema_migrations).
//
// Writes go to Config.URL. Reads (GetLink, ListLinks, APIKeyByHash,
// ListAPIKeys) go to Config.ReadURL when it is set, e.g. a streaming
// replica, with two exceptions (reads.go): read-your-writes — a code
// written through this store or named by NoteLinkChanged
// (storage.ChangeNotifier: the cluster's invalidation) is read from the
// primary for Config.ReadYourWritesWindow, and so are lists after a link
// write and keys after a key write — and fallback — a read the replica
// cannot serve (unreachable, starting, stopping, recovery conflict, behind
// a migration) is retried on the primary, and the replica is skipped for
// a moment. UpdateLink reads and writes the primary in one transaction
// (SELECT … FOR UPDATE, storage.LinkPatch.Apply, UPDATE). The store keeps
// no session state, so it runs through PgBouncer in transaction mode when
// the URL sets default_query_exec_mode=exec (no named prepared
// statements). See docs/postgres-replicas.md.
//
// Concurrent CreateLink calls are group-committed: a batcher collects the
// creates that arrive within Config.BatchWindow (or while earlier batches
// hold every flush slot) into one INSERT … ON CONFLICT DO NOTHING
// RETURNING code, one round trip and one commit; each caller returns only
// after that commit, with storage.ErrConflict when its code was not
// inserted. CreateLinks sends its links in the same single statement.
//
// Errors: unique violations are storage.ErrConflict; connection failures,
// server shutdowns and Config.QueryTimeout expiries wrap
// storage.ErrUnavailable (and keep the cause). Open fails fast, with
// ErrUnavailable, when the server cannot be reached at start; after that the
// pool reconnects by itself when the server returns.
//
// Times are stored with microsecond precision: values are truncated to the
// microsecond before they are written and come back in UTC.
//
// This package imports package storage, pgx and the standard library only.
//
//	cfg := postgres.DefaultConfig()
//	cfg.URL = "postgres://user@db:5432/minibitly"
//	s, err := postgres.Open(ctx, cfg)
//	if err != nil { … }
//	defer s.Close()
//	if err := s.Migrate(ctx); err != nil { … }
package postgres
