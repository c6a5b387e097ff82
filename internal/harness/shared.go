package harness

import (
	"fmt"
	"os"
	"sync"
	"testing"
)

// Shared is one server per test binary, started on first use (so `-short`
// runs, which skip, start none) and closed by Close from TestMain:
//
//	var pg = harness.NewShared(harness.LaunchPostgres)
//	func TestMain(m *testing.M) { harness.RunAndClose(m, pg) }
//	func TestX(t *testing.T) { srv := pg.Get(t) … }
type Shared[T interface{ Close() error }] struct {
	launch func() (T, error)
	once   sync.Once
	srv    T
	err    error
	ok     bool
}

// NewShared returns a Shared started by launch.
func NewShared[T interface{ Close() error }](launch func() (T, error)) *Shared[T] {
	return &Shared[T]{launch: launch}
}

// Get returns the server, starting it on first use. It skips t under
// -short and fails it when the server cannot start.
func (s *Shared[T]) Get(t testing.TB) T {
	t.Helper()
	if testing.Short() {
		t.Skip("needs a real server (skipped with -short)")
	}
	s.once.Do(func() {
		s.srv, s.err = s.launch()
		s.ok = s.err == nil
	})
	if s.err != nil {
		t.Fatalf("harness: %v", s.err)
	}
	return s.srv
}

// Close stops the server if it was started.
func (s *Shared[T]) Close() error {
	if !s.ok {
		return nil
	}
	return s.srv.Close()
}

// RunAndClose runs the tests, closes every shared server, removes the
// binary Binary built (if any) and exits.
func RunAndClose(m *testing.M, servers ...interface{ Close() error }) {
	code := m.Run()
	for _, s := range servers {
		if err := s.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "harness:", err)
		}
	}
	if err := removeBinary(); err != nil {
		fmt.Fprintln(os.Stderr, "harness:", err)
	}
	os.Exit(code)
}
