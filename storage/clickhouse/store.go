package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/minibitly/minibitly/storage"
)

// Store writes and reads visit aggregates. It is safe for concurrent use.
type Store struct {
	cfg     Config
	conn    driver.Conn
	db      string // database name, validated
	cluster string // Config.Cluster: "" = one server
	table   string // `db`.visits

	mu       sync.Mutex
	readMode readMode
	events   eventsState // events.go

	closeOnce sync.Once
	closeErr  error
}

// readMode chooses how reads collapse duplicate batches.
type readMode int

const (
	readAuto    readMode = iota // measured best per query (docs/storage.md): Stats FINAL, VisitTotal GROUP BY
	readGroupBy                 // GROUP BY bucket and writer, argMax(visits, version)
	readFinal                   // SELECT … FINAL
)

var (
	_ storage.VisitSink   = (*Store)(nil)
	_ storage.StatsReader = (*Store)(nil)
	_ storage.Pinger      = (*Store)(nil)
)

var dbName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

// Open connects to cfg.URL and checks that the server answers: an
// unreachable server fails Open with storage.ErrUnavailable. The database
// need not exist yet (Migrate creates it).
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if !strings.HasPrefix(cfg.URL, "clickhouse://") {
		return nil, errors.New("clickhouse: URL must start with clickhouse:// (native protocol)")
	}
	opts, err := ch.ParseDSN(cfg.URL)
	if err != nil {
		return nil, errors.New("clickhouse: invalid URL") // may hold a password: do not echo
	}
	db := opts.Auth.Database
	if db == "" {
		db = DefaultDatabase
	}
	if !dbName.MatchString(db) {
		return nil, fmt.Errorf("clickhouse: database name %q: want [A-Za-z_][A-Za-z0-9_]*", db)
	}
	// Connect without a database: it may not exist before Migrate. Every
	// statement names its table in full.
	opts.Auth.Database = ""
	opts.Protocol = ch.Native
	opts.DialTimeout = cfg.DialTimeout
	opts.MaxOpenConns = cfg.MaxOpenConns
	opts.MaxIdleConns = cfg.MaxOpenConns
	if cfg.Cluster != "" {
		if opts.Settings == nil {
			opts.Settings = ch.Settings{}
		}
		for k, v := range clusterSettings(cfg) {
			opts.Settings[k] = v
		}
	}
	conn, err := ch.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("clickhouse: %w", err)
	}
	s := &Store{cfg: cfg, conn: conn, db: db, cluster: cfg.Cluster, table: "`" + db + "`.visits"}
	if err := s.Ping(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	return s, nil
}

// Database is the database the store uses.
func (s *Store) Database() string { return s.db }

// Close closes the connections. It is idempotent.
func (s *Store) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.conn.Close() })
	return s.closeErr
}

// Ping checks that a server of the URL answers (a connection to a server
// that has gone is retried on the next one).
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := s.opContext(ctx)
	defer cancel()
	if err := retry(ctx, func() error { return s.conn.Ping(ctx) }); err != nil {
		return mapErr(ctx, "ping clickhouse", err)
	}
	return nil
}

func (s *Store) opContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.cfg.QueryTimeout)
}

// mapErr wraps err with op. Connection failures, timeouts and overload
// become storage.ErrUnavailable; a cancelled ctx returns context.Canceled.
func mapErr(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return fmt.Errorf("%s: %w", op, context.Canceled)
	}
	var ex *ch.Exception
	if errors.As(err, &ex) {
		if unavailableCode(ex.Code) {
			return fmt.Errorf("%s: %w: %w", op, storage.ErrUnavailable, err)
		}
		return fmt.Errorf("%s: %w", op, err)
	}
	// Anything without a server exception is about the connection: refused,
	// reset, closed, timed out.
	return fmt.Errorf("%s: %w: %w", op, storage.ErrUnavailable, err)
}

// unavailableCode reports server exceptions worth retrying later.
func unavailableCode(code int32) bool {
	switch code {
	case 159, // TIMEOUT_EXCEEDED
		202,    // TOO_MANY_SIMULTANEOUS_QUERIES
		209,    // SOCKET_TIMEOUT
		210,    // NETWORK_ERROR
		241,    // MEMORY_LIMIT_EXCEEDED
		242,    // TABLE_IS_READ_ONLY
		252,    // TOO_MANY_PARTS
		225,    // NO_ZOOKEEPER (a replicated table without its coordination)
		279,    // ALL_CONNECTION_TRIES_FAILED (a Distributed table: every replica of a shard down)
		319,    // UNKNOWN_STATUS_OF_INSERT
		999,    // KEEPER_EXCEPTION
		3, 394: // UNEXPECTED_END_OF_FILE, QUERY_WAS_CANCELLED (server shutting down)
		return true
	}
	return false
}

// quote returns s as a ClickHouse string literal. Bytes outside printable
// ASCII, quotes and backslashes are written as \xHH, so any byte string
// (codes are opaque) round-trips.
func quote(s string) string {
	const hex = "0123456789abcdef"
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '\'' || c == '\\' {
			b.WriteString(`\x`)
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
			continue
		}
		b.WriteByte(c)
	}
	b.WriteByte('\'')
	return b.String()
}
