package actors

import (
	"context"
	"errors"
	"fmt"
	"sync"
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
// so a slow store never blocks a shard's mailbox. Loads queue; up to
// maxReaders goroutines (started through its routines, kept while there is
// work and for a while after, so their stacks are grown once) take up to
// maxBatch queued codes at a time and read them in one round trip when the
// store can (storage.LinkBatchReader: one bbolt transaction, one
// PostgreSQL query), one by one otherwise. Concurrent cache misses are so
// coalesced. Once the System shuts down no load starts and the shard is
// told at once.
type loader struct {
	d    loaderDeps
	r    routines
	mu   sync.Mutex
	wake *sync.Cond // signalled when work is queued or the loader stops
	// queue is the loads not yet taken by a reader; readers the readers
	// running, idle those of them waiting for work.
	queue         []loadReq
	readers, idle int
	stopped       bool
	batch         storage.LinkBatchReader // nil: the store reads one link at a time
	linger        time.Duration
}

type loadReq struct {
	shard *actor.PID
	code  string
}

const (
	maxReaders = 4
	maxBatch   = 128
	// readerLinger is how long an idle reader waits for more work before
	// it ends.
	readerLinger = 2 * time.Second
)

func newLoader(d loaderDeps) *loader {
	l := &loader{d: d, linger: readerLinger}
	l.wake = sync.NewCond(&l.mu)
	l.batch, _ = d.links.(storage.LinkBatchReader)
	return l
}

// load queues a read of code, reported to shard when done.
func (l *loader) load(shard *actor.PID, code string) {
	l.mu.Lock()
	if l.stopped {
		l.mu.Unlock()
		l.d.report(shard, &loadedMsg{code: code, err: unavailable(errShuttingDown)})
		return
	}
	l.queue = append(l.queue, loadReq{shard: shard, code: code})
	switch {
	case l.idle > 0:
		l.wake.Signal()
	case l.readers < maxReaders:
		l.readers++
		if !l.r.start(l.read) {
			l.readers--
		}
	}
	l.mu.Unlock()
}

// read is a reader: it takes batches off the queue until the queue has
// stayed empty for the linger time, or the loader stops.
func (l *loader) read() {
	var batch []loadReq
	for {
		l.mu.Lock()
		for len(l.queue) == 0 && !l.stopped {
			if !l.waitLocked() {
				l.readers--
				l.mu.Unlock()
				return
			}
		}
		if l.stopped {
			l.readers--
			l.mu.Unlock()
			return
		}
		n := min(len(l.queue), maxBatch)
		batch = append(batch[:0], l.queue[:n]...)
		l.queue = l.queue[n:]
		if len(l.queue) == 0 {
			l.queue = l.queue[:0:0] // let the drained array go
		}
		l.mu.Unlock()
		l.readBatch(batch)
		clear(batch)
	}
}

// waitLocked waits (l.mu held) for a signal; false when none came within
// the linger time.
func (l *loader) waitLocked() bool {
	l.idle++
	woken := false
	t := time.AfterFunc(l.linger, func() {
		l.mu.Lock()
		if !woken {
			l.wake.Broadcast()
		}
		l.mu.Unlock()
	})
	l.wake.Wait()
	woken = true
	l.idle--
	t.Stop()
	return len(l.queue) > 0 || l.stopped
}

// readBatch reads the batch's links and reports each to its shard.
func (l *loader) readBatch(batch []loadReq) {
	ctx, cancel := context.WithTimeout(context.Background(), l.d.timeout)
	defer cancel()
	if l.batch == nil {
		for _, r := range batch {
			l.d.report(r.shard, l.readOne(ctx, r.code))
		}
		return
	}
	codes := make([]string, len(batch))
	for i, r := range batch {
		codes[i] = r.code
	}
	l.d.loads.Add(float64(len(batch)))
	links, err := l.batch.GetLinks(ctx, codes)
	found := make(map[string]*storage.Link, len(links))
	for i := range links {
		found[links[i].Code] = &links[i]
	}
	for _, r := range batch {
		msg := &loadedMsg{code: r.code}
		switch lk := found[r.code]; {
		case err != nil:
			msg.err = unavailable(err)
		case lk != nil:
			l.fill(ctx, msg, lk)
		}
		l.d.report(r.shard, msg)
	}
}

// readOne loads code's link and, for a limited link, its stored visit
// total.
func (l *loader) readOne(ctx context.Context, code string) *loadedMsg {
	l.d.loads.Inc()
	msg := &loadedMsg{code: code}
	link, err := l.d.links.GetLink(ctx, code)
	switch {
	case errors.Is(err, storage.ErrNotFound):
	case err != nil:
		msg.err = unavailable(err)
	default:
		l.fill(ctx, msg, &link)
	}
	return msg
}

// fill sets msg from a link read, reading a limited link's stored total.
func (l *loader) fill(ctx context.Context, msg *loadedMsg, link *storage.Link) {
	msg.entry = EntryOf(link)
	msg.maxVisits = link.MaxVisits
	if link.MaxVisits > 0 {
		used, err := l.d.stats.VisitTotal(ctx, link.Code)
		if err != nil {
			msg.entry, msg.err = nil, unavailable(err)
		}
		msg.used = used
	}
}

// stop refuses new loads, waits for the batches being read, and tells the
// shards of the loads still queued that the node is shutting down.
func (l *loader) stop() {
	l.mu.Lock()
	l.stopped = true
	l.wake.Broadcast()
	l.mu.Unlock()
	l.r.stop()
	l.mu.Lock()
	q := l.queue
	l.queue = nil
	l.mu.Unlock()
	for _, r := range q {
		l.d.report(r.shard, &loadedMsg{code: r.code, err: unavailable(errShuttingDown)})
	}
}

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
