package actors

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/cespare/xxhash/v2"
	"github.com/minibitly/minibitly/internal/clock"
	"github.com/minibitly/minibitly/internal/nearcache"
	"github.com/minibitly/minibitly/internal/visitlog"
	"github.com/minibitly/minibitly/storage"
	"github.com/prometheus/client_golang/prometheus"
)

// Config sizes and times the actor layer.
type Config struct {
	// NodeName identifies this node in visit batches (with a per-process
	// incarnation suffix, so a restarted node never reuses a batch id).
	NodeName string
	// Shards is the number of shard actors.
	Shards int
	// MaxLinksPerShard bounds each shard's cache of links.
	MaxLinksPerShard int
	// BatchInterval is how often the batcher ships visits to the shards.
	BatchInterval time.Duration
	// FlushInterval is how often shard aggregates go to the visit sink.
	FlushInterval time.Duration
	// LoadTimeout bounds a store read on a cache miss.
	LoadTimeout time.Duration
	// AskTimeout bounds a request to a shard actor.
	AskTimeout time.Duration
	// Flush configures retries, the buffer and the circuit breaker.
	Flush FlushConfig
}

// DefaultConfig: 64 shards, batches every 100 ms, flushes every second.
func DefaultConfig() Config {
	return Config{
		NodeName:         "node",
		Shards:           64,
		MaxLinksPerShard: 1 << 16,
		BatchInterval:    100 * time.Millisecond,
		FlushInterval:    time.Second,
		LoadTimeout:      2 * time.Second,
		AskTimeout:       5 * time.Second,
		Flush:            DefaultFlushConfig(),
	}
}

// Deps are the node's collaborators.
type Deps struct {
	Links    storage.LinkStore
	Sink     storage.VisitSink
	Stats    storage.StatsReader
	Cache    *nearcache.Cache
	Visits   *visitlog.Log
	Clock    *clock.Clock
	Logger   *slog.Logger
	Registry prometheus.Registerer
}

// Node is one node's actor system: shards, batcher and flusher.
type Node struct {
	cfg    Config
	d      Deps
	log    *slog.Logger
	nodeID string

	system *actor.ActorSystem
	shards []*actor.PID
	states []*shardState

	mailboxDepth atomic.Int64
	m            *nodeMetrics

	batcher *batcher
	flusher *flusher

	loads    sync.WaitGroup // store loads started by shards
	closing  atomic.Bool
	stopOnce sync.Once
	stopErr  error
}

// New validates cfg and builds the node; Start starts it.
func New(cfg Config, d Deps) (*Node, error) {
	if cfg.Shards <= 0 || cfg.Shards > 4096 {
		return nil, fmt.Errorf("shards must be 1..4096, got %d", cfg.Shards)
	}
	if cfg.FlushInterval <= 0 || cfg.BatchInterval <= 0 {
		return nil, errors.New("flush and batch intervals must be positive")
	}
	if d.Links == nil || d.Sink == nil || d.Stats == nil || d.Cache == nil || d.Visits == nil || d.Clock == nil {
		return nil, errors.New("actors: missing dependency")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Registry == nil {
		d.Registry = prometheus.NewRegistry()
	}
	var inc [4]byte
	if _, err := rand.Read(inc[:]); err != nil {
		return nil, fmt.Errorf("node incarnation: %w", err)
	}
	n := &Node{cfg: cfg, d: d, log: d.Logger, nodeID: cfg.NodeName + "#" + hex.EncodeToString(inc[:])}
	m, err := newNodeMetrics(d.Registry, n)
	if err != nil {
		return nil, err
	}
	n.m = m
	n.batcher = newBatcher(n)
	n.flusher = newFlusher(n, cfg.Flush)
	return n, nil
}

// NodeID is the id this process stamps on its visit batches.
func (n *Node) NodeID() string { return n.nodeID }

// Start spawns the shard actors and the batcher and flusher goroutines.
func (n *Node) Start() error {
	logger := n.log
	n.system = actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(levelFloor{h: logger.Handler(), min: slog.LevelWarn}).With("component", "protoactor")
	}))
	n.shards = make([]*actor.PID, n.cfg.Shards)
	n.states = make([]*shardState, n.cfg.Shards)
	for i := range n.shards {
		st := newShardState(n.cfg.MaxLinksPerShard)
		n.states[i] = st
		props := actor.PropsFromProducer(func() actor.Actor { return &shardActor{n: n, st: st} })
		pid, err := n.system.Root.SpawnNamed(props, "shard-"+strconv.Itoa(i))
		if err != nil {
			return fmt.Errorf("spawn shard %d: %w", i, err)
		}
		n.shards[i] = pid
	}
	n.batcher.start()
	n.flusher.start()
	return nil
}

// ShardOf returns the shard index of code.
func (n *Node) ShardOf(code string) int {
	return int(xxhash.Sum64String(code) % uint64(len(n.shards)))
}

func (n *Node) send(code string, msg any) {
	n.sendTo(n.ShardOf(code), msg)
}

func (n *Node) sendTo(shard int, msg any) {
	n.mailboxDepth.Add(1)
	n.system.Root.Send(n.shards[shard], msg)
}

func (n *Node) ask(ctx context.Context, shard int, msg any) (any, error) {
	timeout := n.cfg.AskTimeout
	if dl, ok := ctx.Deadline(); ok {
		if d := time.Until(dl); d < timeout {
			timeout = d
		}
	}
	if timeout <= 0 {
		return nil, fmt.Errorf("ask shard %d: %w", shard, context.DeadlineExceeded)
	}
	n.mailboxDepth.Add(1)
	res, err := n.system.Root.RequestFuture(n.shards[shard], msg, timeout).Result()
	if err != nil {
		return nil, fmt.Errorf("ask shard %d: %w", shard, err)
	}
	return res, nil
}

// startLoad reads code from the store off the shard's goroutine and reports
// back to the shard with a loadedMsg.
func (n *Node) startLoad(shard *actor.PID, code string) {
	n.loads.Add(1)
	go func() {
		defer n.loads.Done()
		n.m.loads.Inc()
		ctx, cancel := context.WithTimeout(context.Background(), n.cfg.LoadTimeout)
		defer cancel()
		msg := &loadedMsg{code: code}
		l, err := n.d.Links.GetLink(ctx, code)
		switch {
		case errors.Is(err, storage.ErrNotFound):
		case err != nil:
			msg.err = unavailable(err)
		default:
			msg.entry = EntryOf(&l)
			msg.maxVisits = l.MaxVisits
			if l.MaxVisits > 0 {
				used, err := n.d.Stats.VisitTotal(ctx, code)
				if err != nil {
					msg.entry, msg.err = nil, unavailable(err)
				}
				msg.used = used
			}
		}
		n.mailboxDepth.Add(1)
		n.system.Root.Send(shard, msg)
	}()
}

// unavailable marks a store failure as storage.ErrUnavailable unless it
// already says what it is.
func unavailable(err error) error {
	if errors.Is(err, storage.ErrUnavailable) {
		return err
	}
	return fmt.Errorf("%w: %w", storage.ErrUnavailable, err)
}

// EntryOf converts a stored link to a near-cache entry.
func EntryOf(l *storage.Link) *nearcache.Entry {
	e := &nearcache.Entry{
		Code:         l.Code,
		Location:     []byte(l.URL),
		Status:       l.RedirectStatus,
		ExpiresAt:    nearcache.ExpiresAtTime(l.ExpiresAt),
		Limited:      l.MaxVisits > 0,
		ForwardQuery: l.ForwardQuery,
		Version:      l.Version,
	}
	if e.Status == 0 {
		e.Status = 302
	}
	if l.CacheMaxAge >= 0 {
		e.CacheControl = nearcache.CacheControlValue(l.CacheMaxAge)
	}
	return e
}

// Resolve implements gateway.Resolver: it asks code's shard and fills the
// near-cache.
func (n *Node) Resolve(ctx context.Context, code string) (*nearcache.Entry, error) {
	r, err := n.resolve(ctx, code, false)
	if err != nil {
		return nil, err
	}
	n.d.Cache.Put(r.entry, n.d.Clock.Unix())
	return r.entry, nil
}

// Admit implements gateway.Resolver: the shard that owns a limited link
// decides every visit.
func (n *Node) Admit(ctx context.Context, code string) (bool, error) {
	r, err := n.resolve(ctx, code, true)
	if err != nil {
		return false, err
	}
	return r.admitted, nil
}

func (n *Node) resolve(ctx context.Context, code string, admit bool) (*resolveReply, error) {
	if n.closing.Load() {
		return nil, fmt.Errorf("%w: %w", storage.ErrUnavailable, errShuttingDown)
	}
	res, err := n.ask(ctx, n.ShardOf(code), &resolveMsg{code: code, admit: admit})
	if err != nil {
		return nil, unavailable(err)
	}
	r := res.(*resolveReply)
	if r.err != nil {
		return nil, r.err
	}
	return r, nil
}

// LinkChanged implements gateway.Resolver: it drops code from the near-cache
// and from its shard.
func (n *Node) LinkChanged(ctx context.Context, code string) {
	n.d.Cache.Delete(code)
	n.send(code, &invalidateMsg{code: code})
}

// Visits implements gateway.Resolver: stored visits plus those buffered in
// the flusher and pending in the shard.
func (n *Node) Visits(ctx context.Context, code string) (uint64, error) {
	res, err := n.ask(ctx, n.ShardOf(code), &pendingMsg{code: code})
	if err != nil {
		return 0, unavailable(err)
	}
	pending := res.(uint64) + n.flusher.buffered(code)
	stored, err := n.d.Stats.VisitTotal(ctx, code)
	if err != nil {
		return 0, unavailable(err)
	}
	return stored + pending, nil
}

// Shutdown drains every visit to the sink (or until ctx ends), then stops the
// actors. It is idempotent and returns the first error: visits it could not
// deliver are counted in the error.
func (n *Node) Shutdown(ctx context.Context) error {
	n.stopOnce.Do(func() {
		n.closing.Store(true)
		if n.system == nil {
			return
		}
		n.batcher.stop()
		n.stopErr = n.flusher.stop(ctx)
		n.loads.Wait()
		for _, pid := range n.shards {
			_ = n.system.Root.StopFuture(pid).Wait()
		}
		n.system.Shutdown()
	})
	return n.stopErr
}
