package postgres

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/minibitly/minibitly/internal/harness"
)

// One PostgreSQL server per test binary, started on first use (so -short
// runs start none) and stopped after every test has run. Each store gets a
// fresh database on it. Fault tests that stop a server start their own.
var (
	sharedOnce sync.Once
	sharedPG   *harness.Postgres
	sharedErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if sharedPG != nil {
		if err := sharedPG.Close(); err != nil {
			println("harness:", err.Error())
		}
	}
	os.Exit(code)
}

// server returns the shared server; it skips under -short.
func server(t testing.TB) *harness.Postgres {
	t.Helper()
	if testing.Short() {
		t.Skip("needs a real PostgreSQL server (skipped with -short)")
	}
	sharedOnce.Do(func() { sharedPG, sharedErr = harness.LaunchPostgres() })
	if sharedErr != nil {
		t.Fatalf("harness: %v", sharedErr)
	}
	return sharedPG
}

// openURL opens and migrates a store on url, closed when t ends.
func openURL(t testing.TB, cfg Config) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Open(ctx, cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(s.Close)
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

// openFresh opens a migrated store on a fresh database of the shared server.
func openFresh(t testing.TB) *Store {
	t.Helper()
	pg := server(t)
	return openURL(t, Config{URL: pg.NewDatabase(t)})
}
