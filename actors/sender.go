package actors

import (
	"sync/atomic"
	"time"

	"github.com/minibitly/minibitly/cluster"
	"github.com/minibitly/minibitly/proto/clusterpb"
	"github.com/minibitly/minibitly/storage"
)

// maxSendAttempts bounds re-sends of one visit batch to a live owner.
const maxSendAttempts = 3

// ackMargin is how much longer a sender waits than the receiver accepts.
const ackMargin = 500 * time.Millisecond

// senderDeps are what the visit sender needs: a request to another node,
// the membership's view of who is alive, where rows go when their owner
// does not take them, and its metrics.
type senderDeps struct {
	// from is this node's id, stamped on every batch (From).
	from string
	// ask sends msg to owner's node actor and waits up to timeout.
	ask func(owner cluster.Member, msg any, timeout time.Duration) (any, error)
	// alive reports whether a member is in the current placement.
	alive func(name string) bool
	// applyLocal counts rows in this node's shards instead.
	applyLocal func(rows []storage.VisitCount)
	// acked records visits an owner acknowledged (for visits_at_risk).
	acked      func(owner string, visits uint64, at time.Time)
	ackTimeout time.Duration
	now        func() time.Time
	m          sendMetrics
}

// visitSender delivers visit batches of codes owned by other nodes, one
// goroutine per batch in flight, each waited for by stop.
type visitSender struct {
	d   senderDeps
	seq atomic.Uint64
	r   routines
}

func newVisitSender(d senderDeps) *visitSender { return &visitSender{d: d} }

// send delivers rows to owner in the background; once the sender is
// stopping, the rows are counted here at once.
func (s *visitSender) send(owner cluster.Member, rows []storage.VisitCount, visits uint64) {
	if !s.r.start(func() { s.deliver(owner, rows, visits) }) {
		s.reroute(rows, visits)
	}
}

// deliver sends one batch to its owner. An unacknowledged batch is re-sent
// under the same (From, Seq), which the owner applies at most once, while
// the owner is alive, up to maxSendAttempts times; then the rows are
// counted here instead. The owner refuses a batch that arrives after its
// deadline, so a batch the sender gave up on is never applied there too.
func (s *visitSender) deliver(owner cluster.Member, rows []storage.VisitCount, visits uint64) {
	msg := &clusterpb.VisitBatch{From: s.d.from, Seq: s.seq.Add(1), Rows: rowsToProto(rows)}
	for attempt := 1; ; attempt++ {
		msg.DeadlineUnixMs = s.d.now().Add(s.d.ackTimeout).UnixMilli()
		res, err := s.d.ask(owner, msg, s.d.ackTimeout+ackMargin)
		ack, ok := res.(*clusterpb.VisitAck)
		if err == nil && ok && ack.Applied {
			s.d.m.visitsSentRemote.Add(float64(visits))
			s.d.m.visitsBatched.Add(float64(visits))
			s.d.acked(owner.Name, visits, s.d.now())
			return
		}
		refused := err == nil && ok && !ack.Applied // the owner did not apply it
		if refused || attempt >= maxSendAttempts || !s.d.alive(owner.Name) {
			break
		}
		s.d.m.resends.Inc()
	}
	s.reroute(rows, visits)
}

func (s *visitSender) reroute(rows []storage.VisitCount, visits uint64) {
	s.d.m.visitsRerouted.Add(float64(visits))
	s.d.m.visitsBatched.Add(float64(visits))
	s.d.applyLocal(rows)
}

// stop refuses new batches (their rows are counted here) and waits until
// every batch in flight is acknowledged or counted here.
func (s *visitSender) stop() { s.r.stop() }
