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
	"github.com/minibitly/minibitly/internal/blocklist"
	"github.com/minibitly/minibitly/internal/clock"
	"github.com/minibitly/minibitly/internal/nearcache"
	"github.com/minibitly/minibitly/storage"
	"github.com/prometheus/client_golang/prometheus"
)

// Deps are the System's collaborators.
type Deps struct {
	Links storage.LinkStore
	Sink  storage.VisitSink
	Stats storage.StatsReader
	// Visits is the gateway's visit log (*visitlog.Log); the System's
	// batcher is its only consumer.
	Visits VisitRing
	// Journal is the record log of the visit journal (internal/journal);
	// nil keeps visits in memory until flushed. JournalRecords are the
	// live records it held when opened, replayed by Start.
	Journal        RecordLog
	JournalRecords []JournalRecord
	Clock          *clock.Clock
	Logger         *slog.Logger
	Registry       prometheus.Registerer
	// Cluster is the membership; nil for a single node.
	Cluster Membership
	// Blocklist marks links to blocked destinations as they enter the
	// near-cache (410 at redirect); nil blocks nothing. After reloading it,
	// call DestinationsChanged.
	Blocklist *blocklist.List
}

// System is one node's actor layer: the near-cache it owns, the shard
// actors, and the components around them (loader, batcher, visit sender,
// flusher, membership watcher, node actor), each with its own goroutines.
type System struct {
	cfg    Config
	d      Deps
	log    *slog.Logger
	nodeID string
	cache  *nearcache.Cache
	m      *metrics

	actors  *actor.ActorSystem
	remote  *remote.Remote
	nodePID *actor.PID
	shards  []*actor.PID

	loader  *loader
	journal *journal
	batcher *batcher
	sender  *visitSender
	flusher *flusher
	watcher *membershipWatcher // nil for a single node
	peers   *peerSet           // nil for a single node

	mailboxDepth    atomic.Int64
	lastRemoteBatch atomic.Int64 // unix nanos of the last visit batch from another node
	closing         atomic.Bool
	started         atomic.Bool // Start was called
	running         atomic.Bool // Start completed
	stopOnce        sync.Once
	stopErr         error
}

// New validates cfg and builds the System and its near-cache; Start starts
// it.
func New(cfg Config, d Deps) (*System, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("actors: %w", err)
	}
	if d.Links == nil || d.Sink == nil || d.Stats == nil || d.Visits == nil || d.Clock == nil {
		return nil, errors.New("actors: missing dependency")
	}
	if d.Cluster != nil && cfg.RemoteAddr == "" {
		return nil, errors.New("actors: a cluster needs a remote address")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Registry == nil {
		d.Registry = prometheus.NewRegistry()
	}
	var inc [8]byte // a restart never shares a writer id with an earlier incarnation
	if _, err := rand.Read(inc[:]); err != nil {
		return nil, fmt.Errorf("node incarnation: %w", err)
	}
	cache, err := nearcache.New(cfg.NearCache)
	if err != nil {
		return nil, fmt.Errorf("actors: %w", err)
	}
	s := &System{cfg: cfg, d: d, log: d.Logger, nodeID: cfg.NodeName + "#" + hex.EncodeToString(inc[:]), cache: cache}
	m, err := newMetrics(d.Registry,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "minibitly_actors_mailbox_depth", Help: "Messages queued in the shard actors' mailboxes.",
		}, func() float64 { return float64(s.mailboxDepth.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "minibitly_actors_shards", Help: "Shard actors on this node.",
		}, func() float64 { return float64(cfg.Shards) }),
	)
	if err != nil {
		return nil, err
	}
	s.m = m
	s.wire()
	return s, nil
}

// wire builds the components, each with the narrow dependencies it needs.
func (s *System) wire() {
	s.loader = newLoader(loaderDeps{
		links: s.d.Links, stats: s.d.Stats, timeout: s.cfg.LoadTimeout, loads: s.m.resolve.loads,
		report: func(shard *actor.PID, msg *loadedMsg) {
			s.mailboxDepth.Add(1)
			s.actors.Root.Send(shard, msg)
		},
	})
	s.journal = newJournal(s.d.Journal, s.log, s.m.journal)
	bd := batcherDeps{
		ring:    s.d.Visits,
		shards:  s.cfg.Shards,
		shardOf: s.ShardOf,
		toShard: func(shard int, rows []storage.VisitCount) { s.sendTo(shard, &visitsMsg{rows: rows}) },
		drains:  s.requestDrains,
		from:    s.nodeID,
		j:       s.journal,
		now:     time.Now,
		m:       s.m.batch,
		im:      s.m.inbox,
	}
	if s.d.Cluster != nil {
		bd.placement = func() (*cluster.Placement, string) { return s.d.Cluster.Placement(), s.d.Cluster.Self().Name }
	}
	s.batcher = newBatcher(bd, s.cfg.BatchInterval)
	s.sender = newVisitSender(senderDeps{
		ask: func(owner cluster.Member, msg any, timeout time.Duration) (any, error) {
			return s.actors.Root.RequestFuture(remotePID(owner), msg, timeout).Result()
		},
		alive:      s.isAlive,
		reroute:    s.batcher.reroute,
		j:          s.journal,
		ackTimeout: s.cfg.VisitAckTimeout,
		now:        time.Now,
		m:          s.m.send,
	})
	s.batcher.d.toOwner = s.sender.send
	s.flusher = newFlusher(flusherDeps{
		nodeID: s.nodeID, collect: s.batcher.collect, j: s.journal, sink: s.d.Sink, m: s.m.flush, log: s.log, now: time.Now,
	}, s.cfg.Flush, s.cfg.FlushInterval)
	if s.d.Cluster != nil {
		s.watcher = newMembershipWatcher(watcherDeps{
			cluster:        s.d.Cluster,
			toShards:       s.toShards,
			clearNearCache: s.cache.Clear,
			dropEndpoint: func(addr string) {
				s.actors.EventStream.Publish(&remote.EndpointTerminatedEvent{Address: addr})
			},
			atRisk: func(member string) uint64 {
				// Acknowledged visits are in its journal; those in flight
				// are re-sent to it or counted here.
				return s.sender.unacknowledged(member)
			},
			log: s.log,
			m:   s.m.watch,
		})
		s.peers = s.newPeers()
	}
}

// NodeID is the id this process stamps on its visit batches.
func (s *System) NodeID() string { return s.nodeID }

// NearCache is the read side of the near-cache the System owns, for the
// gateway's redirect path.
func (s *System) NearCache() nearcache.Reader { return s.cache.Reader() }

// Start spawns the shard actors and the node actor, starts the remote (in
// a cluster) and the components' goroutines.
func (s *System) Start() error {
	if !s.started.CompareAndSwap(false, true) {
		return errors.New("actors: already started")
	}
	logger := s.log
	s.actors = actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(levelFloor{h: logger.Handler(), min: slog.LevelWarn}).With("component", "protoactor")
	}))
	s.shards = make([]*actor.PID, s.cfg.Shards)
	perShard := s.cfg.OwnerCacheSize / s.cfg.Shards
	dequeued := func() { s.mailboxDepth.Add(-1) }
	for i := range s.shards {
		st := newShardState(perShard)
		st.refCap = s.cfg.ReferrersPerMinute
		props := actor.PropsFromProducer(func() actor.Actor {
			return &shardActor{st: st, load: s.loader.load, dequeued: dequeued}
		})
		pid, err := s.actors.Root.SpawnNamed(props, "shard-"+strconv.Itoa(i))
		if err != nil {
			return fmt.Errorf("spawn shard %d: %w", i, err)
		}
		s.shards[i] = pid
	}
	nd := nodeActorDeps{
		shardPID: func(code string) *actor.PID { return s.shards[s.ShardOf(code)] },
		invalidate: func(code string) {
			s.noteChanged(code)
			s.cache.Delete(code)
			s.send(code, &invalidateMsg{code: code})
		},
		visitsDeleted: s.flusher.resetVisits,
		receive:       s.batcher.receive,
		closeInbox:    s.batcher.closeInbox,
		received:      func(at time.Time) { s.lastRemoteBatch.Store(at.UnixNano()) },
		queued:        func() { s.mailboxDepth.Add(1) },
		now:           time.Now,
	}
	pid, err := s.actors.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return &nodeActor{d: nd} }), nodeActorName)
	if err != nil {
		return fmt.Errorf("spawn node actor: %w", err)
	}
	s.nodePID = pid
	// Before the remote takes batches from other nodes: the journal's
	// inbox must know those already applied.
	parts := s.replayJournal()
	if s.cfg.RemoteAddr != "" {
		if s.remote, err = startRemote(s.actors, s.cfg.RemoteAddr, s.cfg.RemoteAdvertiseAddr); err != nil {
			return err
		}
	}
	for _, p := range parts {
		s.sender.send(p)
	}
	s.batcher.start()
	s.flusher.start()
	if s.watcher != nil {
		s.watcher.start()
	}
	s.peers.start()
	s.running.Store(true)
	return nil
}

// ShardOf returns the shard index of code.
func (s *System) ShardOf(code string) int {
	return int(xxhash.Sum64String(code) % uint64(s.cfg.Shards))
}

func (s *System) send(code string, msg any) { s.sendTo(s.ShardOf(code), msg) }

func (s *System) sendTo(shard int, msg any) {
	s.mailboxDepth.Add(1)
	s.actors.Root.Send(s.shards[shard], msg)
}

func (s *System) toShards(msg any) {
	for i := range s.shards {
		s.sendTo(i, msg)
	}
}

// ask sends msg to a local shard and waits for its answer, bounded by
// AskTimeout and ctx's deadline.
func (s *System) ask(ctx context.Context, shard int, msg any) (any, error) {
	timeout := s.cfg.AskTimeout
	if dl, ok := ctx.Deadline(); ok {
		if d := time.Until(dl); d < timeout {
			timeout = d
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("ask shard %d: %w", shard, err)
	}
	if timeout <= 0 {
		return nil, fmt.Errorf("ask shard %d: %w", shard, context.DeadlineExceeded)
	}
	s.mailboxDepth.Add(1)
	res, err := s.actors.Root.RequestFuture(s.shards[shard], msg, timeout).Result()
	if err != nil {
		return nil, fmt.Errorf("ask shard %d: %w", shard, err)
	}
	return res, nil
}

// remoteDeadline is when a request to another node gives up: the remote
// timeout, or ctx's deadline if sooner.
func (s *System) remoteDeadline(ctx context.Context) time.Time {
	deadline := time.Now().Add(s.cfg.RemoteTimeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	return deadline
}

// requestDrains asks every shard for its pending aggregates and returns
// where each answers (the flusher's source, through batcher.collect).
func (s *System) requestDrains() []chan []storage.VisitCount {
	out := make([]chan []storage.VisitCount, len(s.shards))
	for i := range s.shards {
		out[i] = make(chan []storage.VisitCount, 1)
		s.sendTo(i, &drainMsg{reply: out[i]})
	}
	return out
}

// replayJournal hands what the visit journal still owed at start back to
// the pipeline: rows to the shards, batches to the flusher; it returns the
// parts to send to their owners again.
func (s *System) replayJournal() []*remotePart {
	if !s.journal.enabled() {
		return nil
	}
	r := s.journal.replay(s.d.JournalRecords)
	s.d.JournalRecords = nil
	s.batcher.replay(r)
	s.flusher.requeue(r.flushes)
	s.m.journal.replayed.Add(float64(r.visits))
	s.m.journal.bad.Add(float64(r.bad))
	if r.visits > 0 || r.bad > 0 {
		s.log.Info("visit journal replayed", "visits", r.visits, "rows_to_shards", len(r.local),
			"batches_to_sink", len(r.flushes), "parts_to_owners", len(r.parts), "bad_records", r.bad)
	}
	return r.parts
}

// owner returns the member that owns code and whether it is this node.
func (s *System) owner(code string) (cluster.Member, bool) {
	if s.d.Cluster == nil {
		return cluster.Member{}, true
	}
	m := s.d.Cluster.Placement().Owner(code)
	return m, m.Name == s.d.Cluster.Self().Name
}

// isAlive reports whether member name is in the current placement.
func (s *System) isAlive(name string) bool {
	for _, m := range s.d.Cluster.Placement().Members() {
		if m.Name == name {
			return true
		}
	}
	return false
}

// flush moves everything recorded so far to the sink now, ignoring the
// breaker (tests).
func (s *System) flush(ctx context.Context) error {
	s.batcher.flush()
	return s.flusher.flushNow(ctx)
}

// Quiesce waits, after this node left the cluster, until no visit batch
// from another node has arrived for three batch intervals (their senders
// have moved to the new owners), or ctx ends.
func (s *System) Quiesce(ctx context.Context) {
	quiet := 3 * s.cfg.BatchInterval
	t := time.NewTicker(s.cfg.BatchInterval / 2)
	defer t.Stop()
	start := time.Now()
	for {
		last := time.Unix(0, s.lastRemoteBatch.Load())
		if last.Before(start) && time.Since(start) >= quiet || time.Since(last) >= quiet && time.Since(start) >= quiet {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Shutdown drains every visit to the sink (or until ctx ends), then stops
// the actors. Components stop in the order visits flow: no new lookups →
// the node actor refuses visit batches from other nodes (their senders
// count them) → the membership watcher → the batcher ships what the rings
// hold → the sender's batches in flight are acknowledged or counted here →
// the flusher drains the shards into the sink → loads in flight finish →
// shards, remote and actor system stop. It is idempotent, returns when
// every goroutine has exited, and returns the first error: visits it could
// not deliver are counted in the error.
func (s *System) Shutdown(ctx context.Context) error {
	s.stopOnce.Do(func() {
		s.closing.Store(true)
		if s.actors == nil {
			return // never started
		}
		if !s.running.Load() {
			// Start failed half-way: no visit was counted, no component
			// runs; stop what was spawned.
			s.stopActors()
			return
		}
		if _, err := s.actors.Root.RequestFuture(s.nodePID, &closeVisitsMsg{}, s.cfg.AskTimeout).Result(); err != nil {
			s.log.Warn("close node actor", "err", err)
			s.batcher.closeInbox()
		}
		if s.watcher != nil {
			s.watcher.stop()
		}
		s.peers.stop()
		s.batcher.stop()
		s.sender.stop()
		s.stopErr = s.flusher.stop(ctx)
		s.stopActors()
	})
	return s.stopErr
}

// stopActors waits for loads in flight, then stops the shards (those
// spawned), the remote and the actor system.
func (s *System) stopActors() {
	s.loader.stop()
	for i, pid := range s.shards {
		if pid == nil {
			continue
		}
		if err := s.actors.Root.StopFuture(pid).Wait(); err != nil {
			s.log.Warn("stop shard", "shard", i, "err", err)
		}
	}
	if s.remote != nil {
		s.remote.Shutdown(true)
	}
	s.actors.Shutdown()
}
