package rawvisits

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/minibitly/minibitly/internal/eventlog"
	"github.com/minibitly/minibitly/internal/useragent"
	"github.com/minibitly/minibitly/storage"
	"github.com/prometheus/client_golang/prometheus"
)

// Config configures the raw events pipeline. Start from DefaultConfig.
type Config struct {
	// Enabled turns raw events on (--raw-visits).
	Enabled bool
	// TTL is how long events are kept (--raw-visits-ttl); at least 24h.
	TTL time.Duration
	// Interval is how often the drained events are written (the binary
	// sets --flush-interval); positive.
	Interval time.Duration
	// DrainInterval is how often the ring is drained into the batch being
	// built; positive. Draining often keeps the ring small, so the slots a
	// redirect writes are still in the CPU cache (a ring of 65,536 slots
	// made Record twice as slow as one of 8,192: docs/storage.md).
	DrainInterval time.Duration
	// Stripes × Slots is the ring's capacity in events, each
	// eventlog.SlotSize bytes.
	Stripes, Slots int
	// MaxAttempts is how often a batch is tried before it is dropped; ≥ 1.
	MaxAttempts int
	// MaxPending bounds the events held for retries; beyond it the oldest
	// batches are dropped. ≥ Stripes × Slots.
	MaxPending int
	// ExpireEvery is how often the TTL is applied (also once at Start).
	ExpireEvery time.Duration
}

// DefaultConfig is off, 30 days of events once on, a ring of 8,192 events
// (4.5 MB) drained every 10 ms (headroom: about 800,000 visits/s), written
// every second.
func DefaultConfig() Config {
	return Config{
		TTL:           30 * 24 * time.Hour,
		Interval:      time.Second,
		DrainInterval: 10 * time.Millisecond,
		Stripes:       8,
		Slots:         1 << 10,
		MaxAttempts:   5,
		MaxPending:    1 << 18,
		ExpireEvery:   time.Hour,
	}
}

// MinTTL is the shortest TTL: events expire by whole days.
const MinTTL = 24 * time.Hour

// Validate reports the first invalid field.
func (c Config) Validate() error {
	switch {
	case c.TTL < MinTTL:
		return fmt.Errorf("raw visits TTL must be at least %s, got %s", MinTTL, c.TTL)
	case c.Interval <= 0 || c.DrainInterval <= 0 || c.ExpireEvery <= 0:
		return fmt.Errorf("raw visits intervals must be positive, got %s, %s and %s", c.Interval, c.DrainInterval, c.ExpireEvery)
	case c.Stripes < 1 || c.Slots < 1 || c.MaxAttempts < 1 || c.MaxPending < c.Stripes*c.Slots:
		return fmt.Errorf("raw visits ring %d×%d, attempts %d, pending %d: want positive sizes and pending ≥ the ring", c.Stripes, c.Slots, c.MaxAttempts, c.MaxPending)
	}
	return nil
}

// Deps are the Flusher's collaborators.
type Deps struct {
	Sink storage.EventSink // required when Enabled
	// NodeID is the writer's incarnation id (actors.System.NodeID): event
	// ids are (NodeID, batch seq, index).
	NodeID   string
	Now      func() time.Time // nil = time.Now
	Logger   *slog.Logger
	Registry prometheus.Registerer
}

type pending struct {
	b        storage.EventBatch
	attempts int
}

// Flusher drains the raw events ring and writes its batches.
type Flusher struct {
	cfg  Config
	d    Deps
	ring *eventlog.Log // nil when off

	// The writer goroutine's (Flush's) state.
	seq     uint64
	queue   []pending // oldest first
	queued  int       // events in queue
	lastExp time.Time

	recorded, written, errs prometheus.Counter

	mu   sync.Mutex      // the ring's consumer side, cur, lost
	cur  []storage.Event // drained, not yet in a batch
	lost uint64          // events given up on

	ctx     context.Context // the writer's; cancelled by Close
	cancel  context.CancelFunc
	stop    chan struct{}
	wg      sync.WaitGroup // the drainer and the writer
	started bool
	once    sync.Once
}

// New validates cfg and builds the pipeline, registering its metrics; it
// starts nothing. Off, it holds no ring.
func New(cfg Config, d Deps) (*Flusher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Enabled && d.Sink == nil {
		return nil, errors.New("raw visits need an event store (ClickHouse)")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Registry == nil {
		d.Registry = prometheus.NewRegistry()
	}
	f := &Flusher{cfg: cfg, d: d, stop: make(chan struct{})}
	if cfg.Enabled {
		f.ring = eventlog.New(cfg.Stripes, cfg.Slots)
	}
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	}
	f.recorded = counter("minibitly_raw_visits_recorded_total", "Raw visit events taken from the ring (--raw-visits).")
	f.written = counter("minibitly_raw_visits_written_total", "Raw visit events written to the event store.")
	f.errs = counter("minibitly_raw_visits_errors_total", "Failed writes of raw visit event batches (retried up to a bound), and failed TTL runs.")
	enabled := prometheus.NewGauge(prometheus.GaugeOpts{Name: "minibitly_raw_visits_enabled", Help: "1 when raw visit events are recorded (--raw-visits)."})
	if cfg.Enabled {
		enabled.Set(1)
	}
	dropped := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "minibitly_raw_visits_dropped_total",
		Help: "Raw visit events lost: the ring was full, or their batch failed every attempt or overflowed the retry buffer (the visit aggregates still count them).",
	}, func() float64 { return float64(f.Dropped()) })
	for _, c := range []prometheus.Collector{enabled, f.recorded, f.written, f.errs, dropped} {
		if err := d.Registry.Register(c); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// Ring is the ring the gateway records into; nil when off.
func (f *Flusher) Ring() *eventlog.Log { return f.ring }

// Dropped is the events lost so far (ring full, or given up on).
func (f *Flusher) Dropped() uint64 {
	f.mu.Lock()
	n := f.lost
	f.mu.Unlock()
	if f.ring != nil {
		n += f.ring.Dropped()
	}
	return n
}

// Start starts the drainer and the writer goroutines (nothing when off).
// The TTL is applied at once, then every ExpireEvery.
func (f *Flusher) Start() {
	f.started = true
	if f.ring == nil {
		return
	}
	f.ctx, f.cancel = context.WithCancel(context.Background())
	f.wg.Add(2)
	go func() {
		defer f.wg.Done()
		t := time.NewTicker(f.cfg.DrainInterval)
		defer t.Stop()
		for {
			select {
			case <-f.stop:
				return
			case <-t.C:
				f.drain()
			}
		}
	}()
	go func() {
		defer f.wg.Done()
		f.run()
	}()
}

// drain moves the ring's events into cur; beyond MaxPending they are
// dropped and counted. Both goroutines call it (under mu: the ring has one
// consumer at a time).
func (f *Flusher) drain() {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.ring.Drain(func(code []byte, sec int64, dims uint32, ref, ua []byte) {
		if len(f.cur) >= f.cfg.MaxPending {
			f.lost++
			return
		}
		device, browser, os, country, bot := useragent.Unpack(dims)
		f.cur = append(f.cur, storage.Event{
			Time: time.Unix(sec, 0).UTC(), Code: string(code), Referrer: string(ref), UserAgent: string(ua),
			Device: device, Browser: browser, OS: os, Country: country, Bot: bot,
		})
	})
	if n > 0 {
		f.recorded.Add(float64(n))
	}
}

func (f *Flusher) run() {
	ctx := f.ctx
	t := time.NewTicker(f.cfg.Interval)
	defer t.Stop()
	f.expire(ctx)
	for {
		select {
		case <-f.stop:
			return
		case <-t.C:
			f.Flush(ctx)
			if f.d.Now().Sub(f.lastExp) >= f.cfg.ExpireEvery {
				f.expire(ctx)
			}
		}
	}
}

func (f *Flusher) expire(ctx context.Context) {
	f.lastExp = f.d.Now()
	if err := f.d.Sink.ExpireEvents(ctx, f.lastExp, f.cfg.TTL); err != nil {
		f.errs.Inc()
		f.d.Logger.Warn("raw visits: apply the TTL", "err", err)
	}
}

// Flush drains the ring, makes the events drained since the last Flush a
// batch, and writes the batches held, oldest first, stopping at the first
// failure (tried again next time). Only the writer goroutine calls it (or
// a test, or Close once the goroutines have stopped).
func (f *Flusher) Flush(ctx context.Context) {
	if f.ring == nil {
		return
	}
	f.drain()
	f.mu.Lock()
	evs := f.cur
	f.cur = nil
	f.mu.Unlock()
	if n := len(evs); n > 0 {
		f.seq++
		f.queue = append(f.queue, pending{b: storage.EventBatch{NodeID: f.d.NodeID, Seq: f.seq, Events: evs}})
		f.queued += n
		for f.queued > f.cfg.MaxPending {
			f.giveUp(0)
		}
	}
	for len(f.queue) > 0 {
		p := &f.queue[0]
		if err := f.d.Sink.WriteEvents(ctx, p.b); err != nil {
			f.errs.Inc()
			p.attempts++
			if p.attempts >= f.cfg.MaxAttempts {
				f.d.Logger.Warn("raw visits: batch dropped after its last attempt", "events", len(p.b.Events), "attempts", p.attempts, "err", err)
				f.giveUp(0)
				continue
			}
			return
		}
		f.written.Add(float64(len(p.b.Events)))
		f.queued -= len(p.b.Events)
		f.queue[0] = pending{}
		f.queue = f.queue[1:]
	}
}

// giveUp drops queued batch i, counting its events.
func (f *Flusher) giveUp(i int) {
	n := len(f.queue[i].b.Events)
	f.mu.Lock()
	f.lost += uint64(n)
	f.mu.Unlock()
	f.queued -= n
	f.queue = append(f.queue[:i], f.queue[i+1:]...)
}

// Close stops the consumer, then drains the ring once more and tries the
// batches held once each within ctx (the redirects have stopped by then);
// what is still not written is dropped and counted. It is idempotent and
// returns once the goroutine has exited.
func (f *Flusher) Close(ctx context.Context) {
	f.once.Do(func() {
		close(f.stop)
		if !f.started || f.ring == nil {
			return
		}
		f.cancel() // a write in flight gives up: Close tries again below
		f.wg.Wait()
		for i := range f.queue {
			f.queue[i].attempts = f.cfg.MaxAttempts - 1 // one more try each
		}
		f.Flush(ctx)
		for len(f.queue) > 0 {
			f.giveUp(0)
		}
	})
}
