package postgres

import (
	"errors"
	"time"
)

// Config configures a Store. Zero fields take DefaultConfig's values.
type Config struct {
	// URL is the primary's connection string (postgres://user:pass@host:port/db?…
	// or key=value form). Required.
	URL string
	// ReadURL, when set, serves GetLink, ListLinks, APIKeyByHash and
	// ListAPIKeys (a read replica or a PgBouncer in front of one).
	ReadURL string
	// MaxConns bounds each pool (the primary's and the reader's).
	MaxConns int32
	// MinConns connections are kept open even when idle.
	MinConns int32
	// ConnectTimeout bounds establishing one connection.
	ConnectTimeout time.Duration
	// QueryTimeout bounds one store operation; on expiry the operation fails
	// with storage.ErrUnavailable.
	QueryTimeout time.Duration
	// BatchWindow is how long the create batcher waits after the first
	// create of a batch for more to arrive. Negative: do not wait (a batch
	// still gathers the creates that arrive while every flush slot is busy).
	BatchWindow time.Duration
	// MaxBatch bounds the links in one group-commit batch.
	MaxBatch int
	// Flushers is how many create batches may be in flight at once.
	Flushers int
}

// DefaultConfig returns the defaults; URL is left empty.
func DefaultConfig() Config {
	return Config{
		MaxConns:       16,
		MinConns:       0,
		ConnectTimeout: 5 * time.Second,
		QueryTimeout:   5 * time.Second,
		BatchWindow:    time.Millisecond,
		MaxBatch:       500,
		Flushers:       4,
	}
}

func (c Config) withDefaults() (Config, error) {
	if c.URL == "" {
		return c, errors.New("postgres: Config.URL is empty")
	}
	d := DefaultConfig()
	if c.MaxConns <= 0 {
		c.MaxConns = d.MaxConns
	}
	if c.MinConns < 0 || c.MinConns > c.MaxConns {
		c.MinConns = 0
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = d.ConnectTimeout
	}
	if c.QueryTimeout <= 0 {
		c.QueryTimeout = d.QueryTimeout
	}
	if c.BatchWindow == 0 {
		c.BatchWindow = d.BatchWindow
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = d.MaxBatch
	}
	if c.Flushers <= 0 {
		c.Flushers = d.Flushers
	}
	if int32(c.Flushers) > c.MaxConns {
		c.Flushers = int(c.MaxConns)
	}
	return c, nil
}
