package useragent

import (
	"sync/atomic"

	"github.com/cespare/xxhash/v2"
)

// Cache remembers the class of recently seen User-Agent strings in a
// direct-mapped table of atomics: no lock, no allocation. Real traffic
// repeats a small set of agents, so a hit (one xxhash of the header and one
// atomic load) replaces a classification pass that costs several hundred
// nanoseconds for a browser. Each slot holds the upper 48 bits of the
// agent's 64-bit hash and its packed class; a false hit needs a 48-bit
// collision within one slot.
type Cache struct {
	slots [cacheSlots]atomic.Uint64
}

const (
	cacheSlots = 4096
	validBit   = 1 << 15
	classMask  = validBit - 1
	tagMask    = ^uint64(0xffff)
)

// Classify returns Classify(ua), from the cache when it can.
func (c *Cache) Classify(ua []byte) Class {
	if len(ua) < 24 { // short agents (curl/8, empty) classify faster than they hash
		return Classify(ua)
	}
	h := xxhash.Sum64(ua)
	slot := &c.slots[h%cacheSlots]
	if v := slot.Load(); v&validBit != 0 && v&tagMask == h&tagMask {
		return UnpackClass(uint32(v & classMask))
	}
	cl := Classify(ua)
	slot.Store(h&tagMask | validBit | uint64(cl.Pack([2]byte{})&classMask))
	return cl
}
