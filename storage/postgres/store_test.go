package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/minibitly/minibitly/internal/harness"
	"github.com/minibitly/minibitly/storage"
)

func link(code string) storage.Link {
	now := time.Now()
	return storage.Link{Code: code, URL: "https://example.com/" + code, CreatedAt: now, UpdatedAt: now,
		RedirectStatus: 302, CacheMaxAge: -1, Version: 1}
}

func TestStore_Migrate(t *testing.T) {
	pg := server(t)
	url := pg.NewDatabase(t)
	ctx := t.Context()
	stores := make([]*Store, 6)
	for i := range stores {
		s, err := Open(ctx, config(url))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(s.Close)
		stores[i] = s
	}
	if v, err := stores[0].SchemaVersion(ctx); err != nil || v != 0 {
		t.Fatalf("SchemaVersion before Migrate = %d, %v; want 0", v, err)
	}
	// Concurrent starts: each migration is applied once, nobody fails.
	var wg sync.WaitGroup
	errs := make([]error, len(stores))
	for i, s := range stores {
		wg.Go(func() { errs[i] = s.Migrate(ctx) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("concurrent Migrate %d: %v", i, err)
		}
	}
	// Idempotent.
	if err := stores[0].Migrate(ctx); err != nil {
		t.Fatalf("Migrate again: %v", err)
	}
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	v, err := stores[0].SchemaVersion(ctx)
	if err != nil || v != ms[len(ms)-1].version {
		t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, ms[len(ms)-1].version)
	}
	var n int
	if err := stores[0].pool.QueryRow(ctx, "SELECT count(*) FROM schema_migrations").Scan(&n); err != nil || n != len(ms) {
		t.Fatalf("schema_migrations rows = %d, %v; want %d", n, err, len(ms))
	}
}

func TestStore_CreateLinkGroupCommit(t *testing.T) {
	s := openFresh(t)
	ctx := t.Context()
	if err := s.CreateLink(ctx, link("taken")); err != nil {
		t.Fatal(err)
	}
	before := s.BatchStats()
	const n = 200
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			code := fmt.Sprintf("gc%03d", i)
			switch {
			case i%50 == 0:
				code = "taken" // conflicts with a committed link
			case i%50 == 1:
				code = "twice" // conflicts within the batch: one wins
			}
			errs[i] = s.CreateLink(ctx, link(code))
		})
	}
	wg.Wait()
	var ok, conflicts, twiceWon int
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
			if i%50 == 1 {
				twiceWon++
			}
		case errors.Is(err, storage.ErrConflict):
			conflicts++
		default:
			t.Fatalf("CreateLink %d: %v", i, err)
		}
	}
	if ok != n-4-3 || conflicts != 4+3 || twiceWon != 1 {
		t.Fatalf("%d created, %d conflicts (%d of the repeated code won); want %d, %d, 1", ok, conflicts, twiceWon, n-7, 7)
	}
	st := s.BatchStats()
	batches := st.Batches - before.Batches
	t.Logf("%d concurrent creates in %d batches (%d links sent)", n, batches, st.Links-before.Links)
	if batches > n/10 {
		t.Fatalf("%d concurrent creates took %d batches; want group commit (≤ %d)", n, batches, n/10)
	}
	// Every committed create is visible at once (commit before return).
	for i := range n {
		if i%50 > 1 {
			if _, err := s.GetLink(ctx, fmt.Sprintf("gc%03d", i)); err != nil {
				t.Fatalf("GetLink gc%03d: %v", i, err)
			}
		}
	}
}

func TestStore_CreateLinksOneStatement(t *testing.T) {
	s := openFresh(t)
	ls := make([]storage.Link, 1000)
	for i := range ls {
		ls[i] = link(fmt.Sprintf("bulk%04d", i))
		ls[i].Tags = []string{"bulk", `quote"back\slash`, "{brace},comma", "NULL", ""}
	}
	errs, err := s.CreateLinks(t.Context(), ls)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range errs {
		if e != nil {
			t.Fatalf("CreateLinks[%d]: %v", i, e)
		}
	}
	got, err := s.GetLink(t.Context(), "bulk0999")
	if err != nil {
		t.Fatal(err)
	}
	want := ls[999].Tags
	if fmt.Sprint(got.Tags) != fmt.Sprint(want) || len(got.Tags) != len(want) {
		t.Fatalf("tags = %q, want %q", got.Tags, want)
	}
}

func TestOpen_Unreachable(t *testing.T) {
	if testing.Short() {
		t.Skip("real servers")
	}
	start := time.Now()
	_, err := Open(t.Context(), func() Config {
		c := config("postgres://postgres@127.0.0.1:1/x?sslmode=disable")
		c.ConnectTimeout = 2 * time.Second
		return c
	}())
	if !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("Open of an unreachable server: %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Open took %s to fail", d)
	}
}

// TestStore_ServerStopped stops a real server under a store: every
// operation fails with ErrUnavailable (and nothing is half-written), and the
// store recovers by itself after the restart.
func TestStore_ServerStopped(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a real PostgreSQL server (skipped with -short)")
	}
	pg := harness.StartPostgres(t) // its own: this test stops it
	s := openURL(t, func() Config {
		c := config(pg.URL())
		c.QueryTimeout, c.ConnectTimeout = 3*time.Second, 2*time.Second
		return c
	}())
	ctx := t.Context()
	if err := s.CreateLink(ctx, link("before")); err != nil {
		t.Fatal(err)
	}

	pg.Stop(t)
	title := "x"
	checks := map[string]func() error{
		"CreateLink": func() error { return s.CreateLink(ctx, link("during")) },
		"CreateLinks": func() error {
			_, err := s.CreateLinks(ctx, []storage.Link{link("during2")})
			return err
		},
		"GetLink": func() error { _, err := s.GetLink(ctx, "before"); return err },
		"UpdateLink": func() error {
			_, err := s.UpdateLink(ctx, "before", storage.LinkPatch{Title: &title})
			return err
		},
		"DeleteLink": func() error { return s.DeleteLink(ctx, "before") },
		"ListLinks": func() error {
			_, _, err := s.ListLinks(ctx, storage.ListQuery{Limit: 10})
			return err
		},
		"ListAPIKeys": func() error { _, err := s.ListAPIKeys(ctx); return err },
		"Ping":        func() error { return s.Ping(ctx) },
	}
	for name, f := range checks {
		if err := f(); !errors.Is(err, storage.ErrUnavailable) {
			t.Errorf("%s with the server stopped: %v, want ErrUnavailable", name, err)
		}
	}

	pg.Start(t)
	harness.Eventually(t, 30*time.Second, func() error {
		err := s.CreateLink(ctx, link("after"))
		if err != nil && !errors.Is(err, storage.ErrUnavailable) {
			t.Fatalf("CreateLink after the restart: %v", err)
		}
		return err
	})
	for _, code := range []string{"before", "after"} {
		l, err := s.GetLink(ctx, code)
		if err != nil {
			t.Fatalf("GetLink %s after the restart: %v", code, err)
		}
		if l.Version != 1 || l.Title != "" {
			t.Fatalf("%s was changed while the server was down: %+v", code, l)
		}
	}
	for _, code := range []string{"during", "during2"} {
		if _, err := s.GetLink(ctx, code); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("GetLink %s (refused while down): %v, want ErrNotFound", code, err)
		}
	}
}

func TestStore_Closed(t *testing.T) {
	s := openFresh(t)
	s.Close()
	s.Close() // idempotent
	if err := s.CreateLink(context.Background(), link("x")); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("CreateLink on a closed store: %v, want ErrUnavailable", err)
	}
}
