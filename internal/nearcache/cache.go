package nearcache

import (
	"sync"
	"sync/atomic"
)

const shardCount = 256

// Config sizes the cache.
type Config struct {
	// MaxEntries bounds the number of cached codes (spread over 256 shards).
	MaxEntries int
	// TTLSeconds is how long an entry is served before it is re-resolved.
	TTLSeconds int64
	// NegativeTTLSeconds is how long "no such link" is remembered, so a flood
	// of unknown codes costs one store read per code per interval.
	NegativeTTLSeconds int64
}

// DefaultConfig caches up to 1M links for 5 minutes, unknown codes for 10 s.
func DefaultConfig() Config {
	return Config{MaxEntries: 1_000_000, TTLSeconds: 300, NegativeTTLSeconds: 10}
}

// Cache is a bounded map of code to *Entry, sharded by a hash of the code.
type Cache struct {
	cfg      Config
	perShard int
	shards   [shardCount]shard
	size     atomic.Int64
}

type shard struct {
	mu  sync.RWMutex
	m   map[string]*Entry
	gen atomic.Uint64 // bumped by every Delete/Clear: see PutIfGen
	_   [32]byte      // keep shards on separate cache lines
}

// New returns an empty cache.
func New(cfg Config) *Cache {
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = DefaultConfig().MaxEntries
	}
	if cfg.TTLSeconds <= 0 {
		cfg.TTLSeconds = DefaultConfig().TTLSeconds
	}
	if cfg.NegativeTTLSeconds <= 0 {
		cfg.NegativeTTLSeconds = DefaultConfig().NegativeTTLSeconds
	}
	c := &Cache{cfg: cfg, perShard: (cfg.MaxEntries + shardCount - 1) / shardCount}
	for i := range c.shards {
		c.shards[i].m = make(map[string]*Entry)
	}
	return c
}

// Hash is FNV-1a over the code: cheap, no allocation, good enough to spread
// codes over the cache's shards (placement uses a stronger hash).
func Hash(code []byte) uint32 {
	h := uint32(2166136261)
	for _, b := range code {
		h ^= uint32(b)
		h *= 16777619
	}
	return h
}

func hashString(code string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(code); i++ {
		h ^= uint32(code[i])
		h *= 16777619
	}
	return h
}

// Get returns the live entry for code at unix time now, or nil.
func (c *Cache) Get(code []byte, now int64) *Entry {
	s := &c.shards[Hash(code)%shardCount]
	s.mu.RLock()
	e := s.m[string(code)]
	s.mu.RUnlock()
	if e == nil || now >= e.deadline {
		return nil
	}
	return e
}

// Put publishes e, replacing any entry for the same code. When the shard is
// full an arbitrary entry is evicted.
func (c *Cache) Put(e *Entry, now int64) {
	s := &c.shards[hashString(e.Code)%shardCount]
	s.mu.Lock()
	c.putLocked(s, e, now)
	s.mu.Unlock()
}

// Gen returns the invalidation generation of code's shard. Read it before
// resolving a code and hand it to PutIfGen.
func (c *Cache) Gen(code string) uint64 {
	return c.shards[hashString(code)%shardCount].gen.Load()
}

// PutIfGen publishes e unless an invalidation (Delete, Clear) hit its shard
// since gen was read: a lookup that raced with an edit must not put the old
// link back. Negative entries (Gone) live NegativeTTLSeconds. It reports
// whether e was published.
func (c *Cache) PutIfGen(e *Entry, now int64, gen uint64) bool {
	s := &c.shards[hashString(e.Code)%shardCount]
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gen.Load() != gen {
		return false
	}
	c.putLocked(s, e, now)
	return true
}

func (c *Cache) putLocked(s *shard, e *Entry, now int64) {
	e.deadline = now + c.cfg.TTLSeconds
	if e.Gone {
		e.deadline = now + c.cfg.NegativeTTLSeconds
	}
	if _, ok := s.m[e.Code]; !ok {
		if len(s.m) >= c.perShard {
			for k := range s.m {
				delete(s.m, k)
				c.size.Add(-1)
				break
			}
		}
		c.size.Add(1)
	}
	s.m[e.Code] = e
}

// Delete removes code.
func (c *Cache) Delete(code string) {
	s := &c.shards[hashString(code)%shardCount]
	s.mu.Lock()
	s.gen.Add(1)
	if _, ok := s.m[code]; ok {
		delete(s.m, code)
		c.size.Add(-1)
	}
	s.mu.Unlock()
}

// Clear removes every entry (membership change).
func (c *Cache) Clear() {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		s.gen.Add(1)
		c.size.Add(-int64(len(s.m)))
		s.m = make(map[string]*Entry)
		s.mu.Unlock()
	}
}

// Len is the number of cached entries.
func (c *Cache) Len() int { return int(c.size.Load()) }
