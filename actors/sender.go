package actors

import (
	"sync"
	"time"

	"github.com/minibitly/minibitly/cluster"
	"github.com/minibitly/minibitly/proto/clusterpb"
)

// maxSendAttempts bounds re-sends of one visit batch to a live owner.
const maxSendAttempts = 3

// ackMargin is how much longer a sender waits than the receiver accepts.
const ackMargin = 500 * time.Millisecond

// unknownOutcomeWindow is how long a part whose owner went silent (dead in
// gossip, or not answering) keeps being offered to that owner before it is
// counted here. The owner may have journaled it just before it died: if it
// comes back within the window (a restart on its data dir), it recognises
// the re-sent part and acknowledges it, so the visits count once.
const unknownOutcomeWindow = 15 * time.Second

// senderDeps are what the visit sender needs: a request to another node,
// the membership's view of who is alive, where parts go when their owner
// does not take them, the journal, and its metrics.
type senderDeps struct {
	// ask sends msg to owner's node actor and waits up to timeout.
	ask func(owner cluster.Member, msg any, timeout time.Duration) (any, error)
	// alive reports whether a member is in the current placement.
	alive func(name string) bool
	// reroute counts a part in this node's shards instead.
	reroute func(p *remotePart)
	j       *journal
	// ackTimeout is how long the owner may take; retryPause separates
	// offers to an owner that is not alive.
	ackTimeout time.Duration
	retryPause time.Duration
	// window is how long a part is offered to a silent owner
	// (unknownOutcomeWindow when 0).
	window time.Duration
	now    func() time.Time
	m      sendMetrics
}

// visitSender delivers the parts of codes owned by other nodes, one
// goroutine per part in flight, each waited for by stop.
type visitSender struct {
	d    senderDeps
	r    routines
	quit chan struct{}
	once sync.Once

	mu       sync.Mutex
	inFlight map[string]uint64 // visits per owner not yet acknowledged
}

func newVisitSender(d senderDeps) *visitSender {
	if d.retryPause <= 0 {
		d.retryPause = time.Second
	}
	if d.window <= 0 {
		d.window = unknownOutcomeWindow
	}
	return &visitSender{d: d, quit: make(chan struct{}), inFlight: map[string]uint64{}}
}

// send delivers p to its owner in the background; once the sender is
// stopping, p is counted here at once.
func (s *visitSender) send(p *remotePart) {
	s.track(p.owner.Name, int64(p.visits))
	if !s.r.start(func() { s.deliver(p) }) {
		s.settle(p, false)
	}
}

// deliver sends one part to its owner under its (From, Seq), which the
// owner applies at most once and acknowledges only once journaled. While
// the owner is alive it is re-sent up to maxSendAttempts times; while it
// is not, it is offered again every retryPause for unknownOutcomeWindow
// (it may come back with the part in its journal). A refusal (the owner
// did not apply it: late, or closing), the end of the window, or the
// sender stopping count it here instead. The owner refuses a part that
// arrives after its deadline, so a part given up on is never applied
// there too.
func (s *visitSender) deliver(p *remotePart) {
	rows := rowsToProto(p.rows)
	// A new message per attempt: protoactor serialises a remote message on
	// its endpoint writer's goroutine, possibly after the ask timed out (a
	// peer that was stopped), so a message once sent is never written again.
	sendOnce := func() (*clusterpb.VisitAck, bool, error) {
		msg := &clusterpb.VisitBatch{From: p.from, Seq: p.seq, Rows: rows,
			DeadlineUnixMs: s.d.now().Add(s.d.ackTimeout).UnixMilli()}
		res, err := s.d.ask(p.owner, msg, s.d.ackTimeout+ackMargin)
		ack, ok := res.(*clusterpb.VisitAck)
		return ack, ok, err
	}
	first := s.d.now()
	for attempt := 1; ; attempt++ {
		ack, ok, err := sendOnce()
		if err == nil && ok && ack.Applied {
			s.settle(p, true)
			return
		}
		if err == nil && ok && !ack.Applied { // refused: the owner did not apply it
			break
		}
		if attempt < maxSendAttempts && s.d.alive(p.owner.Name) {
			s.d.m.resends.Inc()
			continue
		}
		if s.d.now().Sub(first) >= s.d.window {
			break
		}
		select {
		case <-s.quit:
			// Stopping: one last offer, so an owner that is only slow (and
			// may have journaled it) settles it rather than both counting.
			ack, ok, err := sendOnce()
			s.settle(p, err == nil && ok && ack.Applied)
			return
		case <-time.After(s.d.retryPause):
		}
		s.d.m.resends.Inc()
	}
	s.settle(p, false)
}

// settle ends a part: acknowledged by its owner, or counted here.
func (s *visitSender) settle(p *remotePart, acked bool) {
	s.track(p.owner.Name, -int64(p.visits))
	s.d.m.visitsBatched.Add(float64(p.visits))
	if acked {
		s.d.m.visitsSentRemote.Add(float64(p.visits))
		s.d.j.acked(p)
		return
	}
	s.d.m.visitsRerouted.Add(float64(p.visits))
	s.d.reroute(p)
}

func (s *visitSender) track(owner string, delta int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := int64(s.inFlight[owner]) + delta
	if v <= 0 {
		delete(s.inFlight, owner)
		return
	}
	s.inFlight[owner] = uint64(v)
}

// unacknowledged is the visits sent to owner and not yet acknowledged.
func (s *visitSender) unacknowledged(owner string) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inFlight[owner]
}

// stop refuses new parts (they are counted here), ends the waits for
// silent owners, and waits until every part in flight is acknowledged or
// counted here.
func (s *visitSender) stop() {
	s.r.close()
	s.once.Do(func() { close(s.quit) })
	s.r.wait()
}
