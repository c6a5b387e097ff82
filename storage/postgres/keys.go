package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/minibitly/minibitly/storage"
)

const keyColumns = `id, name, hash, prefix, created_at, revoked_at, scopes, expires_at, own_links_only`

func scanKey(row pgx.Row) (storage.APIKey, error) {
	var (
		k       storage.APIKey
		revoked pgtype.Timestamptz
		expires pgtype.Timestamptz
	)
	// scopes is NULL for keys from before scopes (nil: every scope).
	if err := row.Scan(&k.ID, &k.Name, &k.Hash, &k.Prefix, &k.CreatedAt, &revoked, &k.Scopes, &expires, &k.OwnLinksOnly); err != nil {
		return storage.APIKey{}, err
	}
	k.CreatedAt = k.CreatedAt.UTC()
	if revoked.Valid {
		k.RevokedAt = revoked.Time.UTC()
	}
	if expires.Valid {
		k.ExpiresAt = expires.Time.UTC()
	}
	return k, nil
}

// CreateAPIKey stores k; ErrConflict on a duplicate ID or hash.
func (s *Store) CreateAPIKey(ctx context.Context, k storage.APIKey) error {
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	defer s.router.noteKeys()
	if k.CreatedAt.IsZero() {
		k.CreatedAt = time.Now()
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO api_keys (`+keyColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		k.ID, k.Name, k.Hash, k.Prefix, micro(k.CreatedAt),
		pgtype.Timestamptz{Time: micro(k.RevokedAt), Valid: !k.RevokedAt.IsZero()},
		k.Scopes, // nil is NULL
		pgtype.Timestamptz{Time: micro(k.ExpiresAt), Valid: !k.ExpiresAt.IsZero()}, k.OwnLinksOnly)
	if err != nil {
		return mapErr(ctx, fmt.Sprintf("create api key %q", k.ID), err)
	}
	return nil
}

// APIKeyByHash finds a key, revoked or not (read pool).
func (s *Store) APIKeyByHash(ctx context.Context, hash string) (storage.APIKey, error) {
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	k, err := readFrom(ctx, s, readKey, "", func(ctx context.Context, p *pgxpool.Pool) (storage.APIKey, error) {
		return scanKey(p.QueryRow(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE hash = $1`, hash))
	})
	if err != nil {
		return storage.APIKey{}, mapErr(ctx, "api key by hash", err)
	}
	return k, nil
}

// ListAPIKeys returns every key, oldest first (read pool).
func (s *Store) ListAPIKeys(ctx context.Context) ([]storage.APIKey, error) {
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	keys, err := readFrom(ctx, s, readKey, "", func(ctx context.Context, p *pgxpool.Pool) ([]storage.APIKey, error) {
		rows, err := p.Query(ctx, `SELECT `+keyColumns+` FROM api_keys ORDER BY created_at, id`)
		if err != nil {
			return nil, err
		}
		return pgx.CollectRows(rows, func(r pgx.CollectableRow) (storage.APIKey, error) { return scanKey(r) })
	})
	if err != nil {
		return nil, mapErr(ctx, "list api keys", err)
	}
	return keys, nil
}

// RevokeAPIKey marks a key revoked; revoking it again keeps the first time.
func (s *Store) RevokeAPIKey(ctx context.Context, id string) error {
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	defer s.router.noteKeys()
	tag, err := s.pool.Exec(ctx, `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1`,
		id, micro(time.Now()))
	if err != nil {
		return mapErr(ctx, fmt.Sprintf("revoke api key %q", id), err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("revoke api key %q: %w", id, storage.ErrNotFound)
	}
	return nil
}
