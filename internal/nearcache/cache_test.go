package nearcache

import (
	"strconv"
	"sync"
	"testing"
	"time"
)

func newCache(t testing.TB, cfg Config) *Cache {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCache_GetPutDeleteTTL(t *testing.T) {
	c := newCache(t, Config{MaxEntries: 1000, TTL: 10 * time.Second, NegativeTTL: 10 * time.Second, NegativeEntries: 1000})
	e := &Entry{Code: "abc", Location: []byte("https://example.com"), Version: 1}
	c.Put(e, 100)
	if got := c.Get([]byte("abc"), 100); got != e {
		t.Fatalf("Get = %v", got)
	}
	if c.Get([]byte("abc"), 110) != nil {
		t.Fatal("entry served after its TTL")
	}
	if c.Get([]byte("abd"), 100) != nil {
		t.Fatal("unknown code found")
	}
	gen := c.Gen("abc")
	c.Delete("abc") // an edit lands while a lookup is in flight…
	if c.PutIfGen(&Entry{Code: "abc", Version: 1}, 100, gen) || c.Get([]byte("abc"), 100) != nil {
		t.Fatal("a lookup that raced with an invalidation was cached")
	}
	if !c.PutIfGen(e, 100, c.Gen("abc")) || c.Get([]byte("abc"), 100) != e {
		t.Fatal("PutIfGen with a current generation did not publish")
	}
	c.Put(&Entry{Code: "nope", Gone: true}, 100)
	if c.Get([]byte("nope"), 109) == nil || c.Get([]byte("nope"), 110) != nil {
		t.Fatal("a negative entry must live NegativeTTL (10 s)")
	}
	c.Delete("nope")
	c.Delete("abc")
	if c.Get([]byte("abc"), 100) != nil || c.Len() != 0 {
		t.Fatalf("Delete left the entry (len %d)", c.Len())
	}
}

func TestCache_Bounded(t *testing.T) {
	c := newCache(t, Config{MaxEntries: 512, TTL: 10 * time.Second, NegativeTTL: time.Second, NegativeEntries: 1000})
	for i := 0; i < 10_000; i++ {
		c.Put(&Entry{Code: "c" + strconv.Itoa(i)}, 1)
	}
	if n := c.Len(); n > 512 {
		t.Fatalf("%d entries cached, bound 512", n)
	}
	if c.Get([]byte("c9999"), 1) == nil {
		t.Fatal("the newest entry was evicted")
	}
	c.Clear()
	if c.Len() != 0 {
		t.Fatal("Clear left entries")
	}
}

func TestCache_GetAllocatesNothing(t *testing.T) {
	c := newCache(t, DefaultConfig())
	c.Put(&Entry{Code: "abc"}, 1)
	key := []byte("abc")
	if n := testing.AllocsPerRun(1000, func() { c.Get(key, 1) }); n != 0 {
		t.Fatalf("Get allocates %v times", n)
	}
}

func TestCacheControlValue(t *testing.T) {
	if got := string(CacheControlValue(0)); got != "private, max-age=0" {
		t.Fatal(got)
	}
	if got := string(CacheControlValue(60)); got != "public, max-age=60" {
		t.Fatal(got)
	}
}

func BenchmarkCache_Get(b *testing.B) {
	c := newCache(b, DefaultConfig())
	for i := 0; i < 100_000; i++ {
		c.Put(&Entry{Code: "c" + strconv.Itoa(i)}, 1)
	}
	key := []byte("c4242")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.Get(key, 1)
		}
	})
}

// TestCache_RepublishWhileReading: the actor layer hands the same *Entry to
// every resolver of a code, so a re-publish (TTL ran out) must not write to
// the entry other goroutines are reading (run with -race).
func TestCache_RepublishWhileReading(t *testing.T) {
	c := newCache(t, DefaultConfig())
	e := &Entry{Code: "hot", Location: []byte("https://example.com")}
	c.Put(e, 1)
	var wg sync.WaitGroup
	for g := 0; g < 2; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int64(0); i < 2000; i++ {
				c.PutIfGen(e, 1+i, c.Gen("hot"))
			}
		}()
	}
	key := []byte("hot")
	for i := 0; i < 20_000; i++ {
		if got := c.Get(key, 1); got != nil && got != e {
			t.Fatal("wrong entry")
		}
	}
	wg.Wait()
	if c.Get(key, 2000) != e || c.Get(key, 2000+300) != nil {
		t.Fatal("the newest publication's deadline must apply")
	}
}

func TestConfig_Validate(t *testing.T) {
	for name, mod := range map[string]func(*Config){
		"size 0":         func(c *Config) { c.MaxEntries = 0 },
		"ttl 0":          func(c *Config) { c.TTL = 0 },
		"ttl 500ms":      func(c *Config) { c.TTL = 500 * time.Millisecond },
		"negative ttl 0": func(c *Config) { c.NegativeTTL = 0 },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := DefaultConfig()
			mod(&cfg)
			if _, err := New(cfg); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	if _, err := New(DefaultConfig()); err != nil {
		t.Fatal(err)
	}
}

// A flood of unknown codes (an enumeration, a typo campaign) must not evict
// real links: on the single shared table, 5,000 random codes on a
// 2,560-entry cache evicted 436 of 500 warm links.
func TestCache_UnknownCodesNeverEvictLinks(t *testing.T) {
	c := newCache(t, Config{MaxEntries: 2560, TTL: time.Minute, NegativeTTL: time.Minute, NegativeEntries: 2560})
	for i := 0; i < 500; i++ {
		c.Put(&Entry{Code: "warm" + strconv.Itoa(i)}, 1)
	}
	for i := 0; i < 5000; i++ {
		c.Put(&Entry{Code: "rnd" + strconv.Itoa(i), Gone: true}, 1)
	}
	lost := 0
	for i := 0; i < 500; i++ {
		if c.Get([]byte("warm"+strconv.Itoa(i)), 1) == nil {
			lost++
		}
	}
	if lost != 0 {
		t.Fatalf("%d of 500 warm links evicted by 5,000 unknown codes", lost)
	}
	if n := c.NegativeLen(); n == 0 || n > 2560+shardCount {
		t.Fatalf("negative entries = %d, want 1..%d", n, 2560+shardCount)
	}
	if c.Len() != 500 {
		t.Fatalf("Len = %d, want the 500 links only", c.Len())
	}
	// A code created after it was remembered as unknown is served at once…
	c.Put(&Entry{Code: "rnd4999"}, 1)
	if e := c.Get([]byte("rnd4999"), 1); e == nil || e.Gone {
		t.Fatalf("created code still negative: %+v", e)
	}
	// …and a link deleted since is remembered as gone, not as the link.
	c.Put(&Entry{Code: "warm0", Gone: true}, 1)
	if e := c.Get([]byte("warm0"), 1); e == nil || !e.Gone || c.Len() != 500 {
		t.Fatalf("deleted link: %+v, Len %d", e, c.Len())
	}
	c.Clear()
	if c.Len() != 0 || c.NegativeLen() != 0 {
		t.Fatalf("Clear left %d + %d entries", c.Len(), c.NegativeLen())
	}
}
