package embedded

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/minibitly/minibitly/storage"
	"github.com/minibitly/minibitly/storage/storagetest"
)

// config is DefaultConfig with the database at path.
func config(path string) Config {
	c := DefaultConfig()
	c.Path = path
	return c
}

func withTimeout(c Config, d time.Duration) Config {
	c.OpenTimeout = d
	return c
}

func openTemp(t *testing.T) *Store {
	t.Helper()
	s, err := Open(config(filepath.Join(t.TempDir(), "sub", "dir", "test.db")))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestStore_LinkStore(t *testing.T) {
	storagetest.RunLinkStore(t, func(t *testing.T) storage.LinkStore { return openTemp(t) })
}

func TestStore_KeyStore(t *testing.T) {
	storagetest.RunKeyStore(t, func(t *testing.T) storage.KeyStore { return openTemp(t) })
}

func TestStore_Visits(t *testing.T) {
	storagetest.RunVisits(t, func(t *testing.T) (storage.VisitSink, storage.StatsReader) {
		s := openTemp(t)
		return s, s
	})
}

func TestStore_Reopen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "test.db")
	s, err := Open(config(path))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	created := time.Date(2024, 3, 10, 12, 0, 0, 0, time.UTC)
	l := storage.Link{Code: "keep", URL: "https://example.com/", Tags: []string{"t"}, CreatedAt: created, UpdatedAt: created, RedirectStatus: 302, CacheMaxAge: -1, Version: 1}
	steps := []error{
		s.CreateLink(ctx, l),
		s.CreateLink(ctx, storage.Link{Code: "gone", URL: "https://example.com/", CreatedAt: created}),
		s.DeleteLink(ctx, "gone"),
		s.CreateAPIKey(ctx, storage.APIKey{ID: "k", Hash: "h", CreatedAt: created}),
		s.WriteVisits(ctx, storage.VisitBatch{NodeID: "n", Seq: 1, Rows: []storage.VisitCount{{VisitKey: storage.VisitKey{Code: "keep", Minute: created.Unix()}, Visits: 3}}}),
		s.Close(),
		s.Close(), // idempotent
	}
	for i, err := range steps {
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	if err := s.Ping(ctx); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("Ping after Close = %v, want ErrUnavailable", err)
	}
	if _, err := s.GetLink(ctx, "keep"); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("GetLink after Close = %v, want ErrUnavailable", err)
	}

	s, err = Open(config(path))
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	got, err := s.GetLink(ctx, "keep")
	if err != nil || got.URL != l.URL || !got.CreatedAt.Equal(created) || got.Tags[0] != "t" {
		t.Fatalf("GetLink after reopen = %+v, %v", got, err)
	}
	if ls, _, err := s.ListLinks(ctx, storage.ListQuery{Limit: 10, Tag: "t"}); err != nil || len(ls) != 1 {
		t.Fatalf("ListLinks after reopen = %d links, %v", len(ls), err)
	}
	if err := s.CreateLink(ctx, storage.Link{Code: "gone", URL: "https://x/", CreatedAt: created}); !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("CreateLink of a deleted code after reopen = %v, want ErrConflict", err)
	}
	if _, err := s.APIKeyByHash(ctx, "h"); err != nil {
		t.Fatalf("APIKeyByHash after reopen: %v", err)
	}
	// The applied batch is remembered across restarts.
	if err := s.WriteVisits(ctx, storage.VisitBatch{NodeID: "n", Seq: 1, Rows: []storage.VisitCount{{VisitKey: storage.VisitKey{Code: "keep", Minute: created.Unix()}, Visits: 3}}}); err != nil {
		t.Fatalf("WriteVisits: %v", err)
	}
	if n, err := s.VisitTotal(ctx, "keep"); err != nil || n != 3 {
		t.Fatalf("VisitTotal after reopen = %d, %v; want 3", n, err)
	}
}

func TestOpen_Locked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "test.db")
	s, err := Open(config(path))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	start := time.Now()
	_, err = Open(withTimeout(config(path), 100*time.Millisecond))
	if err == nil || !strings.Contains(err.Error(), "in use by another minibitly process") {
		t.Fatalf("second Open = %v, want an in-use error", err)
	}
	if d := time.Since(start); d > 5*time.Second { // bbolt retries every 50ms until the timeout
		t.Fatalf("second Open failed after %v, want about the 100ms timeout", d)
	}
}

func TestOpen_BadPath(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(config(filepath.Join(file, "db"))); err == nil {
		t.Fatal("Open under a regular file succeeded")
	}
	if _, err := Open(config(file)); err == nil {
		t.Fatal("Open of a file that is not a database succeeded")
	}
	if _, err := Open(Config{}); err == nil {
		t.Fatal("Open with an empty path succeeded")
	}
}

func TestDefaultConfig(t *testing.T) {
	c := DefaultConfig()
	if c.Path != filepath.Join("data", "minibitly.db") || c.OpenTimeout != time.Second {
		t.Fatalf("DefaultConfig = %+v", c)
	}
	// Zero is a value (wait for the lock), not "the default"; negative is refused.
	if _, err := Open(withTimeout(config(filepath.Join(t.TempDir(), "db")), -time.Second)); err == nil {
		t.Fatal("Open with a negative open timeout succeeded")
	}
	s, err := Open(withTimeout(config(filepath.Join(t.TempDir(), "db")), 0))
	if err != nil {
		t.Fatalf("Open with open timeout 0 (wait): %v", err)
	}
	s.Close()
}

func TestStore_SeqWindow(t *testing.T) {
	ctx := t.Context()
	s := openTemp(t)
	row := []storage.VisitCount{{VisitKey: storage.VisitKey{Code: "c", Minute: 60}, Visits: 1}}
	write := func(seq uint64) {
		t.Helper()
		if err := s.WriteVisits(ctx, storage.VisitBatch{NodeID: "n", Seq: seq, Rows: row}); err != nil {
			t.Fatalf("WriteVisits %d: %v", seq, err)
		}
	}
	total := func() uint64 {
		t.Helper()
		n, err := s.VisitTotal(ctx, "c")
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	write(5)
	write(SeqWindow + 100) // 5 falls out of the window
	write(5)               // a replay: not counted
	write(200)             // inside the window, new: counted
	write(200)
	if n := total(); n != 3 {
		t.Fatalf("total = %d, want 3", n)
	}
	if err := s.view(ctx, "count", func(tx *bolt.Tx) error {
		if n := tx.Bucket(bBatches).Bucket([]byte("node:n")).Stats().KeyN; n != 2 {
			t.Errorf("remembered %d batches, want 2", n)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
