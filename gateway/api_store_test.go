package gateway

import (
	"context"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minibitly/minibitly/internal/nearcache"
	"github.com/minibitly/minibitly/storage"
)

// memStore is a real in-memory LinkStore, KeyStore and StatsReader for
// the gateway's tests: it keeps what it is given and answers like a backend
// (ErrConflict for a taken or retired code, cursors, stats from rows).
type memStore struct {
	mu      sync.Mutex
	links   map[string]storage.Link
	retired map[string]bool // deleted codes stay taken
	keys    map[string]storage.APIKey
	rows    []storage.VisitCount

	down         atomic.Bool  // every call fails with ErrUnavailable
	linksDown    atomic.Bool  // every LinkStore and StatsReader call fails
	conflictNext atomic.Int64 // the next n stored links conflict
	creates      atomic.Int64 // CreateLink/CreateLinks attempts per link
}

func newMemStore() *memStore {
	return &memStore{links: map[string]storage.Link{}, retired: map[string]bool{}, keys: map[string]storage.APIKey{}}
}

func (m *memStore) err() error {
	if m.down.Load() {
		return storage.ErrUnavailable
	}
	return nil
}

func (m *memStore) linkErr() error {
	if m.linksDown.Load() {
		return storage.ErrUnavailable
	}
	return m.err()
}

func cloneLink(l storage.Link) storage.Link {
	l.Tags = append([]string{}, l.Tags...)
	return l
}

func (m *memStore) createLocked(l storage.Link) error {
	m.creates.Add(1)
	if m.conflictNext.Load() > 0 {
		m.conflictNext.Add(-1)
		return storage.ErrConflict
	}
	if _, ok := m.links[l.Code]; ok || m.retired[l.Code] {
		return storage.ErrConflict
	}
	m.links[l.Code] = cloneLink(l)
	return nil
}

func (m *memStore) CreateLink(_ context.Context, l storage.Link) error {
	if err := m.linkErr(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.createLocked(l)
}

func (m *memStore) CreateLinks(_ context.Context, ls []storage.Link) ([]error, error) {
	if err := m.linkErr(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	errs := make([]error, len(ls))
	for i, l := range ls {
		errs[i] = m.createLocked(l)
	}
	return errs, nil
}

func (m *memStore) GetLink(_ context.Context, code string) (storage.Link, error) {
	if err := m.linkErr(); err != nil {
		return storage.Link{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.links[code]
	if !ok {
		return storage.Link{}, storage.ErrNotFound
	}
	return cloneLink(l), nil
}

func (m *memStore) UpdateLink(_ context.Context, code string, p storage.LinkPatch) (storage.Link, error) {
	if err := m.linkErr(); err != nil {
		return storage.Link{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.links[code]
	if !ok {
		return storage.Link{}, storage.ErrNotFound
	}
	p.Apply(&l, time.Now())
	m.links[code] = cloneLink(l)
	return cloneLink(l), nil
}

func (m *memStore) DeleteLink(_ context.Context, code string) error {
	if err := m.linkErr(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.links[code]; !ok {
		return storage.ErrNotFound
	}
	delete(m.links, code)
	m.retired[code] = true
	return nil
}

func (m *memStore) ListLinks(_ context.Context, q storage.ListQuery) ([]storage.Link, string, error) {
	if err := m.linkErr(); err != nil {
		return nil, "", err
	}
	var cur *storage.Cursor
	if q.Cursor != "" {
		c, err := storage.DecodeCursor(q.Cursor)
		if err != nil {
			return nil, "", err
		}
		cur = &c
	}
	m.mu.Lock()
	all := make([]storage.Link, 0, len(m.links))
	for _, l := range m.links {
		if (q.Tag == "" || l.HasTag(q.Tag)) && (cur == nil || cur.Before(&l)) {
			all = append(all, cloneLink(l))
		}
	}
	m.mu.Unlock()
	sort.Slice(all, func(i, j int) bool {
		a, b := all[i].CreatedAt, all[j].CreatedAt
		if !a.Equal(b) {
			return a.After(b)
		}
		return all[i].Code > all[j].Code
	})
	if len(all) <= q.Limit {
		return all, "", nil
	}
	page := all[:q.Limit]
	last := page[len(page)-1]
	return page, storage.Cursor{CreatedAt: last.CreatedAt, Code: last.Code}.Encode(), nil
}

func (m *memStore) CreateAPIKey(_ context.Context, k storage.APIKey) error {
	if err := m.err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, x := range m.keys {
		if x.ID == k.ID || x.Hash == k.Hash {
			return storage.ErrConflict
		}
	}
	m.keys[k.Hash] = k
	return nil
}

func (m *memStore) APIKeyByHash(_ context.Context, hash string) (storage.APIKey, error) {
	if err := m.err(); err != nil {
		return storage.APIKey{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k, ok := m.keys[hash]
	if !ok {
		return storage.APIKey{}, storage.ErrNotFound
	}
	return k, nil
}

func (m *memStore) ListAPIKeys(_ context.Context) ([]storage.APIKey, error) {
	if err := m.err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []storage.APIKey
	for _, k := range m.keys {
		out = append(out, k)
	}
	return out, nil
}

func (m *memStore) RevokeAPIKey(_ context.Context, id string) error {
	if err := m.err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for h, k := range m.keys {
		if k.ID == id {
			k.RevokedAt = time.Now()
			m.keys[h] = k
			return nil
		}
	}
	return storage.ErrNotFound
}

func (m *memStore) addVisits(rows ...storage.VisitCount) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rows = append(m.rows, rows...)
}

func (m *memStore) Stats(_ context.Context, q storage.StatsQuery) (storage.Stats, error) {
	if err := m.linkErr(); err != nil {
		return storage.Stats{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	a := storage.NewAggregator(q)
	for _, r := range m.rows {
		if r.Code == q.Code {
			a.Add(r)
		}
	}
	return a.Stats(), nil
}

func (m *memStore) VisitTotal(_ context.Context, code string) (uint64, error) {
	if err := m.linkErr(); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var n uint64
	for _, r := range m.rows {
		if r.Code == code {
			n += r.Visits
		}
	}
	return n, nil
}

func (m *memStore) linkCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.links)
}

// fakeResolver resolves from the memStore into the near-cache, as the actor
// layer does, and drops cache entries on LinkChanged.
type fakeResolver struct {
	store *memStore
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
		if err == storage.ErrNotFound {
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
		ForwardQuery: l.ForwardQuery, Version: l.Version,
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
