package embedded

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/minibitly/minibitly/storage"
)

// Config configures Open. Start from DefaultConfig: Open validates it and
// never reads a zero as "use the default".
type Config struct {
	// Path is the database file; its directory is created when missing.
	// Required.
	Path string
	// OpenTimeout bounds the wait for the file lock held by another
	// process; 0 = wait until the lock is released (bbolt's meaning).
	OpenTimeout time.Duration
}

// DefaultConfig returns the configuration of a node started with no flags
// (--data-dir ./data): data/minibitly.db, 1 s lock timeout.
func DefaultConfig() Config {
	return Config{
		Path:        filepath.Join("data", "minibitly.db"),
		OpenTimeout: time.Second,
	}
}

var (
	bLinks    = []byte("links")
	bLinkTime = []byte("links_time")
	bLinkTag  = []byte("links_tag")
	bKeys     = []byte("keys")
	bKeyHash  = []byte("keys_hash")
	bVisits   = []byte("visits")
	bTotals   = []byte("totals")
	bBatches  = []byte("batches")
	bSettings = []byte("settings") // small records: domain_redirects
)

// Store is a bbolt-backed store. Its methods are safe for concurrent use.
type Store struct {
	db        *bolt.DB
	closeOnce sync.Once
	closeErr  error
}

var (
	_ storage.LinkStore   = (*Store)(nil)
	_ storage.KeyStore    = (*Store)(nil)
	_ storage.VisitSink   = (*Store)(nil)
	_ storage.StatsReader = (*Store)(nil)
	_ storage.Pinger      = (*Store)(nil)
)

// Open opens (creating when missing) the database at cfg.Path.
func Open(cfg Config) (*Store, error) {
	if cfg.Path == "" {
		return nil, errors.New("open embedded store: empty path")
	}
	if cfg.OpenTimeout < 0 {
		return nil, fmt.Errorf("open embedded store: open timeout must not be negative (0 = wait for the lock), got %s", cfg.OpenTimeout)
	}
	if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o750); err != nil {
		return nil, fmt.Errorf("open embedded store: create directory: %w", err)
	}
	db, err := bolt.Open(cfg.Path, 0o600, &bolt.Options{
		Timeout:      cfg.OpenTimeout,
		FreelistType: bolt.FreelistMapType,
	})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("open embedded store %s: database is in use by another minibitly process (file lock not acquired within %s): %w",
			cfg.Path, cfg.OpenTimeout, err)
	}
	if err != nil {
		return nil, fmt.Errorf("open embedded store %s: %w", cfg.Path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bLinks, bLinkTime, bLinkTag, bKeys, bKeyHash, bVisits, bTotals, bBatches, bSettings} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return fmt.Errorf("create bucket %s: %w", b, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("open embedded store %s: %w", cfg.Path, err), db.Close())
	}
	return &Store{db: db}, nil
}

// Close closes the database. It is idempotent; every call returns the first
// call's result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if err := s.db.Close(); err != nil {
			s.closeErr = fmt.Errorf("close embedded store: %w", err)
		}
	})
	return s.closeErr
}

// Ping reports whether the database is open.
func (s *Store) Ping(ctx context.Context) error {
	return s.view(ctx, "ping", func(*bolt.Tx) error { return nil })
}

// view runs fn in a read transaction, wrapping its error with op.
func (s *Store) view(ctx context.Context, op string, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return wrap(op, s.db.View(fn))
}

// update runs fn in a write transaction, wrapping its error with op.
func (s *Store) update(ctx context.Context, op string, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return wrap(op, s.db.Update(fn))
}

func wrap(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, berrors.ErrDatabaseNotOpen):
		return fmt.Errorf("%s: %w: %w", op, storage.ErrUnavailable, err)
	default:
		return fmt.Errorf("%s: %w", op, err)
	}
}

// utc is the form every stored time takes: UTC, microseconds (PostgreSQL's
// precision, so backends agree on order and on cursors).
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.Truncate(time.Microsecond).UTC()
}
