package gateway

import (
	"math"
	"sync"
	"time"
)

// keyLimiter is a token bucket per API key. Like the redirect limits
// (ipLimiter) it is split over the cluster: each node allows rate ÷ alive
// members in bursts of burst ÷ alive (at least 1), so a key spread over
// the nodes by a balancer gets about the configured rate in total. It guards
// the API; redirects have their own per-address limits (redirect_limit.go).
type keyLimiter struct {
	rate  float64 // tokens per second, cluster-wide
	burst float64

	mu      sync.Mutex
	alive   float64 // members the rate is split over (≥ 1)
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

// newKeyLimiter allows rate requests per second per key, in bursts of up
// to burst (at least 1: Config.validate).
func newKeyLimiter(rate float64, burst int) *keyLimiter {
	return &keyLimiter{rate: rate, burst: float64(burst), alive: 1, buckets: map[string]*bucket{}}
}

// setAlive splits the rate over n members.
func (l *keyLimiter) setAlive(n int) {
	l.mu.Lock()
	l.alive = float64(max(n, 1))
	l.mu.Unlock()
}

// limit is the configured (cluster-wide) rate as a whole number of
// requests per second, for RateLimit-Limit.
func (l *keyLimiter) limit() int64 { return int64(math.Ceil(l.rate)) }

// allow takes one token from key's bucket at now; when refused it returns
// how long until the bucket holds one token.
func (l *keyLimiter) allow(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	rate := l.rate / l.alive
	burst := math.Max(math.Floor(l.burst/l.alive), 1)
	if now.Sub(l.swept) > time.Minute {
		// Forget buckets that have refilled: they are equivalent to new ones.
		for k, b := range l.buckets {
			if now.Sub(b.last).Seconds()*rate >= burst {
				delete(l.buckets, k)
			}
		}
		l.swept = now
	}
	b := l.buckets[key]
	if b == nil {
		b = &bucket{tokens: burst, last: now}
		l.buckets[key] = b
	}
	b.tokens += now.Sub(b.last).Seconds() * rate
	if b.tokens > burst {
		b.tokens = burst
	}
	b.last = now
	if b.tokens < 1 {
		return false, time.Duration((1 - b.tokens) / rate * float64(time.Second))
	}
	b.tokens--
	return true, 0
}
