package embedded

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/minibitly/minibitly/storage"
)

// linkRecord is a link as stored under its code. A tombstone keeps only
// Deleted, CreatedAt and Version.
type linkRecord struct {
	URL            string    `json:"url,omitempty"`
	Title          string    `json:"title,omitempty"`
	Tags           []string  `json:"tags,omitempty"`
	CreatedAt      time.Time `json:"created"`
	UpdatedAt      time.Time `json:"updated,omitzero"`
	ExpiresAt      time.Time `json:"expires,omitzero"`
	MaxVisits      int64     `json:"max_visits,omitempty"`
	RedirectStatus int       `json:"status,omitempty"`
	ForwardQuery   bool      `json:"forward_query,omitempty"`
	CacheMaxAge    int       `json:"cache_max_age"`
	Version        int64     `json:"version"`
	Disabled       bool      `json:"disabled,omitempty"`
	CreatedBy      string    `json:"created_by,omitempty"`
	Deleted        bool      `json:"deleted,omitempty"`
}

func toRecord(l storage.Link) linkRecord {
	return linkRecord{
		URL: l.URL, Title: l.Title, Tags: append([]string(nil), l.Tags...),
		CreatedAt: utc(l.CreatedAt), UpdatedAt: utc(l.UpdatedAt), ExpiresAt: utc(l.ExpiresAt),
		MaxVisits: l.MaxVisits, RedirectStatus: l.RedirectStatus, ForwardQuery: l.ForwardQuery,
		CacheMaxAge: l.CacheMaxAge, Version: l.Version, Disabled: l.Disabled, CreatedBy: l.CreatedBy,
	}
}

func (r linkRecord) link(code string) storage.Link {
	return storage.Link{
		Code: code, URL: r.URL, Title: r.Title, Tags: r.Tags,
		CreatedAt: utc(r.CreatedAt), UpdatedAt: utc(r.UpdatedAt), ExpiresAt: utc(r.ExpiresAt),
		MaxVisits: r.MaxVisits, RedirectStatus: r.RedirectStatus, ForwardQuery: r.ForwardQuery,
		CacheMaxAge: r.CacheMaxAge, Version: r.Version, Disabled: r.Disabled, CreatedBy: r.CreatedBy,
	}
}

// getRecord reads code's record; ok is false when the code was never used.
func getRecord(tx *bolt.Tx, code string) (r linkRecord, ok bool, err error) {
	v := tx.Bucket(bLinks).Get([]byte(code))
	if v == nil {
		return r, false, nil
	}
	if err := json.Unmarshal(v, &r); err != nil {
		return r, false, fmt.Errorf("decode link %q: %w", code, err)
	}
	return r, true, nil
}

// liveLink reads a link that is not deleted; storage.ErrNotFound otherwise.
func liveLink(tx *bolt.Tx, code string) (linkRecord, error) {
	r, ok, err := getRecord(tx, code)
	if err != nil {
		return r, err
	}
	if !ok || r.Deleted {
		return r, storage.ErrNotFound
	}
	return r, nil
}

func putRecord(tx *bolt.Tx, code string, r linkRecord) error {
	// A new buffer each time: bbolt keeps v until the transaction ends.
	v, ok := appendRecord(make([]byte, 0, 160+len(r.URL)+len(r.Title)), &r)
	if !ok {
		var err error
		if v, err = json.Marshal(r); err != nil {
			return fmt.Errorf("encode link %q: %w", code, err)
		}
	}
	return tx.Bucket(bLinks).Put([]byte(code), v)
}

// index adds (put) or removes the link's time and tag index entries.
func index(tx *bolt.Tx, code string, r linkRecord, put bool) error {
	keys := [][]byte{appendTimeKey(nil, r.CreatedAt, code)}
	buckets := []*bolt.Bucket{tx.Bucket(bLinkTime)}
	for _, tag := range r.Tags {
		keys = append(keys, appendTimeKey(appendTagPrefix(nil, tag), r.CreatedAt, code))
		buckets = append(buckets, tx.Bucket(bLinkTag))
	}
	for i, k := range keys {
		var err error
		if put {
			err = buckets[i].Put(k, nil)
		} else {
			err = buckets[i].Delete(k)
		}
		if err != nil {
			return fmt.Errorf("index link %q: %w", code, err)
		}
	}
	return nil
}

// errInvalidLink marks a link the store refuses; it is per item in CreateLinks.
var errInvalidLink = errors.New("invalid link")

// prepare checks l and fills what the store owns: UTC microsecond times,
// CreatedAt (now) and UpdatedAt (CreatedAt) when zero, Version at least 1.
func prepare(l storage.Link, now time.Time) (storage.Link, error) {
	if !validCode(l.Code) {
		return l, fmt.Errorf("%w: code %q", errInvalidLink, l.Code)
	}
	if l.CreatedAt.IsZero() {
		l.CreatedAt = now
	}
	if l.UpdatedAt.IsZero() {
		l.UpdatedAt = l.CreatedAt
	}
	if l.Version < 1 {
		l.Version = 1
	}
	if err := checkTime(l.CreatedAt); err != nil {
		return l, fmt.Errorf("%w: created at: %w", errInvalidLink, err)
	}
	return l, nil
}

// insert stores l unless its code was ever used.
func insert(tx *bolt.Tx, l storage.Link) error {
	_, ok, err := getRecord(tx, l.Code)
	if err != nil {
		return err
	}
	if ok {
		return storage.ErrConflict
	}
	r := toRecord(l)
	if err := putRecord(tx, l.Code, r); err != nil {
		return err
	}
	return index(tx, l.Code, r, true)
}

// CreateLink stores l; storage.ErrConflict when the code was ever used.
// A zero CreatedAt becomes now, a zero UpdatedAt CreatedAt, Version 0 is 1.
func (s *Store) CreateLink(ctx context.Context, l storage.Link) error {
	l, err := prepare(l, time.Now())
	if err != nil {
		return fmt.Errorf("create link: %w", err)
	}
	return s.update(ctx, fmt.Sprintf("create link %q", l.Code), func(tx *bolt.Tx) error {
		return insert(tx, l)
	})
}

// CreateLinks stores each link independently in one transaction; a link
// whose code is taken, earlier in the batch included, gets
// storage.ErrConflict.
func (s *Store) CreateLinks(ctx context.Context, ls []storage.Link) ([]error, error) {
	errs := make([]error, len(ls))
	now := time.Now()
	err := s.update(ctx, fmt.Sprintf("create %d links", len(ls)), func(tx *bolt.Tx) error {
		for i, l := range ls {
			l, err := prepare(l, now)
			if err != nil {
				errs[i] = fmt.Errorf("create link: %w", err)
				continue
			}
			switch err := insert(tx, l); {
			case errors.Is(err, storage.ErrConflict):
				errs[i] = fmt.Errorf("create link %q: %w", l.Code, err)
			case err != nil:
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return errs, nil
}

// GetLink returns the live link under code.
func (s *Store) GetLink(ctx context.Context, code string) (storage.Link, error) {
	var l storage.Link
	err := s.view(ctx, fmt.Sprintf("get link %q", code), func(tx *bolt.Tx) error {
		r, err := liveLink(tx, code)
		if err != nil {
			return err
		}
		l = r.link(code)
		return nil
	})
	return l, err
}

// GetLinks reads codes in one read transaction (storage.LinkBatchReader).
func (s *Store) GetLinks(ctx context.Context, codes []string) ([]storage.Link, error) {
	out := make([]storage.Link, 0, len(codes))
	err := s.view(ctx, "get links", func(tx *bolt.Tx) error {
		for _, code := range codes {
			r, err := liveLink(tx, code)
			switch {
			case errors.Is(err, storage.ErrNotFound):
			case err != nil:
				return err
			default:
				out = append(out, r.link(code))
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// UpdateLink applies p in one transaction and returns the stored link.
func (s *Store) UpdateLink(ctx context.Context, code string, p storage.LinkPatch) (storage.Link, error) {
	var l storage.Link
	err := s.update(ctx, fmt.Sprintf("update link %q", code), func(tx *bolt.Tx) error {
		old, err := liveLink(tx, code)
		if err != nil {
			return err
		}
		l = old.link(code)
		l.Tags = append([]string(nil), old.Tags...)
		p.Apply(&l, time.Now())
		r := toRecord(l)
		l = r.link(code)
		if p.Tags != nil {
			if err := index(tx, code, old, false); err != nil {
				return err
			}
			if err := index(tx, code, r, true); err != nil {
				return err
			}
		}
		return putRecord(tx, code, r)
	})
	if err != nil {
		return storage.Link{}, err
	}
	return l, nil
}

// DeleteLink retires code: it stops resolving and listing, and stays taken.
func (s *Store) DeleteLink(ctx context.Context, code string) error {
	return s.update(ctx, fmt.Sprintf("delete link %q", code), func(tx *bolt.Tx) error {
		r, err := liveLink(tx, code)
		if err != nil {
			return err
		}
		if err := index(tx, code, r, false); err != nil {
			return err
		}
		return putRecord(tx, code, linkRecord{CreatedAt: r.CreatedAt, Version: r.Version + 1, Deleted: true})
	})
}

// ListLinks returns a page of live links, newest first (CreatedAt desc, then
// Code desc in byte order). Limit is clamped to 1..1000; 0 means 100.
func (s *Store) ListLinks(ctx context.Context, q storage.ListQuery) ([]storage.Link, string, error) {
	limit := q.Limit
	switch {
	case limit <= 0:
		limit = 100
	case limit > 1000:
		limit = 1000
	}
	var after *storage.Cursor
	if q.Cursor != "" {
		c, err := storage.DecodeCursor(q.Cursor)
		if err != nil {
			return nil, "", fmt.Errorf("list links: %w", err)
		}
		after = &c
	}
	var (
		out  []storage.Link
		more bool
	)
	err := s.view(ctx, "list links", func(tx *bolt.Tx) error {
		b, prefix := tx.Bucket(bLinkTime), []byte(nil)
		if q.Tag != "" {
			b, prefix = tx.Bucket(bLinkTag), appendTagPrefix(nil, q.Tag)
		}
		// Start at the last key below the cursor's position (or the end
		// of the prefix) and walk backwards.
		bound := successor(prefix)
		if after != nil {
			bound = appendTimeKey(bytes.Clone(prefix), after.CreatedAt, after.Code)
		}
		c := b.Cursor()
		var k []byte
		if bound == nil {
			k, _ = c.Last()
		} else if k, _ = c.Seek(bound); k == nil {
			k, _ = c.Last()
		} else {
			k, _ = c.Prev()
		}
		for ; k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Prev() {
			if len(out) == limit {
				more = true
				return nil
			}
			if len(k) < len(prefix)+8 {
				return fmt.Errorf("index key %q: short", k)
			}
			code := string(k[len(prefix)+8:])
			r, err := liveLink(tx, code)
			if err != nil {
				return fmt.Errorf("index entry of %q: %w", code, err)
			}
			if q.CreatedBy != "" && r.CreatedBy != q.CreatedBy {
				continue
			}
			out = append(out, r.link(code))
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if more {
		last := out[len(out)-1]
		next = storage.Cursor{CreatedAt: last.CreatedAt, Code: last.Code}.Encode()
	}
	return out, next, nil
}
