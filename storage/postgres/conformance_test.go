package postgres

import (
	"sync"
	"testing"

	"github.com/minibitly/minibitly/internal/harness"

	"github.com/minibitly/minibitly/storage"
	"github.com/minibitly/minibitly/storage/storagetest"
)

func TestStore_LinkStoreConformance(t *testing.T) {
	storagetest.RunLinkStore(t, func(t *testing.T) storage.LinkStore { return openFresh(t) })
}

func TestStore_KeyStoreConformance(t *testing.T) {
	storagetest.RunKeyStore(t, func(t *testing.T) storage.KeyStore { return openFresh(t) })
}

// The same suites through a separate read pool (standing in for a replica).
func TestStore_ReadURLConformance(t *testing.T) {
	storagetest.RunLinkStore(t, func(t *testing.T) storage.LinkStore {
		url := server(t).NewDatabase(t)
		return openURL(t, withReadURL(config(url), url))
	})
}

// The same suites through PgBouncer in transaction-pooling mode (no session
// state, no named prepared statements: default_query_exec_mode=exec in the
// URL), for the primary and the read pool, migrations included.
func TestStore_PgBouncerConformance(t *testing.T) {
	pg := server(t)
	b := harness.StartPgBouncer(t, pg.Port())
	open := func(t *testing.T) *Store {
		url := b.URLOf(t, pg.NewDatabase(t))
		return openURL(t, withReadURL(config(url), url))
	}
	t.Run("migrate", func(t *testing.T) {
		// Concurrent starts through the pooler, then again: each migration
		// once, no lock left behind on a pooled server connection.
		url := b.URLOf(t, pg.NewDatabase(t))
		for round := range 2 {
			var wg sync.WaitGroup
			errs := make([]error, 4)
			for i := range errs {
				wg.Go(func() {
					s, err := Open(t.Context(), config(url))
					if err != nil {
						errs[i] = err
						return
					}
					defer s.Close()
					errs[i] = s.Migrate(t.Context())
				})
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("round %d: Migrate %d: %v", round, i, err)
				}
			}
		}
	})
	t.Run("links", func(t *testing.T) {
		storagetest.RunLinkStore(t, func(t *testing.T) storage.LinkStore { return open(t) })
	})
	t.Run("keys", func(t *testing.T) {
		storagetest.RunKeyStore(t, func(t *testing.T) storage.KeyStore { return open(t) })
	})
}
