package embedded

import (
	"context"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/minibitly/minibitly/storage"
)

// kDomainRedirects is the key of the domain redirects in bSettings.
var kDomainRedirects = []byte("domain_redirects")

type domainRedirectsRecord struct {
	BaseURL         string `json:"base,omitempty"`
	Regular404      string `json:"regular404,omitempty"`
	InvalidShortURL string `json:"invalid,omitempty"`
}

// DomainRedirects returns the stored redirects, the zero value when none.
func (s *Store) DomainRedirects(ctx context.Context) (storage.DomainRedirects, error) {
	var r domainRedirectsRecord
	err := s.view(ctx, "get domain redirects", func(tx *bolt.Tx) error {
		v := tx.Bucket(bSettings).Get(kDomainRedirects)
		if v == nil {
			return nil
		}
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("decode domain redirects: %w", err)
		}
		return nil
	})
	return storage.DomainRedirects(r), err
}

// SetDomainRedirects replaces the stored redirects.
func (s *Store) SetDomainRedirects(ctx context.Context, r storage.DomainRedirects) error {
	v, err := json.Marshal(domainRedirectsRecord(r))
	if err != nil {
		return fmt.Errorf("encode domain redirects: %w", err)
	}
	return s.update(ctx, "set domain redirects", func(tx *bolt.Tx) error {
		return tx.Bucket(bSettings).Put(kDomainRedirects, v)
	})
}
