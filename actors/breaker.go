package actors

import "time"

// breakerState is the circuit breaker's state.
type breakerState int

const (
	breakerClosed breakerState = iota
	breakerOpen
	breakerHalfOpen
)

// breaker is a circuit breaker with exponential back-off: after Threshold
// consecutive failures it opens for Cooldown (doubling on every failed
// probe up to MaxCooldown); when the cooldown has passed one probe is let
// through (half-open); a success closes it. Not safe for concurrent use.
type breaker struct {
	threshold   int
	base, max   time.Duration
	state       breakerState
	failures    int
	cooldown    time.Duration
	openedUntil time.Time
}

func newBreaker(threshold int, base, max time.Duration) *breaker {
	return &breaker{threshold: threshold, base: base, max: max, cooldown: base}
}

// allow reports whether a call may go out at now.
func (b *breaker) allow(now time.Time) bool {
	switch b.state {
	case breakerOpen:
		if now.Before(b.openedUntil) {
			return false
		}
		b.state = breakerHalfOpen
		return true
	default:
		return true
	}
}

// success records a successful call.
func (b *breaker) success() {
	b.state, b.failures, b.cooldown = breakerClosed, 0, b.base
}

// failure records a failed call at now.
func (b *breaker) failure(now time.Time) {
	b.failures++
	switch {
	case b.state == breakerHalfOpen:
		b.cooldown *= 2
		if b.cooldown > b.max {
			b.cooldown = b.max
		}
		fallthrough
	case b.failures >= b.threshold:
		b.state = breakerOpen
		b.openedUntil = now.Add(b.cooldown)
	}
}
