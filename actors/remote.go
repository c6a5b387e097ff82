package actors

import (
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"github.com/minibitly/minibitly/cluster"
	"github.com/minibitly/minibitly/proto/clusterpb"
)

// Membership is what the System needs from cluster membership.
type Membership interface {
	Self() cluster.Member
	Members() []cluster.Member
	Placement() *cluster.Placement
	Changes() <-chan struct{}
}

// nodeActorName is the per-node actor that receives cross-node traffic and
// hands it to the local shards.
const nodeActorName = "node"

func remotePID(m cluster.Member) *actor.PID { return actor.NewPID(m.RemoteAddr, nodeActorName) }

// startRemote starts protoactor's remote on addr, advertised as advertise
// (host:port; empty = addr).
func startRemote(system *actor.ActorSystem, addr, advertise string) (*remote.Remote, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("remote addr %q: %w", addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("remote addr %q: bad port", addr)
	}
	// remote.Start panics when it cannot listen: find out first.
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("remote addr: %w", err)
	}
	ln.Close()
	var opts []remote.ConfigOption
	if advertise != "" {
		opts = append(opts, remote.WithAdvertisedHost(advertise))
	}
	r := remote.NewRemote(system, remote.Configure(host, port, opts...))
	r.Start()
	return r, nil
}

// askRemote sends a request to member m's node actor and waits until
// deadline (an absolute time: callers combine the remote timeout with
// their ctx's deadline).
func askRemote(root *actor.RootContext, deadline time.Time, m cluster.Member, msg any) (any, error) {
	timeout := time.Until(deadline)
	if timeout <= 0 {
		return nil, fmt.Errorf("ask %s: deadline passed", m.Name)
	}
	res, err := root.RequestFuture(remotePID(m), msg, timeout).Result()
	if err != nil {
		return nil, fmt.Errorf("ask %s: %w", m.Name, err)
	}
	if _, ok := res.(*actor.DeadLetterResponse); ok {
		return nil, fmt.Errorf("ask %s: no such actor (dead letter)", m.Name)
	}
	return res, nil
}

// batchID names a visit batch from another node.
type batchID struct {
	from string
	seq  uint64
}

// appliedMemory is how long a visit batch id is remembered; re-sends stop
// after maxSendAttempts × (VisitAckTimeout + ackMargin), far less.
const appliedMemory = 2 * time.Minute

type verdict int

const (
	verdictApply     verdict = iota // new: apply and acknowledge
	verdictDuplicate                // applied before: acknowledge only
	verdictRefuse                   // late or closing: the sender counts it
)

// inbox is the node actor's single-threaded state: the visit batches from
// other nodes it has applied (so a re-sent batch whose acknowledgement was
// lost is acknowledged, not applied twice) and whether it still takes
// them. Not safe for concurrent use.
type inbox struct {
	closed  bool
	applied map[batchID]time.Time
}

// judge decides what to do with batch m arriving at now, and remembers it
// when it is to be applied.
func (in *inbox) judge(m *clusterpb.VisitBatch, now time.Time) verdict {
	id := batchID{from: m.From, seq: m.Seq}
	if _, dup := in.applied[id]; dup {
		return verdictDuplicate
	}
	if in.closed || now.UnixMilli() > m.DeadlineUnixMs {
		return verdictRefuse
	}
	in.remember(id, now)
	return verdictApply
}

// remember records an applied batch and forgets those older than
// appliedMemory.
func (in *inbox) remember(id batchID, now time.Time) {
	if in.applied == nil {
		in.applied = map[batchID]time.Time{}
	}
	if len(in.applied)%1024 == 1023 {
		for k, at := range in.applied {
			if now.Sub(at) > appliedMemory {
				delete(in.applied, k)
			}
		}
	}
	in.applied[id] = now
}

// forget drops an id remembered by judge (the batch could not be
// journaled after all).
func (in *inbox) forget(id batchID) { delete(in.applied, id) }

// nodeActorDeps are what the node actor needs from its System.
type nodeActorDeps struct {
	// shardPID is the local shard of a code.
	shardPID func(code string) *actor.PID
	// invalidate drops code from this node's near-cache and its shard;
	// visitsDeleted forgets its running visit totals.
	invalidate    func(code string)
	visitsDeleted func(code string)
	// receive journals, applies and acknowledges a visit batch from
	// another node (batcher.receive); closeInbox makes it refuse them all.
	receive    func(m *clusterpb.VisitBatch) *clusterpb.VisitAck
	closeInbox func()
	// received notes the arrival of a visit batch (Quiesce).
	received func(at time.Time)
	// queued counts a message forwarded to a shard's mailbox.
	queued func()
	now    func() time.Time
}

// nodeActor receives cross-node messages: lookups and pending counts are
// forwarded to the code's shard (which answers the original sender), visit
// batches go to the batcher (journaled before they are acknowledged),
// invalidations drop the code from this node's caches.
type nodeActor struct {
	d nodeActorDeps
}

// closeVisitsMsg tells the node actor to refuse further visit batches; its
// answer means every batch accepted before is in the shards' mailboxes.
type closeVisitsMsg struct{}

func (a *nodeActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *clusterpb.ResolveRequest:
		a.d.queued()
		ctx.Forward(a.d.shardPID(m.Code))
	case *clusterpb.PendingRequest:
		a.d.queued()
		ctx.Forward(a.d.shardPID(m.Code))
	case *clusterpb.Invalidate:
		if m.VisitsDeleted {
			a.d.visitsDeleted(m.Code)
		}
		a.d.invalidate(m.Code)
		if ctx.Sender() != nil {
			// The shard's mailbox has the invalidation before any lookup
			// forwarded after this answer.
			ctx.Respond(m)
		}
	case *clusterpb.VisitBatch:
		ack := a.d.receive(m)
		if ack.Applied {
			a.d.received(a.d.now())
		}
		ctx.Respond(ack)
	case *closeVisitsMsg:
		a.d.closeInbox()
		ctx.Respond(true)
	}
}
