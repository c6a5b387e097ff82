package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/minibitly/minibitly/storage"
)

// DomainRedirects returns the stored redirects, the zero value when none
// (primary pool: a node refreshing them after another's PATCH must not read
// a lagging replica).
func (s *Store) DomainRedirects(ctx context.Context) (storage.DomainRedirects, error) {
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	var r storage.DomainRedirects
	err := s.pool.QueryRow(ctx, `SELECT base_url, regular_404, invalid_short_url FROM domain_redirects WHERE id = 1`).
		Scan(&r.BaseURL, &r.Regular404, &r.InvalidShortURL)
	if errors.Is(err, pgx.ErrNoRows) {
		return storage.DomainRedirects{}, nil
	}
	if err != nil {
		return storage.DomainRedirects{}, mapErr(ctx, "get domain redirects", err)
	}
	return r, nil
}

// SetDomainRedirects replaces the stored redirects.
func (s *Store) SetDomainRedirects(ctx context.Context, r storage.DomainRedirects) error {
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	_, err := s.pool.Exec(ctx, `INSERT INTO domain_redirects (id, base_url, regular_404, invalid_short_url) VALUES (1, $1, $2, $3)
		ON CONFLICT (id) DO UPDATE SET base_url = EXCLUDED.base_url, regular_404 = EXCLUDED.regular_404, invalid_short_url = EXCLUDED.invalid_short_url`,
		r.BaseURL, r.Regular404, r.InvalidShortURL)
	if err != nil {
		return mapErr(ctx, "set domain redirects", err)
	}
	return nil
}
