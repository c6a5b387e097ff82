package nearcache

import (
	"strconv"
	"time"
)

// Entry is a resolved link, ready to be written as a redirect. Once handed
// to the cache (or to anyone else) it is shared by every goroutine serving
// the code and must never be modified: build a new one. What changes per
// publication (the TTL deadline) lives in the cache, not here.
type Entry struct {
	Code         string
	Location     []byte // the long URL
	Status       int    // 301, 302, 307, 308
	CacheControl []byte // full Cache-Control header value; nil = server default
	CacheMaxAge  int    // the link's own max-age in seconds; -1 = server default
	ExpiresAt    int64  // unix seconds; 0 = never
	// Limited links (max_visits) are decided by their owner on every hit.
	Limited      bool
	ForwardQuery bool
	Version      int64
	// Gone marks a cached "no such link" (negative entry): 404.
	Gone bool
	// Disabled marks a link an admin disabled: 410.
	Disabled bool
	// Blocked marks a link whose destination is on this node's blocklist
	// (--blocklist): 410.
	Blocked bool
}

// CacheControlValue renders the Cache-Control header for a max-age.
func CacheControlValue(maxAge int) []byte {
	if maxAge <= 0 {
		return []byte("private, max-age=0")
	}
	return []byte("public, max-age=" + strconv.Itoa(maxAge))
}

// Expired reports whether the link itself has expired at unix time now.
func (e *Entry) Expired(now int64) bool {
	return e.ExpiresAt != 0 && now >= e.ExpiresAt
}

// ExpiresAtTime converts t to the ExpiresAt form.
func ExpiresAtTime(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	// A link that expires at 12:00:00.5 is expired from 12:00:01 at the latest
	// on the coarse clock; round up so it never lives shorter than asked.
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}
