package clickhouse

import (
	"context"
	"testing"
	"time"

	"github.com/minibitly/minibitly/internal/harness"
)

// One ClickHouse server per test binary, started on first use; each store
// gets a fresh database on it. Fault tests that stop a server start their own.
var shared = harness.NewShared(harness.LaunchClickHouse)

func TestMain(m *testing.M) { harness.RunAndClose(m, shared, sharedCluster) }

// server returns the shared server; it skips under -short.
func server(t testing.TB) *harness.ClickHouse { return shared.Get(t) }

// config is DefaultConfig with URL set.
func config(url string) Config {
	c := DefaultConfig()
	c.URL = url
	return c
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
	return openURL(t, config(server(t).NewDatabase(t)))
}
