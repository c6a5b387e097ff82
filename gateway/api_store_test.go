package gateway

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minibitly/minibitly/internal/nearcache"
	"github.com/minibitly/minibitly/storage"
	"github.com/minibitly/minibitly/storage/embedded"
	"github.com/minibitly/minibitly/storage/storagetest"
)

// faultStore is the gateway tests' LinkStore, KeyStore, VisitSink and
// StatsReader: the real embedded store (bbolt in t.TempDir(), a backend that
// passes storage/storagetest) behind a thin wrapper whose switches inject
// faults. With every switch off each call is the embedded store's
// (TestFaultStore_Conformance).
type faultStore struct {
	t  testing.TB
	db *embedded.Store

	down         atomic.Bool  // every call fails with storage.ErrUnavailable
	linksDown    atomic.Bool  // every LinkStore and StatsReader call fails with storage.ErrUnavailable
	conflictNext atomic.Int64 // the next n links offered to CreateLink(s) get storage.ErrConflict, not stored
	refuseStats  atomic.Bool  // Stats refuses every query with storage.ErrInvalidQuery
	creates      atomic.Int64 // links offered to CreateLink(s), injected conflicts included
	visitSeq     atomic.Uint64
}

var (
	_ storage.LinkStore   = (*faultStore)(nil)
	_ storage.KeyStore    = (*faultStore)(nil)
	_ storage.VisitSink   = (*faultStore)(nil)
	_ storage.StatsReader = (*faultStore)(nil)
	_ storage.Pinger      = (*faultStore)(nil)
)

// newFaultStore opens an empty embedded store in t's temporary directory,
// closed when t ends.
func newFaultStore(t testing.TB) *faultStore {
	t.Helper()
	cfg := embedded.DefaultConfig()
	cfg.Path = filepath.Join(t.TempDir(), "gateway.db")
	db, err := embedded.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return &faultStore{t: t, db: db}
}

// fail is the injected error, if any; links says whether the call is a
// LinkStore or StatsReader one.
func (s *faultStore) fail(links bool) error {
	if s.down.Load() || links && s.linksDown.Load() {
		return fmt.Errorf("injected: %w", storage.ErrUnavailable)
	}
	return nil
}

// takeConflict consumes one injected conflict, if any is left.
func (s *faultStore) takeConflict() bool {
	for {
		n := s.conflictNext.Load()
		if n <= 0 {
			return false
		}
		if s.conflictNext.CompareAndSwap(n, n-1) {
			return true
		}
	}
}

func (s *faultStore) Ping(ctx context.Context) error {
	if err := s.fail(false); err != nil {
		return err
	}
	return s.db.Ping(ctx)
}

func (s *faultStore) CreateLink(ctx context.Context, l storage.Link) error {
	if err := s.fail(true); err != nil {
		return err
	}
	s.creates.Add(1)
	if s.takeConflict() {
		return fmt.Errorf("create link %q: injected: %w", l.Code, storage.ErrConflict)
	}
	return s.db.CreateLink(ctx, l)
}

func (s *faultStore) CreateLinks(ctx context.Context, ls []storage.Link) ([]error, error) {
	if err := s.fail(true); err != nil {
		return nil, err
	}
	s.creates.Add(int64(len(ls)))
	errs := make([]error, len(ls))
	var pass []storage.Link
	var at []int // index in ls of pass[j]
	for i, l := range ls {
		if s.takeConflict() {
			errs[i] = fmt.Errorf("create link %q: injected: %w", l.Code, storage.ErrConflict)
			continue
		}
		pass, at = append(pass, l), append(at, i)
	}
	if len(pass) == 0 {
		return errs, nil
	}
	got, err := s.db.CreateLinks(ctx, pass)
	if err != nil {
		return nil, err
	}
	for j, i := range at {
		errs[i] = got[j]
	}
	return errs, nil
}

func (s *faultStore) GetLink(ctx context.Context, code string) (storage.Link, error) {
	if err := s.fail(true); err != nil {
		return storage.Link{}, err
	}
	return s.db.GetLink(ctx, code)
}

func (s *faultStore) UpdateLink(ctx context.Context, code string, p storage.LinkPatch) (storage.Link, error) {
	if err := s.fail(true); err != nil {
		return storage.Link{}, err
	}
	return s.db.UpdateLink(ctx, code, p)
}

func (s *faultStore) DeleteLink(ctx context.Context, code string) error {
	if err := s.fail(true); err != nil {
		return err
	}
	return s.db.DeleteLink(ctx, code)
}

func (s *faultStore) ListLinks(ctx context.Context, q storage.ListQuery) ([]storage.Link, string, error) {
	if err := s.fail(true); err != nil {
		return nil, "", err
	}
	return s.db.ListLinks(ctx, q)
}

func (s *faultStore) DomainRedirects(ctx context.Context) (storage.DomainRedirects, error) {
	if err := s.fail(true); err != nil {
		return storage.DomainRedirects{}, err
	}
	return s.db.DomainRedirects(ctx)
}

func (s *faultStore) SetDomainRedirects(ctx context.Context, r storage.DomainRedirects) error {
	if err := s.fail(true); err != nil {
		return err
	}
	return s.db.SetDomainRedirects(ctx, r)
}

func (s *faultStore) CreateAPIKey(ctx context.Context, k storage.APIKey) error {
	if err := s.fail(false); err != nil {
		return err
	}
	return s.db.CreateAPIKey(ctx, k)
}

func (s *faultStore) APIKeyByHash(ctx context.Context, hash string) (storage.APIKey, error) {
	if err := s.fail(false); err != nil {
		return storage.APIKey{}, err
	}
	return s.db.APIKeyByHash(ctx, hash)
}

func (s *faultStore) ListAPIKeys(ctx context.Context) ([]storage.APIKey, error) {
	if err := s.fail(false); err != nil {
		return nil, err
	}
	return s.db.ListAPIKeys(ctx)
}

func (s *faultStore) RevokeAPIKey(ctx context.Context, id string) error {
	if err := s.fail(false); err != nil {
		return err
	}
	return s.db.RevokeAPIKey(ctx, id)
}

func (s *faultStore) WriteVisits(ctx context.Context, b storage.VisitBatch) error {
	if err := s.fail(false); err != nil {
		return err
	}
	return s.db.WriteVisits(ctx, b)
}

func (s *faultStore) Stats(ctx context.Context, q storage.StatsQuery) (storage.Stats, error) {
	if err := s.fail(true); err != nil {
		return storage.Stats{}, err
	}
	if s.refuseStats.Load() {
		return storage.Stats{}, fmt.Errorf("stats of %q: injected: %w: refused by this store", q.Code, storage.ErrInvalidQuery)
	}
	return s.db.Stats(ctx, q)
}

func (s *faultStore) VisitTotal(ctx context.Context, code string) (uint64, error) {
	if err := s.fail(true); err != nil {
		return 0, err
	}
	return s.db.VisitTotal(ctx, code)
}

func (s *faultStore) DeleteVisits(ctx context.Context, code string) (uint64, error) {
	if err := s.fail(true); err != nil {
		return 0, err
	}
	return s.db.DeleteVisits(ctx, code)
}

func (s *faultStore) VisitRows(ctx context.Context, q storage.VisitRowsQuery) ([]storage.VisitCount, error) {
	if err := s.fail(true); err != nil {
		return nil, err
	}
	return s.db.VisitRows(ctx, q)
}

// addVisits writes rows as one visit batch, as a flush would.
func (s *faultStore) addVisits(rows ...storage.VisitCount) {
	s.t.Helper()
	b := storage.VisitBatch{NodeID: "gateway-test", Seq: s.visitSeq.Add(1), Rows: rows}
	if err := s.db.WriteVisits(context.Background(), b); err != nil {
		s.t.Fatalf("write visits: %v", err)
	}
}

// linkCount is the number of live links.
func (s *faultStore) linkCount() int {
	s.t.Helper()
	n, cursor := 0, ""
	for {
		page, next, err := s.db.ListLinks(context.Background(), storage.ListQuery{Limit: 1000, Cursor: cursor})
		if err != nil {
			s.t.Fatalf("list links: %v", err)
		}
		n += len(page)
		if next == "" {
			return n
		}
		cursor = next
	}
}

// TestFaultStore_Conformance runs the storage conformance suite on the
// wrapper with every switch off: the gateway's tests run on a real store.
func TestFaultStore_Conformance(t *testing.T) {
	t.Run("LinkStore", func(t *testing.T) {
		storagetest.RunLinkStore(t, func(t *testing.T) storage.LinkStore { return newFaultStore(t) })
	})
	t.Run("KeyStore", func(t *testing.T) {
		storagetest.RunKeyStore(t, func(t *testing.T) storage.KeyStore { return newFaultStore(t) })
	})
	t.Run("Visits", func(t *testing.T) {
		storagetest.RunVisits(t, func(t *testing.T) (storage.VisitSink, storage.StatsReader) {
			s := newFaultStore(t)
			return s, s
		})
	})
}

// fakeResolver resolves from the store into the near-cache, as the actor
// layer does, and drops cache entries on LinkChanged.
type fakeResolver struct {
	store *faultStore
	cache *nearcache.Cache

	mu        sync.Mutex
	changed   []string
	visitsErr error
	unflushed map[string]uint64
}

func (r *fakeResolver) Resolve(ctx context.Context, code string) (*nearcache.Entry, error) {
	now := time.Now().Unix()
	l, err := r.store.GetLink(ctx, code)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			r.cache.Put(&nearcache.Entry{Code: code, Gone: true}, now)
		}
		return nil, err
	}
	cc := []byte(nil)
	if l.CacheMaxAge >= 0 {
		cc = nearcache.CacheControlValue(l.CacheMaxAge)
	}
	e := &nearcache.Entry{
		Code: code, Location: []byte(l.URL), Status: l.RedirectStatus, CacheControl: cc,
		ExpiresAt: nearcache.ExpiresAtTime(l.ExpiresAt), Limited: l.MaxVisits > 0,
		ForwardQuery: l.ForwardQuery, Version: l.Version, Disabled: l.Disabled,
	}
	r.cache.Put(e, now)
	return e, nil
}

func (r *fakeResolver) Admit(context.Context, string) (bool, error) { return true, nil }

func (r *fakeResolver) LinkChanged(_ context.Context, code string) {
	r.cache.Delete(code)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.changed = append(r.changed, code)
}

func (r *fakeResolver) Visits(ctx context.Context, code string) (uint64, error) {
	r.mu.Lock()
	verr, extra := r.visitsErr, r.unflushed[code]
	r.mu.Unlock()
	if verr != nil {
		return 0, verr
	}
	n, err := r.store.VisitTotal(ctx, code)
	return n + extra, err
}

func (r *fakeResolver) changes() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.changed...)
}
