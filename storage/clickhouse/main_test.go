package clickhouse

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/minibitly/minibitly/internal/harness"
)

// One ClickHouse server per test binary, started on first use (so -short
// runs start none); each store gets a fresh database on it. Fault tests
// that stop a server start their own.
var (
	sharedOnce sync.Once
	sharedCH   *harness.ClickHouse
	sharedErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if sharedCH != nil {
		if err := sharedCH.Close(); err != nil {
			println("harness:", err.Error())
		}
	}
	os.Exit(code)
}

func server(t testing.TB) *harness.ClickHouse {
	t.Helper()
	if testing.Short() {
		t.Skip("needs a real ClickHouse server (skipped with -short)")
	}
	sharedOnce.Do(func() { sharedCH, sharedErr = harness.LaunchClickHouse() })
	if sharedErr != nil {
		t.Fatalf("harness: %v", sharedErr)
	}
	return sharedCH
}

func openURL(t testing.TB, cfg Config) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Open(ctx, cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

func openFresh(t testing.TB) *Store {
	t.Helper()
	return openURL(t, Config{URL: server(t).NewDatabase(t)})
}
