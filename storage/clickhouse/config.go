package clickhouse

import (
	"errors"
	"time"
)

// DefaultDatabase is used when Config.URL names none.
const DefaultDatabase = "minibitly"

// Config configures a Store. Zero fields take DefaultConfig's values.
type Config struct {
	// URL is clickhouse://[user[:password]@]host:port[,host2:port]/db[?options]
	// (native protocol, port 9000 by default on servers). Required. The
	// database defaults to "minibitly" and is created by Migrate.
	URL string
	// DialTimeout bounds establishing a connection.
	DialTimeout time.Duration
	// QueryTimeout bounds one operation; on expiry it fails with
	// storage.ErrUnavailable.
	QueryTimeout time.Duration
	// MaxOpenConns bounds the connection pool.
	MaxOpenConns int
}

// DefaultConfig returns the defaults; URL is left empty.
func DefaultConfig() Config {
	return Config{
		DialTimeout:  5 * time.Second,
		QueryTimeout: 10 * time.Second,
		MaxOpenConns: 8,
	}
}

func (c Config) withDefaults() (Config, error) {
	if c.URL == "" {
		return c, errors.New("clickhouse: Config.URL is empty")
	}
	d := DefaultConfig()
	if c.DialTimeout <= 0 {
		c.DialTimeout = d.DialTimeout
	}
	if c.QueryTimeout <= 0 {
		c.QueryTimeout = d.QueryTimeout
	}
	if c.MaxOpenConns <= 0 {
		c.MaxOpenConns = d.MaxOpenConns
	}
	return c, nil
}
