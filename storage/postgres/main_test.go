package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/minibitly/minibitly/internal/harness"
)

// One PostgreSQL server per test binary, started on first use; each store
// gets a fresh database on it. Fault tests that stop a server start their own.
var shared = harness.NewShared(harness.LaunchPostgres)

func TestMain(m *testing.M) { harness.RunAndClose(m, shared) }

// server returns the shared server; it skips under -short.
func server(t testing.TB) *harness.Postgres { return shared.Get(t) }

// config is DefaultConfig with URL set.
func config(url string) Config {
	c := DefaultConfig()
	c.URL = url
	return c
}

func withReadURL(c Config, url string) Config {
	c.ReadURL = url
	return c
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
	return openURL(t, config(pg.NewDatabase(t)))
}
