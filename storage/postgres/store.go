package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/minibitly/minibitly/storage"
)

// Store is the PostgreSQL link and key store. It is safe for concurrent use.
type Store struct {
	cfg  Config
	pool *pgxpool.Pool // primary: writes, UpdateLink, migrations
	read *pgxpool.Pool // reads; == pool when Config.ReadURL is empty

	router  *router // which pool serves each read
	batcher *batcher

	closeOnce sync.Once
}

var (
	_ storage.LinkStore = (*Store)(nil)
	_ storage.KeyStore  = (*Store)(nil)
	_ storage.Pinger    = (*Store)(nil)

	_ storage.ChangeNotifier = (*Store)(nil)
)

// Open connects to cfg.URL and checks that the server answers within
// cfg.ConnectTimeout: an unreachable server fails Open with
// storage.ErrUnavailable. An unreachable cfg.ReadURL does not: reads go to
// the primary until the replica answers. It does not migrate; call Migrate.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// A batch in flight holds a connection of the pool.
	cfg.Flushers = min(cfg.Flushers, int(cfg.MaxConns))
	pool, err := newPool(ctx, cfg, cfg.URL)
	if err != nil {
		return nil, err
	}
	read := pool
	var readErr error
	if cfg.ReadURL != "" {
		// A replica that does not answer fails no Open: reads go to the
		// primary until it does (a node must start during a replica outage).
		if read, err = poolFor(ctx, cfg, cfg.ReadURL); err != nil {
			pool.Close()
			return nil, fmt.Errorf("read pool: %w", err)
		}
		readErr = pingPool(ctx, cfg, read)
	}
	s := &Store{cfg: cfg, pool: pool, read: read, router: newRouter(cfg.ReadYourWritesWindow, cfg.Logger)}
	if readErr != nil {
		s.router.replicaFailed(false, readErr)
	}
	s.batcher = newBatcher(s, cfg)
	return s, nil
}

// newPool is poolFor and a ping: an unreachable server fails it with
// storage.ErrUnavailable.
func newPool(ctx context.Context, cfg Config, url string) (*pgxpool.Pool, error) {
	pool, err := poolFor(ctx, cfg, url)
	if err != nil {
		return nil, err
	}
	if err := pingPool(ctx, cfg, pool); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

// poolFor makes a pool on url; it connects on first use.
func poolFor(ctx context.Context, cfg Config, url string) (*pgxpool.Pool, error) {
	pc, err := pgxpool.ParseConfig(url)
	if err != nil {
		// The URL may hold a password: do not echo it.
		return nil, errors.New("postgres: invalid connection string")
	}
	pc.MaxConns = cfg.MaxConns
	pc.MinConns = cfg.MinConns
	pc.ConnConfig.ConnectTimeout = cfg.ConnectTimeout
	pc.ConnConfig.RuntimeParams["timezone"] = "UTC"
	pc.ConnConfig.RuntimeParams["application_name"] = "minibitly"
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("postgres pool: %w", err)
	}
	return pool, nil
}

func pingPool(ctx context.Context, cfg Config, pool *pgxpool.Pool) error {
	pctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		return mapErr(ctx, "connect to postgres", err)
	}
	return nil
}

// Close stops the create batcher (pending creates fail) and closes the
// pools. It is idempotent and returns after the batcher's goroutines exit.
func (s *Store) Close() {
	s.closeOnce.Do(func() {
		s.batcher.close()
		if s.read != s.pool {
			s.read.Close()
		}
		s.pool.Close()
	})
}

// Ping checks the primary. A read pool that does not answer fails no Ping
// (reads fall back to the primary, so the node still serves: /ready must
// not take every node out of a load balancer when only the replica is
// down); it is marked down, as a failed read would, and logged.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	if err := s.pool.Ping(ctx); err != nil {
		return mapErr(ctx, "ping postgres", err)
	}
	if s.read != s.pool {
		if ok, probe := s.router.tryReplica(); ok {
			rctx, rcancel := halfContext(ctx)
			err := s.read.Ping(rctx)
			rcancel()
			switch {
			case err == nil:
				s.router.replicaOK(probe)
			case ctx.Err() == nil:
				s.router.replicaFailed(probe, err)
			case probe: // the caller gave up: says nothing about the replica
				s.router.probing.Store(false)
			}
		}
	}
	return nil
}

// opContext bounds one operation by Config.QueryTimeout.
func (s *Store) opContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.cfg.QueryTimeout)
}

// errClosed is returned by operations on a closed store.
var errClosed = fmt.Errorf("postgres store closed: %w", storage.ErrUnavailable)

// mapErr wraps err with op and translates it: unique violations become
// storage.ErrConflict; connection failures, server shutdowns and timeouts
// become storage.ErrUnavailable. ctx is the operation's context: when it was
// cancelled, context.Canceled is returned instead.
func mapErr(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, storage.ErrUnavailable) || errors.Is(err, storage.ErrConflict) || errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("%s: %w", op, err)
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		// The caller gave up; not an outage. (An expired deadline, the
		// caller's or QueryTimeout, counts as unavailable below.)
		return fmt.Errorf("%s: %w", op, context.Canceled)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == "23505": // unique_violation
			return fmt.Errorf("%s: %w: %w", op, storage.ErrConflict, err)
		case unavailableCode(pgErr.Code):
			return fmt.Errorf("%s: %w: %w", op, storage.ErrUnavailable, err)
		}
		return fmt.Errorf("%s: %w", op, err)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s: %w", op, storage.ErrNotFound)
	}
	// Everything else that pgx returns without a server error is about the
	// connection: refused, reset, closed, timed out, TLS, DNS.
	return fmt.Errorf("%s: %w: %w", op, storage.ErrUnavailable, err)
}

// unavailableCode reports SQLSTATEs that mean "try again later": connection
// exceptions (class 08), shutdowns and start-up (57P01–57P03), too many
// connections (53300), and a read-only server during a failover (25006).
func unavailableCode(code string) bool {
	if len(code) == 5 && code[:2] == "08" {
		return true
	}
	switch code {
	case "57P01", "57P02", "57P03", "53300", "25006":
		return true
	}
	return false
}
