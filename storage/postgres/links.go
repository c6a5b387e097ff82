package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/minibitly/minibitly/storage"
)

const linkColumns = `code, url, title, tags, created_at, updated_at, expires_at, max_visits,
	redirect_status, forward_query, cache_max_age, version, disabled, created_by`

// insertLinksSQL inserts many links in one statement: one array parameter per
// column, unnested into rows. Tags travel as array literals (text) because
// PostgreSQL arrays cannot be ragged.
const insertLinksSQL = `INSERT INTO links (` + linkColumns + `)
SELECT code, url, title, tags::text[], created_at, updated_at, expires_at, NULLIF(max_visits, 0),
	redirect_status, forward_query, cache_max_age, version, disabled, created_by
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[],
	$7::timestamptz[], $8::int8[], $9::int4[], $10::bool[], $11::int4[], $12::int8[], $13::bool[], $14::text[])
	AS t(code, url, title, tags, created_at, updated_at, expires_at, max_visits,
		redirect_status, forward_query, cache_max_age, version, disabled, created_by)
ON CONFLICT (code) DO NOTHING
RETURNING code`

// micro truncates t to PostgreSQL's precision and moves it to UTC.
func micro(t time.Time) time.Time { return t.Truncate(time.Microsecond).UTC() }

// normalize prepares a link for insertion: stored precision, defaults for
// an unset version and update time.
func normalize(l storage.Link) storage.Link {
	if l.CreatedAt.IsZero() {
		l.CreatedAt = time.Now()
	}
	if l.UpdatedAt.IsZero() {
		l.UpdatedAt = l.CreatedAt
	}
	if l.Version <= 0 {
		l.Version = 1
	}
	l.CreatedAt, l.UpdatedAt = micro(l.CreatedAt), micro(l.UpdatedAt)
	if !l.ExpiresAt.IsZero() {
		l.ExpiresAt = micro(l.ExpiresAt)
	}
	return l
}

// arrayLiteral encodes tags as a PostgreSQL text[] literal, every element
// quoted.
func arrayLiteral(tags []string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, t := range tags {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		for j := 0; j < len(t); j++ {
			if t[j] == '"' || t[j] == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(t[j])
		}
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

// insertLinks inserts ls (distinct codes, normalized) in one statement and
// returns the codes that were inserted; the others were taken.
func (s *Store) insertLinks(ctx context.Context, ls []storage.Link) (map[string]bool, error) {
	n := len(ls)
	var (
		codes, urls, titles, tags = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		created, updated          = make([]time.Time, n), make([]time.Time, n)
		expires                   = make([]pgtype.Timestamptz, n)
		maxVisits, versions       = make([]int64, n), make([]int64, n)
		statuses, ages            = make([]int32, n), make([]int32, n)
		forward, disabled         = make([]bool, n), make([]bool, n)
		creators                  = make([]string, n)
	)
	for i, l := range ls {
		codes[i], urls[i], titles[i], tags[i] = l.Code, l.URL, l.Title, arrayLiteral(l.Tags)
		created[i], updated[i] = l.CreatedAt, l.UpdatedAt
		expires[i] = pgtype.Timestamptz{Time: l.ExpiresAt, Valid: !l.ExpiresAt.IsZero()}
		maxVisits[i], versions[i] = l.MaxVisits, l.Version
		statuses[i], ages[i], forward[i] = int32(l.RedirectStatus), int32(l.CacheMaxAge), l.ForwardQuery
		disabled[i], creators[i] = l.Disabled, l.CreatedBy
	}
	rows, err := s.pool.Query(ctx, insertLinksSQL, codes, urls, titles, tags, created, updated,
		expires, maxVisits, statuses, forward, ages, versions, disabled, creators)
	if err != nil {
		return nil, err
	}
	inserted := make(map[string]bool, n)
	for rows.Next() {
		var code string
		if err := rows.Scan(&code); err != nil {
			rows.Close()
			return nil, err
		}
		inserted[code] = true
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return inserted, nil
}

// copyColumns are linkColumns as copyLinks sends them.
var copyColumns = []string{"code", "url", "title", "tags", "created_at", "updated_at", "expires_at", "max_visits",
	"redirect_status", "forward_query", "cache_max_age", "version", "disabled", "created_by"}

// copyLinks inserts ls (distinct codes, normalized) with one COPY, the
// cheapest insert PostgreSQL has (its multi-row heap insert); false, with
// nothing written, when a code is taken: COPY has no ON CONFLICT, so one
// taken code fails the whole statement, and the caller then takes
// insertLinks, which says which. On PostgreSQL the bulk API was bound by
// the server's work per row (issue 13).
func (s *Store) copyLinks(ctx context.Context, ls []storage.Link) (bool, error) {
	row := make([]any, len(copyColumns))
	_, err := s.pool.CopyFrom(ctx, pgx.Identifier{"links"}, copyColumns, pgx.CopyFromSlice(len(ls), func(i int) ([]any, error) {
		l := &ls[i]
		tags := l.Tags
		if tags == nil {
			tags = []string{}
		}
		var expires, maxVisits any
		if !l.ExpiresAt.IsZero() {
			expires = l.ExpiresAt
		}
		if l.MaxVisits != 0 {
			maxVisits = l.MaxVisits
		}
		row[0], row[1], row[2], row[3], row[4], row[5] = l.Code, l.URL, l.Title, tags, l.CreatedAt, l.UpdatedAt
		row[6], row[7], row[8], row[9] = expires, maxVisits, int32(l.RedirectStatus), l.ForwardQuery
		row[10], row[11], row[12], row[13] = int32(l.CacheMaxAge), l.Version, l.Disabled, l.CreatedBy
		return row, nil
	}))
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" { // unique_violation: a code is taken
		return false, nil
	}
	return err == nil, err
}

// CreateLink stores l through the group-commit batcher: it returns after the
// batch holding l has committed. ErrConflict when the code is taken (or was
// ever used).
func (s *Store) CreateLink(ctx context.Context, l storage.Link) error {
	l = normalize(l)
	l.Tags = append([]string(nil), l.Tags...)
	// Noted whatever the outcome: a timed-out create may have committed.
	defer s.router.noteLink(l.Code, true)
	if err := s.batcher.submit(ctx, l); err != nil {
		return fmt.Errorf("create link %q: %w", l.Code, err)
	}
	return nil
}

// CreateLinks stores every link in one statement (one round trip, one
// commit). A code repeated within ls is created once, for its first
// occurrence; the repeats get ErrConflict.
func (s *Store) CreateLinks(ctx context.Context, ls []storage.Link) ([]error, error) {
	errs := make([]error, len(ls))
	if len(ls) == 0 {
		return errs, nil
	}
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	first := make(map[string]int, len(ls))
	uniq := make([]storage.Link, 0, len(ls))
	for i, l := range ls {
		if _, dup := first[l.Code]; dup {
			errs[i] = fmt.Errorf("create link %q: repeated in the batch: %w", l.Code, storage.ErrConflict)
			continue
		}
		first[l.Code] = i
		uniq = append(uniq, normalize(l))
	}
	defer func() {
		for _, l := range uniq {
			s.router.noteLink(l.Code, true)
		}
	}()
	copied, err := s.copyLinks(ctx, uniq)
	if err != nil {
		return nil, mapErr(ctx, fmt.Sprintf("create %d links", len(uniq)), err)
	}
	if copied {
		return errs, nil
	}
	inserted, err := s.insertLinks(ctx, uniq)
	if err != nil {
		return nil, mapErr(ctx, fmt.Sprintf("create %d links", len(uniq)), err)
	}
	for _, l := range uniq {
		if !inserted[l.Code] {
			errs[first[l.Code]] = fmt.Errorf("create link %q: %w", l.Code, storage.ErrConflict)
		}
	}
	return errs, nil
}

// scanLink reads one row of linkColumns.
func scanLink(row pgx.Row) (storage.Link, error) {
	var (
		l          storage.Link
		expires    pgtype.Timestamptz
		maxVisits  pgtype.Int8
		status     int32
		cacheMaxAg int32
	)
	err := row.Scan(&l.Code, &l.URL, &l.Title, &l.Tags, &l.CreatedAt, &l.UpdatedAt, &expires,
		&maxVisits, &status, &l.ForwardQuery, &cacheMaxAg, &l.Version, &l.Disabled, &l.CreatedBy)
	if err != nil {
		return storage.Link{}, err
	}
	l.CreatedAt, l.UpdatedAt = l.CreatedAt.UTC(), l.UpdatedAt.UTC()
	if expires.Valid {
		l.ExpiresAt = expires.Time.UTC()
	}
	if maxVisits.Valid {
		l.MaxVisits = maxVisits.Int64
	}
	if len(l.Tags) == 0 {
		l.Tags = nil
	}
	l.RedirectStatus, l.CacheMaxAge = int(status), int(cacheMaxAg)
	return l, nil
}

// GetLink returns a live link (read pool, unless read-your-writes or a
// down replica sends it to the primary).
func (s *Store) GetLink(ctx context.Context, code string) (storage.Link, error) {
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	l, err := readFrom(ctx, s, readLink, code, func(ctx context.Context, p *pgxpool.Pool) (storage.Link, error) {
		return scanLink(p.QueryRow(ctx,
			`SELECT `+linkColumns+` FROM links WHERE code = $1 AND deleted_at IS NULL`, code))
	})
	if err != nil {
		return storage.Link{}, mapErr(ctx, fmt.Sprintf("get link %q", code), err)
	}
	return l, nil
}

// GetLinks reads codes in one query (storage.LinkBatchReader), on the read
// pool unless one of them was written lately (then on the primary, as
// GetLink would read it).
func (s *Store) GetLinks(ctx context.Context, codes []string) ([]storage.Link, error) {
	if len(codes) == 0 {
		return nil, nil
	}
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	route := codes[0]
	for _, c := range codes {
		if s.router.fresh(readLink, c) {
			route = c
			break
		}
	}
	ls, err := readFrom(ctx, s, readLink, route, func(ctx context.Context, p *pgxpool.Pool) ([]storage.Link, error) {
		rows, err := p.Query(ctx, `SELECT `+linkColumns+` FROM links WHERE code = ANY($1) AND deleted_at IS NULL`, codes)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		out := make([]storage.Link, 0, len(codes))
		for rows.Next() {
			l, err := scanLink(rows)
			if err != nil {
				return nil, err
			}
			out = append(out, l)
		}
		return out, rows.Err()
	})
	if err != nil {
		return nil, mapErr(ctx, fmt.Sprintf("get %d links", len(codes)), err)
	}
	return ls, nil
}

// UpdateLink applies p in one transaction on the primary: the row is locked
// (SELECT … FOR UPDATE), patched with storage.LinkPatch.Apply and written
// back, so concurrent updates serialise and lose no version.
func (s *Store) UpdateLink(ctx context.Context, code string, p storage.LinkPatch) (storage.Link, error) {
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	defer s.router.noteLink(code, true)
	var out storage.Link
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		l, err := scanLink(tx.QueryRow(ctx,
			`SELECT `+linkColumns+` FROM links WHERE code = $1 AND deleted_at IS NULL FOR UPDATE`, code))
		if err != nil {
			return err
		}
		p.Apply(&l, time.Now())
		l.UpdatedAt = micro(l.UpdatedAt)
		if !l.ExpiresAt.IsZero() {
			l.ExpiresAt = micro(l.ExpiresAt)
		}
		tags := l.Tags
		if tags == nil {
			tags = []string{}
		}
		_, err = tx.Exec(ctx, `UPDATE links SET url = $2, title = $3, tags = $4, updated_at = $5,
			expires_at = $6, max_visits = NULLIF($7::int8, 0), redirect_status = $8, forward_query = $9,
			cache_max_age = $10, version = $11, disabled = $12 WHERE code = $1`,
			code, l.URL, l.Title, tags, l.UpdatedAt,
			pgtype.Timestamptz{Time: l.ExpiresAt, Valid: !l.ExpiresAt.IsZero()},
			l.MaxVisits, int32(l.RedirectStatus), l.ForwardQuery, int32(l.CacheMaxAge), l.Version, l.Disabled)
		if err != nil {
			return err
		}
		if len(l.Tags) == 0 {
			l.Tags = nil
		}
		out = l
		return nil
	})
	if err != nil {
		return storage.Link{}, mapErr(ctx, fmt.Sprintf("update link %q", code), err)
	}
	return out, nil
}

// DeleteLink retires a live link: it stops resolving and its code stays taken.
func (s *Store) DeleteLink(ctx context.Context, code string) error {
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	defer s.router.noteLink(code, true)
	tag, err := s.pool.Exec(ctx,
		`UPDATE links SET deleted_at = $2 WHERE code = $1 AND deleted_at IS NULL`, code, micro(time.Now()))
	if err != nil {
		return mapErr(ctx, fmt.Sprintf("delete link %q", code), err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("delete link %q: %w", code, storage.ErrNotFound)
	}
	return nil
}

// MaxListLimit bounds ListQuery.Limit; DefaultListLimit replaces a limit ≤ 0.
const (
	MaxListLimit     = 1000
	DefaultListLimit = 100
)

// ListLinks pages through live links newest first (created_at, then code,
// both descending) by keyset on the links_live_newest index (read pool).
func (s *Store) ListLinks(ctx context.Context, q storage.ListQuery) ([]storage.Link, string, error) {
	limit := q.Limit
	switch {
	case limit <= 0:
		limit = DefaultListLimit
	case limit > MaxListLimit:
		limit = MaxListLimit
	}
	var (
		where = []string{"deleted_at IS NULL"}
		args  []any
	)
	if q.Cursor != "" {
		c, err := storage.DecodeCursor(q.Cursor)
		if err != nil {
			return nil, "", fmt.Errorf("list links: %w", err)
		}
		args = append(args, micro(c.CreatedAt), c.Code)
		where = append(where, fmt.Sprintf("(created_at, code) < ($%d, $%d)", len(args)-1, len(args)))
	}
	if q.Tag != "" {
		args = append(args, []string{q.Tag})
		where = append(where, fmt.Sprintf("tags @> $%d::text[]", len(args)))
	}
	if q.CreatedBy != "" {
		args = append(args, q.CreatedBy)
		where = append(where, fmt.Sprintf("created_by = $%d", len(args)))
	}
	args = append(args, limit+1)
	sql := `SELECT ` + linkColumns + ` FROM links WHERE ` + strings.Join(where, " AND ") +
		fmt.Sprintf(` ORDER BY created_at DESC, code DESC LIMIT $%d`, len(args))

	ctx, cancel := s.opContext(ctx)
	defer cancel()
	ls, err := readFrom(ctx, s, readLinkList, "", func(ctx context.Context, p *pgxpool.Pool) ([]storage.Link, error) {
		rows, err := p.Query(ctx, sql, args...)
		if err != nil {
			return nil, err
		}
		return pgx.CollectRows(rows, func(r pgx.CollectableRow) (storage.Link, error) { return scanLink(r) })
	})
	if err != nil {
		return nil, "", mapErr(ctx, "list links", err)
	}
	next := ""
	if len(ls) > limit {
		ls = ls[:limit]
		last := ls[limit-1]
		next = storage.Cursor{CreatedAt: last.CreatedAt, Code: last.Code}.Encode()
	}
	return ls, next, nil
}
