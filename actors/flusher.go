package actors

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/minibitly/minibitly/storage"
)

// FlushConfig tunes delivery of visit batches to the sink.
type FlushConfig struct {
	// WriteTimeout bounds one write to the sink.
	WriteTimeout time.Duration
	// MaxBufferedRows bounds the aggregates waiting for the sink; beyond it
	// the oldest batches are dropped and counted.
	MaxBufferedRows int
	// BreakerThreshold consecutive failures open the circuit breaker for
	// BreakerCooldown, doubling per failed probe up to BreakerMaxCooldown.
	BreakerThreshold   int
	BreakerCooldown    time.Duration
	BreakerMaxCooldown time.Duration
}

// DefaultFlushConfig buffers up to 1M aggregate rows.
func DefaultFlushConfig() FlushConfig {
	return FlushConfig{
		WriteTimeout:       5 * time.Second,
		MaxBufferedRows:    1_000_000,
		BreakerThreshold:   3,
		BreakerCooldown:    500 * time.Millisecond,
		BreakerMaxCooldown: 5 * time.Second,
	}
}

// pendingBatch is a batch waiting for the sink. Once attempted it is never
// changed, so a retry re-sends exactly the same rows under the same
// (NodeID, Seq) and the sink can recognise it.
type pendingBatch struct {
	b         storage.VisitBatch
	attempted bool
	visits    uint64
}

// flusher collects the shards' aggregates every FlushInterval and delivers
// them in order, with retry, back-off and a circuit breaker.
type flusher struct {
	n   *Node
	cfg FlushConfig
	br  *breaker
	seq uint64

	opMu     sync.Mutex // serialises collect+deliver (ticker, flushNow, stop)
	mu       sync.Mutex // guards queue, rows and byCode (read by Visits)
	queue    []*pendingBatch
	rows     int
	byCode   map[string]uint64
	quit     chan struct{}
	wg       sync.WaitGroup
	stopOnce sync.Once
}

func newFlusher(n *Node, cfg FlushConfig) *flusher {
	d := DefaultFlushConfig()
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = d.WriteTimeout
	}
	if cfg.MaxBufferedRows <= 0 {
		cfg.MaxBufferedRows = d.MaxBufferedRows
	}
	if cfg.BreakerThreshold <= 0 {
		cfg.BreakerThreshold = d.BreakerThreshold
	}
	if cfg.BreakerCooldown <= 0 {
		cfg.BreakerCooldown = d.BreakerCooldown
	}
	if cfg.BreakerMaxCooldown <= 0 {
		cfg.BreakerMaxCooldown = d.BreakerMaxCooldown
	}
	return &flusher{
		n: n, cfg: cfg,
		br:     newBreaker(cfg.BreakerThreshold, cfg.BreakerCooldown, cfg.BreakerMaxCooldown),
		byCode: make(map[string]uint64),
		quit:   make(chan struct{}),
	}
}

func (f *flusher) start() {
	f.wg.Add(1)
	go f.run()
}

func (f *flusher) run() {
	defer f.wg.Done()
	t := time.NewTicker(f.n.cfg.FlushInterval)
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
	var rows []storage.VisitCount
	for i := range f.n.shards {
		res, err := f.n.ask(ctx, i, &drainMsg{})
		if err != nil {
			// The shard keeps its aggregates; the next tick gets them.
			f.n.log.Warn("drain shard", "shard", i, "err", err)
			continue
		}
		rows = append(rows, res.(*drainReply).rows...)
	}
	if len(rows) == 0 {
		return
	}
	f.enqueue(rows)
}

func (f *flusher) enqueue(rows []storage.VisitCount) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var visits uint64
	for _, r := range rows {
		visits += r.Visits
		f.byCode[r.Code] += r.Visits
	}
	if n := len(f.queue); n > 0 && !f.queue[n-1].attempted {
		last := f.queue[n-1]
		before := len(last.b.Rows)
		last.b.Rows = mergeRows(last.b.Rows, rows)
		last.visits += visits
		f.rows += len(last.b.Rows) - before
	} else {
		f.seq++
		f.queue = append(f.queue, &pendingBatch{
			b:      storage.VisitBatch{NodeID: f.n.nodeID, Seq: f.seq, Rows: rows},
			visits: visits,
		})
		f.rows += len(rows)
	}
	for f.rows > f.cfg.MaxBufferedRows && len(f.queue) > 1 {
		f.dropOldestLocked()
	}
	f.n.m.bufferedVisits.Set(float64(f.visitsLocked()))
}

// mergeRows adds rows into dst, summing equal keys.
func mergeRows(dst, rows []storage.VisitCount) []storage.VisitCount {
	idx := make(map[storage.VisitKey]int, len(dst))
	for i, r := range dst {
		idx[r.VisitKey] = i
	}
	for _, r := range rows {
		if i, ok := idx[r.VisitKey]; ok {
			dst[i].Visits += r.Visits
			continue
		}
		idx[r.VisitKey] = len(dst)
		dst = append(dst, r)
	}
	return dst
}

func (f *flusher) dropOldestLocked() {
	p := f.queue[0]
	f.queue = f.queue[1:]
	f.forgetLocked(p)
	f.n.m.visitsDropped.Add(float64(p.visits))
	f.n.log.Error("visit buffer full: dropped the oldest batch",
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
// open. With force the breaker is ignored (shutdown). It returns the error
// of the failed write.
func (f *flusher) deliver(ctx context.Context, force bool) error {
	for {
		f.mu.Lock()
		if len(f.queue) == 0 {
			f.mu.Unlock()
			return nil
		}
		if !force && !f.br.allow(time.Now()) {
			f.mu.Unlock()
			return errBreakerOpen
		}
		p := f.queue[0]
		p.attempted = true // from now on p is never changed: a retry re-sends it as is
		f.mu.Unlock()

		wctx, cancel := context.WithTimeout(ctx, f.cfg.WriteTimeout)
		start := time.Now()
		err := f.n.d.Sink.WriteVisits(wctx, p.b)
		cancel()
		f.n.m.flushDuration.Observe(time.Since(start).Seconds())
		if err != nil {
			f.br.failure(time.Now())
			f.n.m.flushFailures.Inc()
			f.n.m.breakerOpen.Set(boolFloat(f.br.state == breakerOpen))
			f.n.log.Warn("visit flush failed; will retry", "seq", p.b.Seq, "rows", len(p.b.Rows), "err", err)
			return err
		}
		f.br.success()
		f.n.m.breakerOpen.Set(0)
		f.n.m.flushBatches.Inc()
		f.n.m.flushRows.Add(float64(len(p.b.Rows)))
		f.n.m.visitsFlushed.Add(float64(p.visits))
		f.mu.Lock()
		if len(f.queue) > 0 && f.queue[0] == p {
			f.queue = f.queue[1:]
			f.forgetLocked(p)
		}
		f.n.m.bufferedVisits.Set(float64(f.visitsLocked()))
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

// buffered is the number of code's visits waiting for the sink.
func (f *flusher) buffered(code string) uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.byCode[code]
}

// flushNow moves everything recorded so far to the sink (tests, shutdown).
func (f *flusher) flushNow(ctx context.Context) error {
	f.n.batcher.flush()
	f.opMu.Lock()
	defer f.opMu.Unlock()
	f.collect(ctx)
	return f.deliver(ctx, true)
}

// stop collects the shards one last time and retries delivery until every
// batch is written or ctx ends; it reports how many visits were not written.
func (f *flusher) stop(ctx context.Context) error {
	var err error
	f.stopOnce.Do(func() {
		close(f.quit)
		f.wg.Wait()
		f.collect(ctx)
		backoff := 100 * time.Millisecond
		for {
			if err = f.deliver(ctx, true); err == nil {
				return
			}
			select {
			case <-ctx.Done():
				f.mu.Lock()
				lost := f.visitsLocked()
				f.mu.Unlock()
				f.n.m.visitsDropped.Add(float64(lost))
				err = fmt.Errorf("shutdown: %d visits not written to the sink: %w", lost, err)
				return
			case <-time.After(backoff):
			}
			if backoff < 2*time.Second {
				backoff *= 2
			}
		}
	})
	return err
}
