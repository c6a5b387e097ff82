package nearcache

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

const shardCount = 256

// Config sizes the cache. Start from DefaultConfig; New refuses values that
// make no sense instead of reinterpreting them.
type Config struct {
	// MaxEntries bounds the number of cached codes (spread over 256 shards).
	MaxEntries int
	// TTL is how long an entry is served before it is re-resolved; whole
	// seconds (the redirect path reads a coarse unix-seconds clock), ≥ 1 s.
	TTL time.Duration
	// NegativeTTL is how long "no such link" is remembered, so a flood of
	// unknown codes costs one store read per code per interval; ≥ 1 s.
	NegativeTTL time.Duration
	// NegativeEntries bounds the remembered unknown codes. They live in a
	// table of their own, so a flood of random codes evicts only other
	// unknown codes, never a real link.
	NegativeEntries int
}

// DefaultConfig caches up to 1M links for 5 minutes, and up to 100,000
// unknown codes for 10 s.
func DefaultConfig() Config {
	return Config{MaxEntries: 1_000_000, TTL: 5 * time.Minute, NegativeTTL: 10 * time.Second, NegativeEntries: 100_000}
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	switch {
	case c.MaxEntries <= 0:
		return fmt.Errorf("near-cache size must be positive, got %d", c.MaxEntries)
	case c.TTL < time.Second:
		return fmt.Errorf("near-cache TTL must be at least 1s, got %s", c.TTL)
	case c.NegativeTTL < time.Second:
		return fmt.Errorf("near-cache negative TTL must be at least 1s, got %s", c.NegativeTTL)
	case c.NegativeEntries <= 0:
		return fmt.Errorf("near-cache negative size must be positive, got %d", c.NegativeEntries)
	}
	return nil
}

// Cache is a bounded map of code to *Entry, sharded by a hash of the code.
// Negative entries (Gone: "no such link") are kept in a second, separately
// bounded map of each shard: unknown codes are what an enumeration or a
// typo-flood sends, and they must not push real links out.
//
// Published entries are shared by every reader and never written again:
// the deadline an entry is served until lives beside the pointer, in the
// shard's map, so re-publishing the same *Entry (a hot code re-resolved
// after its TTL) writes only the cache's own slot.
type Cache struct {
	perShard int
	negShard int   // bound of each shard's negative map
	ttl      int64 // seconds
	negTTL   int64 // seconds
	shards   [shardCount]shard
	size     atomic.Int64 // entries of the positive maps
	negSize  atomic.Int64 // entries of the negative maps
}

// slot is one cached code: the immutable entry and the unix second from
// which it must be re-resolved. Slots are stored by value and written only
// under the shard's write lock.
type slot struct {
	e        *Entry
	deadline int64
}

type shard struct {
	mu  sync.RWMutex
	m   map[string]slot
	neg map[string]slot // Gone entries only
	gen atomic.Uint64   // bumped by every Delete/Clear: see PutIfGen
	_   [32]byte        // keep shards on separate cache lines
}

// New validates cfg and returns an empty cache.
func New(cfg Config) (*Cache, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Cache{
		perShard: (cfg.MaxEntries + shardCount - 1) / shardCount,
		negShard: (cfg.NegativeEntries + shardCount - 1) / shardCount,
		ttl:      int64(cfg.TTL / time.Second),
		negTTL:   int64(cfg.NegativeTTL / time.Second),
	}
	for i := range c.shards {
		c.shards[i].m = make(map[string]slot)
		c.shards[i].neg = make(map[string]slot)
	}
	return c, nil
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

// Get returns the live entry for code at unix time now, or nil. The entry
// is shared: the caller must not modify it.
func (c *Cache) Get(code []byte, now int64) *Entry {
	s := &c.shards[Hash(code)%shardCount]
	s.mu.RLock()
	sl, ok := s.m[string(code)]
	if !ok {
		sl = s.neg[string(code)]
	}
	s.mu.RUnlock()
	if sl.e == nil || now >= sl.deadline {
		return nil
	}
	return sl.e
}

// Put publishes e, replacing any entry for the same code. When the shard is
// full an arbitrary entry is evicted. e must not be modified afterwards.
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
// link back. Negative entries (Gone) live NegativeTTL. It reports whether e
// was published. e must not be modified afterwards.
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
	if e.Gone {
		if _, ok := s.m[e.Code]; ok { // a link deleted or gone since
			delete(s.m, e.Code)
			c.size.Add(-1)
		}
		putBounded(s.neg, c.negShard, e.Code, slot{e: e, deadline: now + c.negTTL}, &c.negSize)
		return
	}
	if _, ok := s.neg[e.Code]; ok { // created since
		delete(s.neg, e.Code)
		c.negSize.Add(-1)
	}
	putBounded(s.m, c.perShard, e.Code, slot{e: e, deadline: now + c.ttl}, &c.size)
}

// putBounded stores sl under code in m, evicting an arbitrary other entry
// when m already holds max, and keeps size counting m's entries.
func putBounded(m map[string]slot, max int, code string, sl slot, size *atomic.Int64) {
	if _, ok := m[code]; !ok {
		if len(m) >= max {
			for k := range m {
				delete(m, k)
				size.Add(-1)
				break
			}
		}
		size.Add(1)
	}
	m[code] = sl
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
	if _, ok := s.neg[code]; ok {
		delete(s.neg, code)
		c.negSize.Add(-1)
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
		c.negSize.Add(-int64(len(s.neg)))
		s.m = make(map[string]slot)
		s.neg = make(map[string]slot)
		s.mu.Unlock()
	}
}

// Len is the number of cached links (negative entries not included).
func (c *Cache) Len() int { return int(c.size.Load()) }

// NegativeLen is the number of remembered unknown codes.
func (c *Cache) NegativeLen() int { return int(c.negSize.Load()) }

// Reader is the read side of a Cache, for packages that serve from the
// cache but do not own it (the gateway). It is a value: copying it copies
// the pointer, and its methods inline to the Cache's.
type Reader struct{ c *Cache }

// Reader returns the read side of c.
func (c *Cache) Reader() Reader { return Reader{c} }

// Get is Cache.Get: the live entry for code at unix time now, or nil; the
// entry is shared and must not be modified.
func (r Reader) Get(code []byte, now int64) *Entry { return r.c.Get(code, now) }

// Len is Cache.Len.
func (r Reader) Len() int { return r.c.Len() }

// NegativeLen is Cache.NegativeLen.
func (r Reader) NegativeLen() int { return r.c.NegativeLen() }

// Valid reports whether r reads a cache (the zero Reader does not).
func (r Reader) Valid() bool { return r.c != nil }
