package embedded

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/minibitly/minibitly/storage"
)

type keyRecord struct {
	Name      string    `json:"name"`
	Hash      string    `json:"hash"`
	Prefix    string    `json:"prefix"`
	CreatedAt time.Time `json:"created"`
	RevokedAt time.Time `json:"revoked,omitzero"`
	// Scopes is absent (nil) in records written before scopes: every
	// scope. An empty list is kept as [] (no scope).
	Scopes    []string  `json:"scopes"`
	ExpiresAt time.Time `json:"expires,omitzero"`
	OwnOnly   bool      `json:"own_links_only,omitempty"`
}

func (r keyRecord) key(id string) storage.APIKey {
	return storage.APIKey{
		ID: id, Name: r.Name, Hash: r.Hash, Prefix: r.Prefix,
		CreatedAt: utc(r.CreatedAt), RevokedAt: utc(r.RevokedAt),
		Scopes: r.Scopes, ExpiresAt: utc(r.ExpiresAt), OwnLinksOnly: r.OwnOnly,
	}
}

func getKey(tx *bolt.Tx, id string) (keyRecord, error) {
	var r keyRecord
	v := tx.Bucket(bKeys).Get([]byte(id))
	if v == nil {
		return r, storage.ErrNotFound
	}
	if err := json.Unmarshal(v, &r); err != nil {
		return r, fmt.Errorf("decode api key %q: %w", id, err)
	}
	return r, nil
}

func putKey(tx *bolt.Tx, id string, r keyRecord) error {
	v, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode api key %q: %w", id, err)
	}
	return tx.Bucket(bKeys).Put([]byte(id), v)
}

// CreateAPIKey stores k; storage.ErrConflict when its ID or hash is taken.
func (s *Store) CreateAPIKey(ctx context.Context, k storage.APIKey) error {
	if k.ID == "" || k.Hash == "" {
		return errors.New("create api key: empty id or hash")
	}
	if k.CreatedAt.IsZero() {
		k.CreatedAt = time.Now()
	}
	return s.update(ctx, fmt.Sprintf("create api key %q", k.ID), func(tx *bolt.Tx) error {
		hashes := tx.Bucket(bKeyHash)
		if tx.Bucket(bKeys).Get([]byte(k.ID)) != nil || hashes.Get([]byte(k.Hash)) != nil {
			return storage.ErrConflict
		}
		r := keyRecord{
			Name: k.Name, Hash: k.Hash, Prefix: k.Prefix, CreatedAt: utc(k.CreatedAt), RevokedAt: utc(k.RevokedAt),
			Scopes: k.Scopes, ExpiresAt: utc(k.ExpiresAt), OwnOnly: k.OwnLinksOnly,
		}
		if err := putKey(tx, k.ID, r); err != nil {
			return err
		}
		return hashes.Put([]byte(k.Hash), []byte(k.ID))
	})
}

// APIKeyByHash finds a key by the hex SHA-256 of its secret, revoked or not.
func (s *Store) APIKeyByHash(ctx context.Context, hash string) (storage.APIKey, error) {
	var k storage.APIKey
	err := s.view(ctx, "get api key by hash", func(tx *bolt.Tx) error {
		if hash == "" {
			return storage.ErrNotFound
		}
		id := tx.Bucket(bKeyHash).Get([]byte(hash))
		if id == nil {
			return storage.ErrNotFound
		}
		r, err := getKey(tx, string(id))
		if err != nil {
			return err
		}
		k = r.key(string(id))
		return nil
	})
	return k, err
}

// ListAPIKeys returns every key, revoked ones included, ordered by ID.
func (s *Store) ListAPIKeys(ctx context.Context) ([]storage.APIKey, error) {
	var out []storage.APIKey
	err := s.view(ctx, "list api keys", func(tx *bolt.Tx) error {
		return tx.Bucket(bKeys).ForEach(func(id, v []byte) error {
			var r keyRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode api key %q: %w", id, err)
			}
			out = append(out, r.key(string(id)))
			return nil
		})
	})
	return out, err
}

// RevokeAPIKey marks the key revoked now; revoking it again keeps the first
// time.
func (s *Store) RevokeAPIKey(ctx context.Context, id string) error {
	return s.update(ctx, fmt.Sprintf("revoke api key %q", id), func(tx *bolt.Tx) error {
		r, err := getKey(tx, id)
		if err != nil {
			return err
		}
		if !r.RevokedAt.IsZero() {
			return nil
		}
		r.RevokedAt = utc(time.Now())
		return putKey(tx, id, r)
	})
}
