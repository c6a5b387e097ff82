package postgres

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minibitly/minibitly/storage"
)

// createReq is one CreateLink waiting for its batch to commit.
type createReq struct {
	ctx  context.Context
	link storage.Link
	done chan error // buffered 1; receives the caller's result
}

// batcher group-commits CreateLink calls. One collector goroutine forms
// batches: after a batch's first request it waits BatchWindow for more, then
// waits for a free flush slot (of Flushers) while still collecting, up to
// MaxBatch. Each batch is one INSERT … SELECT FROM unnest(…) ON CONFLICT DO
// NOTHING RETURNING code: one round trip, one commit.
type batcher struct {
	s        *Store
	window   time.Duration
	maxBatch int

	reqs    chan *createReq
	slots   chan struct{} // a token per batch in flight
	quit    chan struct{} // closed by close
	stopped chan struct{} // closed when the collector and flushes are done
	wg      sync.WaitGroup
	once    sync.Once

	batches atomic.Uint64
	links   atomic.Uint64
}

func newBatcher(s *Store, cfg Config) *batcher {
	b := &batcher{
		s: s, window: cfg.BatchWindow, maxBatch: cfg.MaxBatch,
		reqs:    make(chan *createReq, cfg.MaxBatch),
		slots:   make(chan struct{}, cfg.Flushers),
		quit:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	b.wg.Add(1)
	go b.run()
	return b
}

// BatchStats counts the group-commit batches sent and the links in them.
type BatchStats struct {
	Batches uint64
	Links   uint64
}

// BatchStats reports the create batcher's totals since Open.
func (s *Store) BatchStats() BatchStats {
	return BatchStats{Batches: s.batcher.batches.Load(), Links: s.batcher.links.Load()}
}

// submit queues l and waits for its batch's result.
func (b *batcher) submit(ctx context.Context, l storage.Link) error {
	r := &createReq{ctx: ctx, link: l, done: make(chan error, 1)}
	select {
	case b.reqs <- r:
	case <-b.quit:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-r.done:
		return err
	case <-b.stopped:
		// Closed with r still queued: it was never sent (a flush that took
		// it would have answered before stopped closed).
		select {
		case err := <-r.done:
			return err
		default:
			return errClosed
		}
	case <-ctx.Done():
		// The batch may still commit this link; the caller cannot know.
		return ctx.Err()
	}
}

func (b *batcher) run() {
	defer func() {
		b.wg.Done()
	}()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		var batch []*createReq
		select {
		case r := <-b.reqs:
			batch = append(batch, r)
		case <-b.quit:
			return
		}
		if b.window > 0 {
			timer.Reset(b.window)
		collect:
			for len(batch) < b.maxBatch {
				select {
				case r := <-b.reqs:
					batch = append(batch, r)
				case <-timer.C:
					break collect
				case <-b.quit:
					timer.Stop()
					b.flushAsync(batch, true)
					return
				}
			}
			timer.Stop()
		}
		// Wait for a flush slot; whatever arrives meanwhile joins the batch.
	wait:
		for {
			if len(batch) >= b.maxBatch {
				b.slots <- struct{}{}
				break wait
			}
			select {
			case b.slots <- struct{}{}:
				break wait
			case r := <-b.reqs:
				batch = append(batch, r)
			}
		}
		b.flushAsync(batch, false)
	}
}

// flushAsync sends batch from its own goroutine; the slot is already held
// unless acquire is true.
func (b *batcher) flushAsync(batch []*createReq, acquire bool) {
	if acquire {
		b.slots <- struct{}{}
	}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		defer func() { <-b.slots }()
		b.flush(batch)
	}()
}

// flush inserts the batch and answers every request. Requests whose caller
// has already given up are left out. A code repeated in the batch is
// inserted for its first request; the repeats get ErrConflict (the first
// either wins or finds the code taken).
func (b *batcher) flush(batch []*createReq) {
	first := make(map[string]*createReq, len(batch))
	var dups []*createReq
	links := make([]storage.Link, 0, len(batch))
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.done <- err
			continue
		}
		if _, ok := first[r.link.Code]; ok {
			dups = append(dups, r)
			continue
		}
		first[r.link.Code] = r
		links = append(links, r.link)
	}
	if len(links) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.s.cfg.QueryTimeout)
	defer cancel()
	inserted, err := b.s.insertLinks(ctx, links)
	b.batches.Add(1)
	b.links.Add(uint64(len(links)))
	if err != nil {
		err = mapErr(ctx, fmt.Sprintf("group commit of %d links", len(links)), err)
		for _, r := range first {
			r.done <- err
		}
		for _, r := range dups {
			r.done <- err
		}
		return
	}
	for code, r := range first {
		if inserted[code] {
			r.done <- nil
		} else {
			r.done <- storage.ErrConflict
		}
	}
	for _, r := range dups {
		r.done <- storage.ErrConflict
	}
}

// close stops the collector, waits for batches in flight and fails what is
// still queued.
func (b *batcher) close() {
	b.once.Do(func() {
		close(b.quit)
		b.wg.Wait()
		close(b.stopped)
		for {
			select {
			case r := <-b.reqs:
				r.done <- errClosed
			default:
				return
			}
		}
	})
}
