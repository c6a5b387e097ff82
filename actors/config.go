package actors

import (
	"errors"
	"fmt"
	"time"

	"github.com/minibitly/minibitly/internal/nearcache"
)

// Config sizes and times the actor layer. Start from DefaultConfig and
// change what differs: New validates every field and never reads a zero as
// "use the default".
type Config struct {
	// NodeName identifies this node in visit batches (with a per-process
	// incarnation suffix, so a restarted node never reuses a batch id).
	NodeName string
	// Shards is the number of shard actors (1..4096).
	Shards int
	// OwnerCacheSize bounds the links the shard actors keep for the codes
	// this node owns, over all shards (each keeps OwnerCacheSize/Shards).
	OwnerCacheSize int
	// NearCache sizes the node's near-cache, which the System owns.
	NearCache nearcache.Config
	// BatchInterval is how often the batcher ships visits to the shards.
	BatchInterval time.Duration
	// FlushInterval is how often shard aggregates go to the visit sink.
	FlushInterval time.Duration
	// LoadTimeout bounds a store read on a cache miss.
	LoadTimeout time.Duration
	// AskTimeout bounds a request to a local shard actor.
	AskTimeout time.Duration
	// Flush configures retries, the buffer and the circuit breaker.
	Flush FlushConfig

	// RemoteAddr is the host:port protoactor's remote listens on; empty =
	// single node (no remote).
	RemoteAddr string
	// RemoteAdvertiseAddr is the host:port other nodes reach the remote
	// at, when it differs from RemoteAddr (e.g. listening on 0.0.0.0);
	// empty = RemoteAddr.
	RemoteAdvertiseAddr string
	// RemoteTimeout bounds a lookup on another node (a near-cache miss
	// whose code is owned elsewhere); after it the node fails over.
	RemoteTimeout time.Duration
	// VisitAckTimeout is how long a visit batch sent to another node may
	// take to be acknowledged; after it the rows are counted here instead.
	VisitAckTimeout time.Duration
	// ReferrersPerMinute bounds the distinct referrer hosts stored per code
	// per minute; visits from further hosts count as storage.OtherReferrer.
	ReferrersPerMinute int
}

// DefaultConfig: 64 shards owning up to 1M links, batches every 100 ms,
// flushes every second.
func DefaultConfig() Config {
	return Config{
		NodeName:        "node",
		Shards:          64,
		OwnerCacheSize:  1_000_000,
		NearCache:       nearcache.DefaultConfig(),
		BatchInterval:   100 * time.Millisecond,
		FlushInterval:   time.Second,
		LoadTimeout:     2 * time.Second,
		AskTimeout:      5 * time.Second,
		Flush:           DefaultFlushConfig(),
		RemoteTimeout:   time.Second,
		VisitAckTimeout: 2 * time.Second,

		ReferrersPerMinute: 100,
	}
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	switch {
	case c.NodeName == "":
		return errors.New("node name must not be empty")
	case c.Shards <= 0 || c.Shards > 4096:
		return fmt.Errorf("shards must be 1..4096, got %d", c.Shards)
	case c.OwnerCacheSize < c.Shards:
		return fmt.Errorf("owner cache size (%d) must be at least the number of shards (%d)", c.OwnerCacheSize, c.Shards)
	case c.BatchInterval <= 0:
		return fmt.Errorf("batch interval must be positive, got %s", c.BatchInterval)
	case c.FlushInterval < 10*time.Millisecond:
		return fmt.Errorf("flush interval must be at least 10ms, got %s", c.FlushInterval)
	case c.LoadTimeout <= 0 || c.AskTimeout <= 0:
		return fmt.Errorf("load and ask timeouts must be positive, got %s and %s", c.LoadTimeout, c.AskTimeout)
	case c.RemoteTimeout <= 0:
		return fmt.Errorf("remote timeout must be positive, got %s", c.RemoteTimeout)
	case c.VisitAckTimeout <= 0:
		return fmt.Errorf("visit ack timeout must be positive, got %s", c.VisitAckTimeout)
	case c.ReferrersPerMinute <= 0:
		return fmt.Errorf("referrers per minute must be positive, got %d", c.ReferrersPerMinute)
	}
	if err := c.NearCache.Validate(); err != nil {
		return err
	}
	return c.Flush.Validate()
}

// FlushConfig tunes delivery of visit batches to the sink.
type FlushConfig struct {
	// WriteTimeout bounds one write to the sink.
	WriteTimeout time.Duration
	// MaxBufferedRows bounds the aggregates waiting for the sink; beyond it
	// the oldest batches are dropped and counted.
	MaxBufferedRows int
	// BreakerThreshold consecutive failures open the circuit breaker for
	// BreakerCooldown, doubling per failed probe up to BreakerMaxCooldown.
	BreakerThreshold   int
	BreakerCooldown    time.Duration
	BreakerMaxCooldown time.Duration
}

// DefaultFlushConfig buffers up to 1M aggregate rows.
func DefaultFlushConfig() FlushConfig {
	return FlushConfig{
		WriteTimeout:       5 * time.Second,
		MaxBufferedRows:    1_000_000,
		BreakerThreshold:   3,
		BreakerCooldown:    500 * time.Millisecond,
		BreakerMaxCooldown: 5 * time.Second,
	}
}

// Validate reports the first invalid field.
func (c FlushConfig) Validate() error {
	switch {
	case c.WriteTimeout <= 0:
		return fmt.Errorf("flush write timeout must be positive, got %s", c.WriteTimeout)
	case c.MaxBufferedRows <= 0:
		return fmt.Errorf("flush buffer rows must be positive, got %d", c.MaxBufferedRows)
	case c.BreakerThreshold <= 0:
		return fmt.Errorf("breaker threshold must be positive, got %d", c.BreakerThreshold)
	case c.BreakerCooldown <= 0 || c.BreakerMaxCooldown < c.BreakerCooldown:
		return fmt.Errorf("breaker cooldowns must be positive with max ≥ base, got %s and %s", c.BreakerCooldown, c.BreakerMaxCooldown)
	}
	return nil
}
