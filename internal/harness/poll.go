package harness

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// The interval between two calls of a condition starts at minInterval and
// doubles up to maxInterval.
const (
	minInterval = 10 * time.Millisecond
	maxInterval = 100 * time.Millisecond
)

// Until calls cond until it returns nil or ctx is done. It returns nil once
// cond has returned nil, else an error wrapping ctx's error and cond's last
// error. cond runs at least once.
func Until(ctx context.Context, cond func() error) error {
	var last error
	if loop(ctx, func() bool { last = cond(); return last == nil }) {
		return nil
	}
	return fmt.Errorf("%w (last: %w)", context.Cause(ctx), last)
}

// Eventually calls cond until it returns nil and fails t with cond's last
// error once timeout has passed.
func Eventually(t testing.TB, timeout time.Duration, cond func() error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var last error
	if !loop(ctx, func() bool { last = cond(); return last == nil }) {
		t.Fatalf("still not so after %s: %v", timeout, last)
	}
}

// Consistently calls cond for the whole of d, the last time when d has
// passed, and fails t at cond's first error.
func Consistently(t testing.TB, d time.Duration, cond func() error) {
	t.Helper()
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var failed error
	loop(ctx, func() bool { failed = cond(); return failed != nil })
	if failed == nil {
		failed = cond()
	}
	if failed != nil {
		t.Fatalf("stopped being so after %s of %s: %v", time.Since(start).Round(time.Millisecond), d, failed)
	}
}

// loop calls step until it returns true or ctx is done and reports whether
// step returned true. step runs at least once; the wait between two calls
// starts at minInterval and doubles up to maxInterval.
func loop(ctx context.Context, step func() bool) bool {
	wait := minInterval
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		if step() {
			return true
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return false
		case <-timer.C:
		}
		wait = min(2*wait, maxInterval)
	}
}
