package actors

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/minibitly/minibitly/internal/nearcache"
	"github.com/minibitly/minibitly/storage"
	"github.com/prometheus/client_golang/prometheus"
)

// loaderDeps are what the loader needs: the stores, a bound per read,
// where the result goes, and its metric.
type loaderDeps struct {
	links   storage.LinkStore
	stats   storage.StatsReader
	timeout time.Duration
	// report hands a finished load back to the shard that asked.
	report func(shard *actor.PID, msg *loadedMsg)
	loads  prometheus.Counter
}

// loader reads links from the store for the shards, off their goroutines,
// so a slow store never blocks a shard's mailbox. Each load is one
// goroutine, started through its routines: once the System shuts down no
// load starts and the shard is told at once.
type loader struct {
	d loaderDeps
	r routines
}

func newLoader(d loaderDeps) *loader { return &loader{d: d} }

// load reads code in the background and reports to shard.
func (l *loader) load(shard *actor.PID, code string) {
	if !l.r.start(func() { l.d.report(shard, l.read(code)) }) {
		l.d.report(shard, &loadedMsg{code: code, err: unavailable(errShuttingDown)})
	}
}

// read loads code's link and, for a limited link, its stored visit total.
func (l *loader) read(code string) *loadedMsg {
	l.d.loads.Inc()
	ctx, cancel := context.WithTimeout(context.Background(), l.d.timeout)
	defer cancel()
	msg := &loadedMsg{code: code}
	link, err := l.d.links.GetLink(ctx, code)
	switch {
	case errors.Is(err, storage.ErrNotFound):
	case err != nil:
		msg.err = unavailable(err)
	default:
		msg.entry = EntryOf(&link)
		msg.maxVisits = link.MaxVisits
		if link.MaxVisits > 0 {
			used, err := l.d.stats.VisitTotal(ctx, code)
			if err != nil {
				msg.entry, msg.err = nil, unavailable(err)
			}
			msg.used = used
		}
	}
	return msg
}

// stop refuses new loads and waits for those running.
func (l *loader) stop() { l.r.stop() }

var errShuttingDown = errors.New("node is shutting down")

// unavailable marks a store failure as storage.ErrUnavailable unless it
// already says what it is.
func unavailable(err error) error {
	if errors.Is(err, storage.ErrUnavailable) {
		return err
	}
	return fmt.Errorf("%w: %w", storage.ErrUnavailable, err)
}

// EntryOf converts a stored link to a new near-cache entry.
func EntryOf(l *storage.Link) *nearcache.Entry {
	e := &nearcache.Entry{
		Code:         l.Code,
		Location:     []byte(l.URL),
		Status:       l.RedirectStatus,
		ExpiresAt:    nearcache.ExpiresAtTime(l.ExpiresAt),
		Limited:      l.MaxVisits > 0,
		ForwardQuery: l.ForwardQuery,
		Version:      l.Version,
		CacheMaxAge:  l.CacheMaxAge,
		Disabled:     l.Disabled,
	}
	if e.Status == 0 {
		e.Status = 302
	}
	if l.CacheMaxAge >= 0 {
		e.CacheControl = nearcache.CacheControlValue(l.CacheMaxAge)
	}
	return e
}
