package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/minibitly/minibitly/storage"
	"github.com/minibitly/minibitly/storage/embedded"
	"github.com/minibitly/minibitly/storage/postgres"
)

// stores are the backends chosen by the flags.
type stores struct {
	links   storage.LinkStore
	keys    storage.KeyStore
	sink    storage.VisitSink
	stats   storage.StatsReader
	pingers map[string]storage.Pinger
	pg      *postgres.Store // nil without --postgres-url
	closers []func() error

	// events and eventReader are the raw visit events' store (ClickHouse
	// only; nil with the embedded store).
	events      storage.EventSink
	eventReader storage.EventReader
}

// openStores opens the embedded store for whatever is not configured
// externally, and the external stores.
func openStores(ctx context.Context, c *config) (*stores, error) {
	s := &stores{pingers: map[string]storage.Pinger{}}
	fail := func(err error) (*stores, error) {
		_ = s.close()
		return nil, err
	}
	if c.Postgres.URL != "" {
		if err := openPostgres(ctx, c, s); err != nil {
			return fail(err)
		}
	}
	if c.ClickHouse.URL != "" {
		if err := openClickHouse(ctx, c, s); err != nil {
			return fail(err)
		}
	}
	if s.links == nil || s.sink == nil {
		cfg := embedded.DefaultConfig()
		cfg.Path = filepath.Join(c.DataDir, filepath.Base(cfg.Path)) // the default file name, in --data-dir
		e, err := embedded.Open(cfg)
		if err != nil {
			return fail(fmt.Errorf("open embedded store: %w", err))
		}
		s.closers = append(s.closers, e.Close)
		s.pingers["embedded"] = e
		if s.links == nil {
			s.links, s.keys = e, e
		}
		if s.sink == nil {
			s.sink, s.stats = e, e
		}
	}
	return s, nil
}

// close closes every store, last opened first.
func (s *stores) close() error {
	var errs []error
	for i := len(s.closers) - 1; i >= 0; i-- {
		errs = append(errs, s.closers[i]())
	}
	s.closers = nil
	return errors.Join(errs...)
}

// ready pings every store.
func (s *stores) ready(ctx context.Context) map[string]error {
	out := make(map[string]error, len(s.pingers))
	for name, p := range s.pingers {
		out[name] = p.Ping(ctx)
	}
	return out
}
