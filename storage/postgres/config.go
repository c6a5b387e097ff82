package postgres

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Config configures a Store. Start from DefaultConfig and set URL: Open
// validates every field and never reads a zero as "use the default".
type Config struct {
	// URL is the primary's connection string (postgres://user:pass@host:port/db?…
	// or key=value form). Required.
	URL string
	// ReadURL, when set, serves GetLink, ListLinks, APIKeyByHash and
	// ListAPIKeys (a read replica or a PgBouncer in front of one); empty =
	// the primary serves them too.
	ReadURL string
	// ReadYourWritesWindow: for this long after a link is written through
	// this store, or named by NoteLinkChanged (the cluster's invalidation),
	// its reads go to the primary, and so do lists after any link write and
	// key reads after any key write; 0 = always read ReadURL. Ignored
	// without ReadURL. A read of an edited link is stale only while the
	// replica lags by more than this. See docs/postgres-replicas.md.
	ReadYourWritesWindow time.Duration
	// Logger receives the read replica's down/up transitions; nil = none.
	Logger *slog.Logger
	// MaxConns bounds each pool (the primary's and the reader's); ≥ 1.
	MaxConns int32
	// MinConns connections are kept open even when idle; 0..MaxConns.
	MinConns int32
	// ConnectTimeout bounds establishing one connection; > 0.
	ConnectTimeout time.Duration
	// QueryTimeout bounds one store operation; on expiry the operation fails
	// with storage.ErrUnavailable; > 0.
	QueryTimeout time.Duration
	// BatchWindow is how long the create batcher waits after the first
	// create of a batch for more to arrive; 0 = do not wait (a batch still
	// gathers the creates that arrive while every flush slot is busy).
	BatchWindow time.Duration
	// MaxBatch bounds the links in one group-commit batch; ≥ 1.
	MaxBatch int
	// Flushers is how many create batches may be in flight at once; ≥ 1.
	// A batch holds a connection, so at most MaxConns are in flight.
	Flushers int
}

// DefaultConfig returns the defaults; URL is left empty.
func DefaultConfig() Config {
	return Config{
		ReadYourWritesWindow: 10 * time.Second,
		MaxConns:             20,
		MinConns:             0,
		ConnectTimeout:       5 * time.Second,
		QueryTimeout:         5 * time.Second,
		BatchWindow:          time.Millisecond,
		MaxBatch:             500,
		Flushers:             4,
	}
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	switch {
	case c.URL == "":
		return errors.New("postgres: Config.URL is empty")
	case c.MaxConns < 1:
		return fmt.Errorf("postgres: max conns must be at least 1, got %d", c.MaxConns)
	case c.MinConns < 0 || c.MinConns > c.MaxConns:
		return fmt.Errorf("postgres: min conns must be 0..max conns (%d), got %d", c.MaxConns, c.MinConns)
	case c.ConnectTimeout <= 0 || c.QueryTimeout <= 0:
		return fmt.Errorf("postgres: connect and query timeouts must be positive, got %s and %s", c.ConnectTimeout, c.QueryTimeout)
	case c.ReadYourWritesWindow < 0:
		return fmt.Errorf("postgres: read-your-writes window must not be negative (0 = off), got %s", c.ReadYourWritesWindow)
	case c.BatchWindow < 0:
		return fmt.Errorf("postgres: batch window must not be negative (0 = do not wait), got %s", c.BatchWindow)
	case c.MaxBatch < 1 || c.Flushers < 1:
		return fmt.Errorf("postgres: max batch and flushers must be at least 1, got %d and %d", c.MaxBatch, c.Flushers)
	}
	return nil
}
