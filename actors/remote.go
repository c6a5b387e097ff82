package actors

import (
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"github.com/minibitly/minibitly/cluster"
	"github.com/minibitly/minibitly/internal/nearcache"
	"github.com/minibitly/minibitly/proto/clusterpb"
	"github.com/minibitly/minibitly/storage"
)

// Membership is what the node needs from cluster membership.
type Membership interface {
	Self() cluster.Member
	Members() []cluster.Member
	Placement() *cluster.Placement
	Changes() <-chan struct{}
}

// nodeActorName is the per-node actor that receives cross-node traffic and
// hands it to the local shards.
const nodeActorName = "node"

// startRemote starts protoactor's remote on cfg.RemoteAddr.
func (n *Node) startRemote() error {
	host, portStr, err := net.SplitHostPort(n.cfg.RemoteAddr)
	if err != nil {
		return fmt.Errorf("remote addr %q: %w", n.cfg.RemoteAddr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return fmt.Errorf("remote addr %q: bad port", n.cfg.RemoteAddr)
	}
	// remote.Start panics when it cannot listen: find out first.
	ln, err := net.Listen("tcp", n.cfg.RemoteAddr)
	if err != nil {
		return fmt.Errorf("remote addr: %w", err)
	}
	ln.Close()
	var opts []remote.ConfigOption
	if n.cfg.RemoteAdvertise != "" {
		opts = append(opts, remote.WithAdvertisedHost(n.cfg.RemoteAdvertise))
	}
	n.remote = remote.NewRemote(n.system, remote.Configure(host, port, opts...))
	n.remote.Start()
	return nil
}

// owner returns the member that owns code and whether it is this node.
func (n *Node) owner(code string) (cluster.Member, bool) {
	if n.d.Cluster == nil {
		return cluster.Member{}, true
	}
	m := n.d.Cluster.Placement().Owner(code)
	return m, m.Name == n.d.Cluster.Self().Name
}

func remotePID(m cluster.Member) *actor.PID { return actor.NewPID(m.RemoteAddr, nodeActorName) }

// askRemote sends a request to member m's node actor, bounded by the remote
// timeout and ctx.
func (n *Node) askRemote(deadline time.Time, m cluster.Member, msg any) (any, error) {
	timeout := time.Until(deadline)
	if timeout <= 0 {
		return nil, fmt.Errorf("ask %s: deadline passed", m.Name)
	}
	res, err := n.system.Root.RequestFuture(remotePID(m), msg, timeout).Result()
	if err != nil {
		return nil, fmt.Errorf("ask %s: %w", m.Name, err)
	}
	if _, ok := res.(*actor.DeadLetterResponse); ok {
		return nil, fmt.Errorf("ask %s: no such actor (dead letter)", m.Name)
	}
	return res, nil
}

// linkToProto and linkFromProto convert a near-cache entry for the wire.
func linkToProto(e *nearcache.Entry) *clusterpb.Link {
	return &clusterpb.Link{
		Code: e.Code, Url: string(e.Location), Status: int32(e.Status), ExpiresAt: e.ExpiresAt,
		Limited: e.Limited, ForwardQuery: e.ForwardQuery, Version: e.Version, CacheMaxAge: int32(e.CacheMaxAge),
	}
}

func linkFromProto(l *clusterpb.Link) *nearcache.Entry {
	e := &nearcache.Entry{
		Code: l.Code, Location: []byte(l.Url), Status: int(l.Status), ExpiresAt: l.ExpiresAt,
		Limited: l.Limited, ForwardQuery: l.ForwardQuery, Version: l.Version, CacheMaxAge: int(l.CacheMaxAge),
	}
	if e.CacheMaxAge >= 0 {
		e.CacheControl = nearcache.CacheControlValue(e.CacheMaxAge)
	}
	return e
}

func replyToProto(r *resolveReply) *clusterpb.ResolveResponse {
	out := &clusterpb.ResolveResponse{Admitted: r.admitted}
	switch {
	case r.err == nil:
		out.Link = linkToProto(r.entry)
	case errorIsNotFound(r.err):
		out.Error = clusterpb.ErrorCode_NOT_FOUND
	default:
		out.Error, out.Message = clusterpb.ErrorCode_UNAVAILABLE, r.err.Error()
	}
	return out
}

func replyFromProto(p *clusterpb.ResolveResponse) (*resolveReply, error) {
	switch p.Error {
	case clusterpb.ErrorCode_OK:
		if p.Link == nil {
			return nil, fmt.Errorf("%w: owner sent no link", storage.ErrUnavailable)
		}
		return &resolveReply{entry: linkFromProto(p.Link), admitted: p.Admitted}, nil
	case clusterpb.ErrorCode_NOT_FOUND:
		return nil, storage.ErrNotFound
	}
	return nil, fmt.Errorf("%w: owner: %s", storage.ErrUnavailable, p.Message)
}

func rowsToProto(rows []storage.VisitCount) []*clusterpb.VisitRow {
	out := make([]*clusterpb.VisitRow, len(rows))
	for i, r := range rows {
		out[i] = &clusterpb.VisitRow{
			Code: r.Code, Minute: r.Minute, Referrer: r.Referrer, Device: r.Device, Browser: r.Browser,
			Os: r.OS, Country: r.Country, Bot: r.Bot, Visits: r.Visits,
		}
	}
	return out
}

func rowsFromProto(rows []*clusterpb.VisitRow) []storage.VisitCount {
	out := make([]storage.VisitCount, len(rows))
	for i, r := range rows {
		out[i] = storage.VisitCount{VisitKey: storage.VisitKey{
			Code: r.Code, Minute: r.Minute, Referrer: r.Referrer, Device: r.Device, Browser: r.Browser,
			OS: r.Os, Country: r.Country, Bot: r.Bot,
		}, Visits: r.Visits}
	}
	return out
}

// nodeActor receives cross-node messages: lookups and pending counts are
// forwarded to the code's shard (which answers the original sender), visit
// batches are split over the shards and acknowledged, invalidations drop
// the code from this node's caches.
type nodeActor struct {
	n      *Node
	closed bool // no longer accepts visit batches (shutting down)
	// applied remembers recent (From, Seq) visit batches: a re-sent batch
	// whose first acknowledgement was lost is acknowledged, not re-applied.
	applied map[batchID]time.Time
}

type batchID struct {
	from string
	seq  uint64
}

// appliedMemory is how long a visit batch id is remembered; re-sends stop
// after maxSendAttempts × (VisitAckTimeout + ackMargin), far less.
const appliedMemory = 2 * time.Minute

// closeVisitsMsg tells the node actor to refuse further visit batches; its
// answer means every batch accepted before is in the shards' mailboxes.
type closeVisitsMsg struct{}

func (a *nodeActor) Receive(ctx actor.Context) {
	n := a.n
	switch m := ctx.Message().(type) {
	case *clusterpb.ResolveRequest:
		n.mailboxDepth.Add(1)
		ctx.Forward(n.shards[n.ShardOf(m.Code)])
	case *clusterpb.PendingRequest:
		n.mailboxDepth.Add(1)
		ctx.Forward(n.shards[n.ShardOf(m.Code)])
	case *clusterpb.Invalidate:
		n.d.Cache.Delete(m.Code)
		n.send(m.Code, &invalidateMsg{code: m.Code})
		if ctx.Sender() != nil {
			// The shard's mailbox has the invalidation before any lookup
			// forwarded after this answer.
			ctx.Respond(m)
		}
	case *clusterpb.VisitBatch:
		now := time.Now()
		id := batchID{from: m.From, seq: m.Seq}
		if _, dup := a.applied[id]; dup {
			n.m.remoteDuplicates.Inc()
			ctx.Respond(&clusterpb.VisitAck{Seq: m.Seq, Applied: true})
			return
		}
		if a.closed || now.UnixMilli() > m.DeadlineUnixMs {
			n.m.remoteRefused.Inc()
			ctx.Respond(&clusterpb.VisitAck{Seq: m.Seq, Applied: false})
			return
		}
		n.applyLocal(rowsFromProto(m.Rows))
		a.remember(id, now)
		n.lastRemoteBatch.Store(now.UnixNano())
		ctx.Respond(&clusterpb.VisitAck{Seq: m.Seq, Applied: true})
	case *closeVisitsMsg:
		a.closed = true
		ctx.Respond(true)
	}
}

// remember records an applied batch and forgets those older than
// appliedMemory.
func (a *nodeActor) remember(id batchID, now time.Time) {
	if a.applied == nil {
		a.applied = map[batchID]time.Time{}
	}
	if len(a.applied)%1024 == 1023 {
		for k, at := range a.applied {
			if now.Sub(at) > appliedMemory {
				delete(a.applied, k)
			}
		}
	}
	a.applied[id] = now
}

// applyLocal hands visit rows to this node's shards.
func (n *Node) applyLocal(rows []storage.VisitCount) {
	byShard := map[int][]storage.VisitCount{}
	for _, r := range rows {
		i := n.ShardOf(r.Code)
		byShard[i] = append(byShard[i], r)
	}
	for i, rs := range byShard {
		n.sendTo(i, &visitsMsg{rows: rs})
	}
}

func errorIsNotFound(err error) bool { return err != nil && errorsIs(err, storage.ErrNotFound) }
