package actors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/minibitly/minibitly/storage"
)

// pendingBatch is a batch waiting for the sink. Once attempted it is never
// changed, so a retry re-sends exactly the same rows under the same
// (NodeID, Seq) and the sink can recognise it.
type pendingBatch struct {
	b         storage.VisitBatch
	attempted bool
	visits    uint64
	// ids are its journal records, upTo the last record whose rows it
	// holds (see journal).
	ids  []uint64
	upTo uint64
}

// flusherDeps are what the flusher needs: where aggregates come from, the
// sink they go to, its metrics, a logger and a clock. It knows nothing of
// actors.
type flusherDeps struct {
	// nodeID stamps every batch (with a per-flusher sequence).
	nodeID string
	// collect drains every shard's aggregates and returns the id of the
	// last journal record they hold (batcher.collect).
	collect func(ctx context.Context) ([]storage.VisitCount, uint64)
	j       *journal
	sink    storage.VisitSink
	m       flushMetrics
	log     *slog.Logger
	now     func() time.Time
}

// flusher collects the shards' aggregates every FlushInterval and delivers
// them in order, with retry, back-off and a circuit breaker.
type flusher struct {
	d        flusherDeps
	cfg      FlushConfig
	interval time.Duration
	br       *breaker
	seq      uint64

	// opMu serialises collect+deliver between the ticker goroutine and
	// flushNow; stop takes it too after the goroutine has ended.
	opMu     sync.Mutex
	mu       sync.Mutex // guards queue, rows, byCode (read by buffered) and cum
	cum      *cumulative
	queue    []*pendingBatch
	rows     int
	byCode   map[string]uint64
	quit     chan struct{}
	r        routines
	stopOnce sync.Once
	stopErr  error
}

func newFlusher(d flusherDeps, cfg FlushConfig, interval time.Duration) *flusher {
	return &flusher{
		d: d, cfg: cfg, interval: interval,
		br:     newBreaker(cfg.BreakerThreshold, cfg.BreakerCooldown, cfg.BreakerMaxCooldown),
		byCode: make(map[string]uint64),
		cum:    cumulativeFor(d.sink),
		quit:   make(chan struct{}),
	}
}

// cumulativeFor returns running totals for a sink that stores them, nil
// for any other (storage.TotalsSink): the embedded store keeps no rollups
// and records batch ids, so totals would be memory and CPU for nothing
// (two thirds of the heap after a walk over new links).
func cumulativeFor(sink storage.VisitSink) *cumulative {
	if ts, ok := sink.(storage.TotalsSink); ok && ts.StoresRunningTotals() {
		return newCumulative()
	}
	return nil
}

func (f *flusher) start() { f.r.start(f.run) }

func (f *flusher) run() {
	t := time.NewTicker(f.interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			f.opMu.Lock()
			f.collect(context.Background())
			_ = f.deliver(context.Background(), false) // logged and counted inside; retried next tick
			f.opMu.Unlock()
		case <-f.quit:
			return
		}
	}
}

// collect drains every shard into one new batch (or into the newest batch
// while that one has never been attempted, which bounds memory during an
// outage).
func (f *flusher) collect(ctx context.Context) {
	if rows, upTo := f.d.collect(ctx); len(rows) > 0 {
		f.enqueue(rows, upTo)
	}
}

// enqueue queues rows holding every journal record up to upTo; each call
// writes them in a recFlush record under the batch they join.
func (f *flusher) enqueue(rows []storage.VisitCount, upTo uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var visits uint64
	for _, r := range rows {
		visits += r.Visits
		f.byCode[r.Code] += r.Visits
	}
	rows = sumByKey(rows)
	part := storage.VisitBatch{Rows: rows}
	if f.cum != nil {
		part.Hourly, part.Daily = f.cum.apply(rows, f.d.now().Unix())
	}
	if n := len(f.queue); n > 0 && !f.queue[n-1].attempted {
		last := f.queue[n-1]
		before := len(last.b.Rows)
		mergeBatch(&last.b, part)
		last.visits += visits
		last.upTo = max(last.upTo, upTo)
		part.NodeID, part.Seq = last.b.NodeID, last.b.Seq
		last.ids = appendID(last.ids, f.d.j.flush(part, upTo))
		f.rows += len(last.b.Rows) - before
	} else {
		f.seq++
		part.NodeID, part.Seq = f.d.nodeID, f.seq
		f.queue = append(f.queue, &pendingBatch{
			b:      part,
			visits: visits,
			upTo:   upTo,
			ids:    appendID(nil, f.d.j.flush(part, upTo)),
		})
		f.rows += len(rows)
	}
	for f.rows > f.cfg.MaxBufferedRows && len(f.queue) > 1 {
		f.dropOldestLocked()
	}
	f.gaugesLocked()
}

// requeue puts batches read back from the journal at the head of the
// queue, as attempted: they go to the sink again exactly as they were.
func (f *flusher) requeue(batches []replayedFlush) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var q []*pendingBatch
	for _, r := range batches {
		p := &pendingBatch{b: r.b, attempted: true, visits: sumVisits(r.b.Rows), ids: r.ids, upTo: r.upTo}
		for _, row := range r.b.Rows {
			f.byCode[row.Code] += row.Visits
		}
		f.rows += len(r.b.Rows)
		q = append(q, p)
	}
	f.queue = append(q, f.queue...)
	f.gaugesLocked()
}

func appendID(ids []uint64, id uint64) []uint64 {
	if id == 0 {
		return ids
	}
	return append(ids, id)
}

// sumByKey returns rows with one row per key (the shards' rows of one
// collect can repeat a key only when a shard answered late).
func sumByKey(rows []storage.VisitCount) []storage.VisitCount {
	idx := make(map[storage.VisitKey]int, len(rows))
	out := rows[:0:0]
	for _, r := range rows {
		if i, ok := idx[r.VisitKey]; ok {
			out[i].Visits += r.Visits
			continue
		}
		idx[r.VisitKey] = len(out)
		out = append(out, r)
	}
	return out
}

// resetVisits forgets code's running totals (its visits are being
// deleted), and makes the code's rows in batches not yet attempted count
// on their own (their visits only, not a total from before the delete).
func (f *flusher) resetVisits(code string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cum != nil {
		f.cum.reset(code)
	}
	for _, p := range f.queue {
		if p.attempted {
			continue
		}
		for i := range p.b.Rows {
			if p.b.Rows[i].Code == code {
				p.b.Rows[i].Cumulative, p.b.Rows[i].Epoch = 0, 0
			}
		}
		for _, rs := range [][]storage.RollupCount{p.b.Hourly, p.b.Daily} {
			for i := range rs {
				if rs[i].Code == code {
					rs[i].Cumulative, rs[i].Epoch = 0, 0
				}
			}
		}
	}
}

// mergeBatch adds part's rows (all three granularities) into b.
func mergeBatch(b *storage.VisitBatch, part storage.VisitBatch) {
	b.Rows = mergeRows(b.Rows, part.Rows)
	b.Hourly = mergeRollups(b.Hourly, part.Hourly)
	b.Daily = mergeRollups(b.Daily, part.Daily)
}

// mergeRows adds rows into dst, summing equal keys; a key's running total
// is the newer (larger) one. Rows of one key by different writers (one
// counting on its own, Cumulative 0, or another epoch) stay apart.
func mergeRows(dst, rows []storage.VisitCount) []storage.VisitCount {
	type key struct {
		storage.VisitKey
		tracked bool
		epoch   uint32
	}
	return mergeBy(dst, rows, func(r storage.VisitCount) key { return key{r.VisitKey, r.Cumulative > 0, r.Epoch} },
		func(d *storage.VisitCount, r storage.VisitCount) {
			d.Visits += r.Visits
			d.Cumulative = max(d.Cumulative, r.Cumulative)
		})
}

// mergeRollups is mergeRows for rollup rows.
func mergeRollups(dst, rows []storage.RollupCount) []storage.RollupCount {
	type key struct {
		storage.RollupKey
		tracked bool
		epoch   uint32
	}
	return mergeBy(dst, rows, func(r storage.RollupCount) key { return key{r.Key(), r.Cumulative > 0, r.Epoch} },
		func(d *storage.RollupCount, r storage.RollupCount) {
			d.Visits += r.Visits
			d.Cumulative = max(d.Cumulative, r.Cumulative)
		})
}

// mergeBy adds rows into dst: a row whose key is in dst is added to it.
func mergeBy[R any, K comparable](dst, rows []R, key func(R) K, add func(*R, R)) []R {
	idx := make(map[K]int, len(dst))
	for i, r := range dst {
		idx[key(r)] = i
	}
	for _, r := range rows {
		k := key(r)
		if i, ok := idx[k]; ok {
			add(&dst[i], r)
			continue
		}
		idx[k] = len(dst)
		dst = append(dst, r)
	}
	return dst
}

func (f *flusher) dropOldestLocked() {
	p := f.queue[0]
	f.queue = f.queue[1:]
	f.forgetLocked(p)
	f.d.j.delivered(p.ids, p.upTo) // dropped and counted: never replayed
	f.d.m.visitsDropped.Add(float64(p.visits))
	f.d.log.Error("visit buffer full: dropped the oldest batch",
		"visits", p.visits, "rows", len(p.b.Rows), "seq", p.b.Seq, "max_buffered_rows", f.cfg.MaxBufferedRows)
}

func (f *flusher) forgetLocked(p *pendingBatch) {
	f.rows -= len(p.b.Rows)
	for _, r := range p.b.Rows {
		if f.byCode[r.Code] <= r.Visits {
			delete(f.byCode, r.Code)
		} else {
			f.byCode[r.Code] -= r.Visits
		}
	}
}

func (f *flusher) visitsLocked() uint64 {
	var v uint64
	for _, p := range f.queue {
		v += p.visits
	}
	return v
}

// deliver writes queued batches in order until one fails or the breaker is
// open. With force the breaker is ignored (shutdown, flushNow). It returns
// the error of the failed write.
func (f *flusher) deliver(ctx context.Context, force bool) error {
	for {
		f.mu.Lock()
		if len(f.queue) == 0 {
			f.mu.Unlock()
			return nil
		}
		if !force && !f.br.allow(f.d.now()) {
			f.mu.Unlock()
			return errBreakerOpen
		}
		p := f.queue[0]
		first := !p.attempted
		p.attempted = true // from now on p is never changed: a retry re-sends it as is
		f.mu.Unlock()
		if first {
			f.d.j.sync()
		}

		wctx, cancel := context.WithTimeout(ctx, f.cfg.WriteTimeout)
		start := f.d.now()
		err := f.d.sink.WriteVisits(wctx, p.b)
		cancel()
		f.d.m.duration.Observe(f.d.now().Sub(start).Seconds())
		if err != nil {
			f.br.failure(f.d.now())
			f.d.m.failures.Inc()
			f.d.m.breakerOpen.Set(boolFloat(f.br.state == breakerOpen))
			f.d.log.Warn("visit flush failed; will retry", "seq", p.b.Seq, "rows", len(p.b.Rows), "err", err)
			return err
		}
		f.br.success()
		f.d.m.breakerOpen.Set(0)
		f.d.m.batches.Inc()
		f.d.m.rows.Add(float64(len(p.b.Rows)))
		f.d.m.visitsFlushed.Add(float64(p.visits))
		f.d.j.delivered(p.ids, p.upTo)
		f.mu.Lock()
		if len(f.queue) > 0 && f.queue[0] == p {
			f.queue = f.queue[1:]
			f.forgetLocked(p)
		}
		f.gaugesLocked()
		f.mu.Unlock()
	}
}

var errBreakerOpen = errors.New("circuit breaker open")

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// gaugesLocked sets the buffered visits and rows gauges.
func (f *flusher) gaugesLocked() {
	f.d.m.bufferedVisits.Set(float64(f.visitsLocked()))
	f.d.m.bufferedRows.Set(float64(f.rows))
}

// buffered is the number of code's visits waiting for the sink.
func (f *flusher) buffered(code string) uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.byCode[code]
}

// flushNow collects and delivers at once, ignoring the breaker (tests).
func (f *flusher) flushNow(ctx context.Context) error {
	f.opMu.Lock()
	defer f.opMu.Unlock()
	f.collect(ctx)
	return f.deliver(ctx, true)
}

// stop ends the ticker goroutine, collects the shards one last time and
// retries delivery until every batch is written or ctx ends; it reports
// how many visits were not written. Later calls return the same error.
func (f *flusher) stop(ctx context.Context) error {
	f.stopOnce.Do(func() {
		f.r.close()
		close(f.quit)
		f.r.wait()
		f.opMu.Lock()
		defer f.opMu.Unlock()
		f.stopErr = f.drainOnStop(ctx)
	})
	return f.stopErr
}

func (f *flusher) drainOnStop(ctx context.Context) error {
	f.collect(ctx)
	backoff := 100 * time.Millisecond
	for {
		err := f.deliver(ctx, true)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			f.mu.Lock()
			lost := f.visitsLocked()
			f.mu.Unlock()
			if f.d.j.enabled() {
				return fmt.Errorf("shutdown: %d visits not written to the sink (kept in the visit journal: delivered at the next start on this data dir): %w", lost, err)
			}
			f.d.m.visitsDropped.Add(float64(lost))
			return fmt.Errorf("shutdown: %d visits not written to the sink: %w", lost, err)
		case <-time.After(backoff):
		}
		if backoff < 2*time.Second {
			backoff *= 2
		}
	}
}
