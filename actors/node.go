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
	"github.com/asynkron/protoactor-go/remote"
	"github.com/cespare/xxhash/v2"
	"github.com/minibitly/minibitly/cluster"
	"github.com/minibitly/minibitly/internal/clock"
	"github.com/minibitly/minibitly/internal/nearcache"
	"github.com/minibitly/minibitly/internal/visitlog"
	"github.com/minibitly/minibitly/proto/clusterpb"
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

	// RemoteAddr is the host:port protoactor's remote listens on; empty =
	// single node (no remote).
	RemoteAddr string
	// RemoteAdvertise is the host:port others reach the remote at, when it
	// differs from RemoteAddr (e.g. listening on 0.0.0.0).
	RemoteAdvertise string
	// RemoteTimeout bounds a lookup on another node (a near-cache miss whose
	// code is owned elsewhere); after it the node fails over.
	RemoteTimeout time.Duration
	// VisitAckTimeout is how long a visit batch sent to another node may take
	// to be acknowledged; after it the rows are counted here instead.
	VisitAckTimeout time.Duration
}

// DefaultConfig: 64 shards, batches every 100 ms, flushes every second.
func DefaultConfig() Config {
	return Config{
		NodeName:         "node",
		Shards:           64,
		MaxLinksPerShard: 1 << 14,
		BatchInterval:    100 * time.Millisecond,
		FlushInterval:    time.Second,
		LoadTimeout:      2 * time.Second,
		AskTimeout:       5 * time.Second,
		Flush:            DefaultFlushConfig(),
		RemoteTimeout:    time.Second,
		VisitAckTimeout:  2 * time.Second,
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
	// Cluster is the membership; nil for a single node.
	Cluster Membership
}

// Node is one node's actor system: shards, batcher and flusher.
type Node struct {
	cfg    Config
	d      Deps
	log    *slog.Logger
	nodeID string

	system  *actor.ActorSystem
	remote  *remote.Remote
	nodePID *actor.PID
	shards  []*actor.PID

	mailboxDepth atomic.Int64
	m            *nodeMetrics

	batcher *batcher
	flusher *flusher

	loads   sync.WaitGroup // store loads started by shards
	watch   sync.WaitGroup // the membership watcher
	quit    chan struct{}
	closing atomic.Bool

	lastRemoteBatch atomic.Int64 // unix nanos of the last visit batch from another node
	acks            ackLog
	stopOnce        sync.Once
	stopErr         error
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
	if d.Cluster != nil && cfg.RemoteAddr == "" {
		return nil, errors.New("actors: a cluster needs a remote address")
	}
	if cfg.RemoteTimeout <= 0 {
		cfg.RemoteTimeout = DefaultConfig().RemoteTimeout
	}
	if cfg.VisitAckTimeout <= 0 {
		cfg.VisitAckTimeout = DefaultConfig().VisitAckTimeout
	}
	n := &Node{cfg: cfg, d: d, log: d.Logger, nodeID: cfg.NodeName + "#" + hex.EncodeToString(inc[:]), quit: make(chan struct{})}
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
	for i := range n.shards {
		st := newShardState(n.cfg.MaxLinksPerShard)
		props := actor.PropsFromProducer(func() actor.Actor { return &shardActor{n: n, st: st} })
		pid, err := n.system.Root.SpawnNamed(props, "shard-"+strconv.Itoa(i))
		if err != nil {
			return fmt.Errorf("spawn shard %d: %w", i, err)
		}
		n.shards[i] = pid
	}
	pid, err := n.system.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return &nodeActor{n: n} }), nodeActorName)
	if err != nil {
		return fmt.Errorf("spawn node actor: %w", err)
	}
	n.nodePID = pid
	if n.cfg.RemoteAddr != "" {
		if err := n.startRemote(); err != nil {
			return err
		}
	}
	n.batcher.start()
	n.flusher.start()
	if n.d.Cluster != nil {
		n.watch.Add(1)
		go n.watchMembership()
	}
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
		CacheMaxAge:  l.CacheMaxAge,
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
	gen := n.d.Cache.Gen(code) // an edit from here on wins over this lookup
	r, err := n.resolve(ctx, code, false)
	if errors.Is(err, storage.ErrNotFound) {
		n.d.Cache.PutIfGen(&nearcache.Entry{Code: code, Gone: true}, n.d.Clock.Unix(), gen)
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	n.d.Cache.PutIfGen(r.entry, n.d.Clock.Unix(), gen)
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
	owner, local := n.owner(code)
	if local {
		return n.resolveLocal(ctx, code, admit)
	}
	r, err := n.resolveRemote(ctx, owner, code, admit)
	if err == nil || errors.Is(err, storage.ErrNotFound) {
		return r, err
	}
	// The owner did not answer: ask the new owner if gossip has moved the
	// code meanwhile, else read the link from the store ourselves.
	n.m.remoteFailovers.Inc()
	if owner2, local2 := n.owner(code); owner2.Name != owner.Name {
		if local2 {
			return n.resolveLocal(ctx, code, admit)
		}
		if r, err2 := n.resolveRemote(ctx, owner2, code, admit); err2 == nil || errors.Is(err2, storage.ErrNotFound) {
			return r, err2
		}
	}
	if admit {
		// Only the owner may count visits of a limited link.
		return nil, err
	}
	return n.loadDirect(ctx, code)
}

func (n *Node) resolveLocal(ctx context.Context, code string, admit bool) (*resolveReply, error) {
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

func (n *Node) resolveRemote(ctx context.Context, owner cluster.Member, code string, admit bool) (*resolveReply, error) {
	deadline := time.Now().Add(n.cfg.RemoteTimeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	n.m.remoteLookups.Inc()
	res, err := n.askRemote(deadline, owner, &clusterpb.ResolveRequest{Code: code, Admit: admit})
	if err != nil {
		return nil, unavailable(err)
	}
	p, ok := res.(*clusterpb.ResolveResponse)
	if !ok {
		return nil, fmt.Errorf("%w: unexpected answer %T from %s", storage.ErrUnavailable, res, owner.Name)
	}
	return replyFromProto(p)
}

// loadDirect reads a link from the store without its owner (failover).
func (n *Node) loadDirect(ctx context.Context, code string) (*resolveReply, error) {
	l, err := n.d.Links.GetLink(ctx, code)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, err
	}
	if err != nil {
		return nil, unavailable(err)
	}
	return &resolveReply{entry: EntryOf(&l)}, nil
}

// LinkChanged implements gateway.Resolver: it drops code from the near-cache
// and from its shard.
func (n *Node) LinkChanged(ctx context.Context, code string) {
	n.d.Cache.Delete(code)
	n.send(code, &invalidateMsg{code: code})
	if n.d.Cluster == nil {
		return
	}
	// The owner first, and wait for it: a node that drops the code and
	// re-resolves it at once must not get the owner's old copy back.
	owner, local := n.owner(code)
	if !local {
		deadline := time.Now().Add(n.cfg.RemoteTimeout)
		if _, err := n.askRemote(deadline, owner, &clusterpb.Invalidate{Code: code}); err != nil {
			n.log.Warn("invalidate at the owner failed; its copy lives until its near-cache TTL", "code", code, "owner", owner.Name, "err", err)
		}
	}
	self := n.d.Cluster.Self().Name
	for _, m := range n.d.Cluster.Placement().Members() {
		if m.Name != self && m.Name != owner.Name {
			n.system.Root.Send(remotePID(m), &clusterpb.Invalidate{Code: code})
		}
	}
}

// Visits implements gateway.Resolver: stored visits plus those buffered in
// the flusher and pending in the shard.
func (n *Node) Visits(ctx context.Context, code string) (uint64, error) {
	var pending uint64
	if owner, local := n.owner(code); local {
		res, err := n.ask(ctx, n.ShardOf(code), &pendingMsg{code: code})
		if err != nil {
			return 0, unavailable(err)
		}
		pending = res.(uint64)
	} else {
		res, err := n.askRemote(time.Now().Add(n.cfg.RemoteTimeout), owner, &clusterpb.PendingRequest{Code: code})
		if err != nil {
			return 0, unavailable(err)
		}
		p, ok := res.(*clusterpb.PendingResponse)
		if !ok {
			return 0, fmt.Errorf("%w: unexpected answer %T", storage.ErrUnavailable, res)
		}
		pending = p.Visits
	}
	pending += n.flusher.buffered(code)
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
		close(n.quit)
		n.watch.Wait()
		// From here on visit batches from other nodes are refused (their
		// senders count them); every batch accepted before is in a mailbox.
		if _, err := n.system.Root.RequestFuture(n.nodePID, &closeVisitsMsg{}, n.cfg.AskTimeout).Result(); err != nil {
			n.log.Warn("close node actor", "err", err)
		}
		n.batcher.stop()
		n.stopErr = n.flusher.stop(ctx)
		n.loads.Wait()
		for _, pid := range n.shards {
			_ = n.system.Root.StopFuture(pid).Wait()
		}
		if n.remote != nil {
			n.remote.Shutdown(true)
		}
		n.system.Shutdown()
	})
	return n.stopErr
}
