package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/prometheus/client_golang/prometheus"
)

// ErrNotStarted is returned by Leave before Start and after Shutdown.
var ErrNotStarted = errors.New("cluster: node not started or already shut down")

// Node is this process's membership in the cluster.
type Node struct {
	cfg      Config
	bindHost string
	bindPort int
	log      *slog.Logger
	meta     atomic.Pointer[[]byte] // node metadata, swapped by Leave
	metrics  *metrics

	mu       sync.Mutex              // guards members, suspects
	members  map[string]*memberState // by name; written by event callbacks
	suspects map[string]time.Time    // alive members this node's probe failed, since when

	rebuildMu sync.Mutex // orders snapshot + store of the placement
	placement atomic.Pointer[Placement]
	rebuild   chan struct{} // cap 1: a callback asks for a rebuild
	changes   chan struct{} // cap 1: a rebuilt placement was published

	lifeMu   sync.Mutex // guards ml, started, shutdown; held by Leave
	ml       *memberlist.Memberlist
	started  bool
	shutdown bool
	left     atomic.Bool
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	localIPs map[string]bool // this host's interface addresses, to skip itself among seeds

	configHook func(*memberlist.Config) // tests: adjust the memberlist config before Create
}

// New validates cfg and returns a Node. It starts nothing. Metrics are registered with reg
// (nil: not registered).
func New(cfg Config, reg prometheus.Registerer) (*Node, error) {
	bindHost, bindPort, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("cluster: register metrics: %w", err)
	}
	l := cfg.Logger
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	cfg.Join = slices.Clone(cfg.Join)
	n := &Node{
		cfg:      cfg,
		bindHost: bindHost,
		bindPort: bindPort,
		log:      l,
		metrics:  m,
		members:  make(map[string]*memberState),
		suspects: make(map[string]time.Time),
		rebuild:  make(chan struct{}, 1),
		changes:  make(chan struct{}, 1),
	}
	meta := encodeMeta(nil, cfg.HTTPAddr, cfg.RemoteAddr, false)
	n.meta.Store(&meta)
	return n, nil
}

// Start creates the memberlist, joins the seeds and starts the rebuild and re-join
// goroutines. A join that reaches no seed is not an error: the first node of a cluster has
// no one to join, and a node started before its seeds joins them from the re-join loop.
// ctx bounds the initial seed resolution and join; the goroutines run until Shutdown.
func (n *Node) Start(ctx context.Context) error {
	n.lifeMu.Lock()
	defer n.lifeMu.Unlock()
	if n.started || n.shutdown {
		return errors.New("cluster: node already started")
	}
	mlc, err := n.memberlistConfig(ctx)
	if err != nil {
		return err
	}
	n.localIPs = localIPs()
	ml, err := memberlist.Create(mlc)
	if err != nil {
		return fmt.Errorf("cluster: start memberlist on %s: %w", n.cfg.BindAddr, err)
	}
	n.ml, n.started = ml, true
	n.rebuildPlacement() // memberlist.Create reported this node alive: never nil from here

	loopCtx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	n.wg.Add(2)
	go n.rebuildLoop(loopCtx)

	if len(n.cfg.Join) > 0 {
		seeds, err := n.resolveSeeds(ctx)
		switch {
		case err != nil:
			n.log.Warn("cluster: cannot resolve seeds; retrying", "seeds", n.cfg.Join, "error", err, "every", n.cfg.RejoinInterval)
		case len(seeds) == 0:
			n.log.Info("cluster: seeds name only this node; starting a new cluster", "seeds", n.cfg.Join)
		default:
			if k := n.join(ctx, seeds); k == 0 {
				n.log.Warn("cluster: no seed reachable; starting alone and retrying", "seeds", seeds, "every", n.cfg.RejoinInterval)
			}
		}
	}
	n.rebuildPlacement() // reflect the members the join merged before Start returns
	go n.rejoinLoop(loopCtx)
	return nil
}

// memberlistConfig maps n.cfg onto memberlist.DefaultLANConfig.
func (n *Node) memberlistConfig(ctx context.Context) (*memberlist.Config, error) {
	c := memberlist.DefaultLANConfig()
	c.Name = n.cfg.NodeName
	c.BindAddr, c.BindPort = n.bindHost, n.bindPort
	c.AdvertisePort = n.bindPort // memberlist uses the picked port when BindPort is 0
	if n.cfg.AdvertiseAddr != "" {
		host, port, _ := splitHostPort(n.cfg.AdvertiseAddr, -1)
		if net.ParseIP(host) == nil {
			ips, err := net.DefaultResolver.LookupIP(ctx, "ip", host)
			if err != nil || len(ips) == 0 {
				return nil, fmt.Errorf("cluster: resolve advertise address %q: %w", n.cfg.AdvertiseAddr, err)
			}
			host = preferIPv4(ips).String()
		}
		c.AdvertiseAddr, c.AdvertisePort = host, port
	}
	c.ProbeInterval = n.cfg.ProbeInterval
	c.ProbeTimeout = n.cfg.ProbeTimeout
	c.SuspicionMult = n.cfg.SuspicionMult
	c.GossipInterval = n.cfg.GossipInterval
	c.Delegate = delegate{n}
	c.Events = eventDelegate{n}
	c.Ping = pingDelegate{n}
	c.Logger = newNodeLogger(n.log, n.suspect)
	c.LogOutput = nil
	if n.configHook != nil {
		n.configHook(c)
	}
	return c, nil
}

// Self returns this node as a Member; its Status is "alive" until it leaves.
func (n *Node) Self() Member {
	n.mu.Lock()
	defer n.mu.Unlock()
	if ms := n.members[n.cfg.NodeName]; ms != nil {
		return ms.Member
	}
	return Member{Name: n.cfg.NodeName, HTTPAddr: n.cfg.HTTPAddr, RemoteAddr: n.cfg.RemoteAddr, Status: StatusAlive}
}

// Members returns every member this node knows of, sorted by name: the alive ones and
// those that died or left within the last 15 minutes.
func (n *Node) Members() []Member {
	n.mu.Lock()
	out := make([]Member, 0, len(n.members))
	for _, ms := range n.members {
		out = append(out, ms.Member)
	}
	n.mu.Unlock()
	slices.SortFunc(out, func(a, b Member) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Suspected reports whether member name is suspect in this node's view: this node's last
// gossip probe of it failed (memberlist then marks it suspect until it refutes or is
// declared dead) and no probe has succeeded, and no membership event about it has
// arrived, since. A suspect member stays alive and in the placement; Suspected lets
// callers route around it before it is declared dead. It is a map lookup under a mutex.
func (n *Node) Suspected(name string) bool {
	n.mu.Lock()
	_, ok := n.suspects[name]
	n.mu.Unlock()
	return ok
}

// suspect records that this node's probe of name failed (see newNodeLogger).
func (n *Node) suspect(name string) {
	if name == n.cfg.NodeName {
		return
	}
	n.mu.Lock()
	if ms := n.members[name]; ms != nil && ms.Status == StatusAlive {
		if _, ok := n.suspects[name]; !ok {
			n.suspects[name] = time.Now()
			n.metrics.suspicions.Inc()
		}
	}
	n.mu.Unlock()
}

// unsuspect forgets a suspicion of name: a probe of it succeeded, or an event about it
// arrived.
func (n *Node) unsuspect(name string) {
	n.mu.Lock()
	delete(n.suspects, name)
	n.mu.Unlock()
}

// Placement returns the current placement over the alive members. It is a lock-free read,
// never nil after Start. Once this node has left, the placement no longer contains it
// (it is what the other nodes compute), unless no other member is alive.
func (n *Node) Placement() *Placement {
	if p := n.placement.Load(); p != nil {
		return p
	}
	return NewPlacement([]Member{n.Self()})
}

// Changes receives a value after a membership change, once Placement reflects it. Sends
// are non-blocking and coalesced (capacity 1): a reader sees at least one value after the
// last change and should compare placements, not count values.
func (n *Node) Changes() <-chan struct{} { return n.changes }

// Leave leaves the cluster gracefully, waiting up to timeout in all: it re-advertises this
// node with a leaving flag and waits until that update has been gossiped (so that the
// others report "left", not "dead"), then broadcasts memberlist's leave and waits for it to
// go out. The node stops re-joining and keeps answering gossip until Shutdown. It is safe
// to call more than once; it returns ErrNotStarted before Start and after Shutdown.
func (n *Node) Leave(timeout time.Duration) error {
	n.lifeMu.Lock()
	defer n.lifeMu.Unlock()
	if !n.started || n.shutdown {
		return ErrNotStarted
	}
	deadline := time.Now().Add(timeout)
	if !n.left.Swap(true) {
		meta := encodeMeta(nil, n.cfg.HTTPAddr, n.cfg.RemoteAddr, true)
		n.meta.Store(&meta)
		if err := n.ml.UpdateNode(timeout); err != nil {
			// Not fatal: peers that missed the flag report the node dead instead of left.
			n.log.Warn("cluster: leaving flag not fully gossiped", "error", err)
		}
	}
	if err := n.ml.Leave(max(time.Until(deadline), time.Millisecond)); err != nil {
		return fmt.Errorf("cluster: leave: %w", err)
	}
	return nil
}

// Shutdown stops gossip without a leave broadcast (peers will declare the node dead; call
// Leave first for a graceful exit) and waits for the node's goroutines. It is idempotent.
func (n *Node) Shutdown() error {
	n.lifeMu.Lock()
	if n.shutdown {
		n.lifeMu.Unlock()
		return nil
	}
	n.shutdown = true
	ml, cancel := n.ml, n.cancel
	n.lifeMu.Unlock()
	if cancel != nil {
		cancel()
	}
	var err error
	if ml != nil {
		if err = ml.Shutdown(); err != nil {
			err = fmt.Errorf("cluster: shutdown memberlist: %w", err)
		}
	}
	n.wg.Wait()
	return err
}

// rebuildLoop rebuilds the placement whenever a callback asks for it.
func (n *Node) rebuildLoop(ctx context.Context) {
	defer n.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.rebuild:
			n.rebuildPlacement()
			select {
			case n.changes <- struct{}{}:
			default:
			}
		}
	}
}

// rebuildPlacement publishes a placement over the alive members (or over this node alone
// when none is alive).
func (n *Node) rebuildPlacement() {
	n.rebuildMu.Lock()
	defer n.rebuildMu.Unlock()
	n.mu.Lock()
	alive := make([]Member, 0, len(n.members))
	for _, ms := range n.members {
		if ms.Status == StatusAlive {
			alive = append(alive, ms.Member)
		}
	}
	n.mu.Unlock()
	n.metrics.members.Set(float64(len(alive)))
	if len(alive) == 0 {
		alive = append(alive, n.Self())
	}
	n.placement.Store(NewPlacement(alive))
}
