package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrationLockKey is the pg_advisory_xact_lock key that serialises Migrate
// across nodes ("minibitl" as an int64).
const migrationLockKey int64 = 0x6d696e696269746c

type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations in version order. A file is
// named NNNN_description.sql.
func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var out []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %q: name must start with a positive number and _", e.Name())
		}
		data, err := migrationFS.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, fmt.Errorf("read migration %q: %w", e.Name(), err)
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(data)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i := 1; i < len(out); i++ {
		if out[i].version == out[i-1].version {
			return nil, fmt.Errorf("migrations %q and %q share version %d", out[i-1].name, out[i].name, out[i].version)
		}
	}
	return out, nil
}

// Migrate applies the embedded migrations that the database lacks, each in
// its own transaction, and records them in schema_migrations. Each of those
// transactions first takes a transaction-level advisory lock
// (pg_advisory_xact_lock), so concurrent starts apply each migration once;
// being transaction-scoped, the lock also works through a PgBouncer in
// transaction-pooling mode (a session lock taken through one stays on
// whichever server connection ran it, and the unlock may run on another).
// Running it again is a no-op. It is not bounded by QueryTimeout (a
// migration may take long): bound it with ctx.
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	for _, m := range ms {
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrationLockKey); err != nil {
				return fmt.Errorf("lock: %w", err)
			}
			if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
				version    integer PRIMARY KEY,
				name       text        NOT NULL,
				applied_at timestamptz NOT NULL DEFAULT now()
			)`); err != nil {
				return fmt.Errorf("create schema_migrations: %w", err)
			}
			var applied bool
			if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)",
				int32(m.version)).Scan(&applied); err != nil {
				return fmt.Errorf("read schema_migrations: %w", err)
			}
			if applied {
				return nil
			}
			// A replica may not have the new schema yet.
			defer s.router.noteAll()
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", int32(m.version), m.name)
			return err
		})
		if err != nil {
			return mapErr(ctx, "migrate: apply "+m.name, err)
		}
	}
	return nil
}

// SchemaVersion returns the highest applied migration, 0 before Migrate.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	var v int32
	err := s.pool.QueryRow(ctx, `SELECT COALESCE(max(version), 0) FROM schema_migrations`).Scan(&v)
	if err != nil {
		var missing bool
		if e := s.pool.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NULL`).Scan(&missing); e == nil && missing {
			return 0, nil
		}
		return 0, mapErr(ctx, "schema version", err)
	}
	return int(v), nil
}
