package harness

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// recorder is a testing.TB that records Fatalf instead of stopping the test,
// so the failing paths can be checked.
type recorder struct {
	testing.TB
	fatal string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) { r.fatal = fmt.Sprintf(format, args...) }

// after returns a condition that fails n times, saying how often it ran,
// and then holds.
func after(n int) (cond func() error, calls *int) {
	calls = new(int)
	return func() error {
		*calls++
		if *calls <= n {
			return fmt.Errorf("call %d", *calls)
		}
		return nil
	}, calls
}

func TestEventually(t *testing.T) {
	tests := map[string]struct {
		failures  int
		timeout   time.Duration
		wantFatal string // substring; "" = passes
	}{
		"holds at once":     {failures: 0, timeout: time.Second},
		"holds on the 4th":  {failures: 3, timeout: 5 * time.Second},
		"never holds":       {failures: 1 << 30, timeout: 100 * time.Millisecond, wantFatal: "still not so after 100ms: call "},
		"zero timeout runs": {failures: 0, timeout: 0},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cond, calls := after(tc.failures)
			r := &recorder{TB: t}
			Eventually(r, tc.timeout, cond)
			if tc.wantFatal == "" {
				if r.fatal != "" {
					t.Fatalf("failed: %s", r.fatal)
				}
				if *calls != tc.failures+1 {
					t.Fatalf("cond ran %d times, want %d", *calls, tc.failures+1)
				}
				return
			}
			if !strings.Contains(r.fatal, tc.wantFatal) {
				t.Fatalf("Fatalf(%q), want it to contain %q", r.fatal, tc.wantFatal)
			}
			// The message carries the last error, not the first.
			if want := fmt.Sprintf("call %d", *calls); !strings.HasSuffix(r.fatal, want) {
				t.Fatalf("Fatalf(%q), want the last error %q", r.fatal, want)
			}
		})
	}
}

func TestConsistently(t *testing.T) {
	t.Run("holds throughout", func(t *testing.T) {
		r := &recorder{TB: t}
		calls := 0
		start := time.Now()
		Consistently(r, 150*time.Millisecond, func() error { calls++; return nil })
		if r.fatal != "" {
			t.Fatalf("failed: %s", r.fatal)
		}
		if took := time.Since(start); took < 150*time.Millisecond {
			t.Fatalf("returned after %s, before the window ended", took)
		}
		if calls < 2 { // at least once in the window and once at its end
			t.Fatalf("cond ran %d times in 150 ms", calls)
		}
	})
	t.Run("stops at the first error", func(t *testing.T) {
		r := &recorder{TB: t}
		calls := 0
		Consistently(r, 10*time.Second, func() error {
			calls++
			if calls == 3 {
				return errors.New("it happened")
			}
			return nil
		})
		if !strings.Contains(r.fatal, "of 10s: it happened") || calls != 3 {
			t.Fatalf("Fatalf(%q) after %d calls", r.fatal, calls)
		}
	})
}

func TestUntil(t *testing.T) {
	cond, _ := after(2)
	if err := Until(context.Background(), cond); err != nil {
		t.Fatalf("Until = %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	never := errors.New("not yet")
	err := Until(ctx, func() error { return never })
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, never) {
		t.Fatalf("Until past the deadline = %v, want both the deadline and the last error", err)
	}
}
