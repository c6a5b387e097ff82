package clickhouse

import (
	"errors"
	"fmt"
	"time"
)

// DefaultDatabase is used when Config.URL names none.
const DefaultDatabase = "minibitly"

// Config configures a Store. Start from DefaultConfig and set URL: Open
// validates every field and never reads a zero as "use the default".
type Config struct {
	// URL is clickhouse://[user[:password]@]host:port[,host2:port]/db[?options]
	// (native protocol, port 9000 by default on servers). Required. The
	// database defaults to "minibitly" and is created by Migrate.
	URL string
	// DialTimeout bounds establishing a connection; > 0.
	DialTimeout time.Duration
	// QueryTimeout bounds one operation; on expiry it fails with
	// storage.ErrUnavailable; > 0.
	QueryTimeout time.Duration
	// MaxOpenConns bounds the connection pool; ≥ 1.
	MaxOpenConns int
	// Cluster is a cluster of the servers' remote_servers; "" = one server.
	// With it Migrate creates Replicated tables ON CLUSTER and Distributed
	// tables over them, and every write and read goes through those
	// (docs/clickhouse-cluster.md). A name as for a database.
	Cluster string
}

// DefaultConfig returns the defaults; URL is left empty.
func DefaultConfig() Config {
	return Config{
		DialTimeout:  5 * time.Second,
		QueryTimeout: 10 * time.Second,
		MaxOpenConns: 8,
	}
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	switch {
	case c.URL == "":
		return errors.New("clickhouse: Config.URL is empty")
	case c.DialTimeout <= 0 || c.QueryTimeout <= 0:
		return fmt.Errorf("clickhouse: dial and query timeouts must be positive, got %s and %s", c.DialTimeout, c.QueryTimeout)
	case c.MaxOpenConns < 1:
		return fmt.Errorf("clickhouse: max open conns must be at least 1, got %d", c.MaxOpenConns)
	case c.Cluster != "" && !dbName.MatchString(c.Cluster):
		return fmt.Errorf("clickhouse: cluster name %q: want [A-Za-z_][A-Za-z0-9_]*", c.Cluster)
	}
	return nil
}
