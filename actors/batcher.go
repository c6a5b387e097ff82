package actors

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/minibitly/minibitly/cluster"
	"github.com/minibitly/minibitly/proto/clusterpb"

	"github.com/minibitly/minibitly/internal/useragent"
	"github.com/minibitly/minibitly/storage"
)

// drainEvery is how often the batcher empties the visit log.
const drainEvery = 5 * time.Millisecond

// maxReferrers bounds the referrer intern table; it is reset when full.
const maxReferrers = 100_000

type aggKey struct {
	code   string
	minute int64
	dims   uint32
	ref    string
}

// batcher is the single consumer of the visit log: it aggregates visits per
// shard and ships them to the shards every BatchInterval.
type batcher struct {
	n        *Node
	perShard []map[aggKey]uint64
	refs     map[string]string
	lower    [64]byte

	flushReq chan chan struct{}
	quit     chan struct{}
	wg       sync.WaitGroup
	once     sync.Once

	inflight sync.WaitGroup // visit batches sent to other nodes, awaiting ack
	seq      atomic.Uint64
}

func newBatcher(n *Node) *batcher {
	return &batcher{
		n:        n,
		refs:     make(map[string]string),
		flushReq: make(chan chan struct{}),
		quit:     make(chan struct{}),
	}
}

func (b *batcher) start() {
	b.perShard = make([]map[aggKey]uint64, len(b.n.shards))
	for i := range b.perShard {
		b.perShard[i] = make(map[aggKey]uint64)
	}
	b.wg.Add(1)
	go b.run()
}

func (b *batcher) run() {
	defer b.wg.Done()
	drain := time.NewTicker(drainEvery)
	defer drain.Stop()
	ship := time.NewTicker(b.n.cfg.BatchInterval)
	defer ship.Stop()
	for {
		select {
		case <-drain.C:
			b.drainLog()
		case <-ship.C:
			b.drainLog()
			b.ship()
		case done := <-b.flushReq:
			b.drainLog()
			b.ship()
			close(done)
		case <-b.quit:
			b.drainLog()
			b.ship()
			return
		}
	}
}

func (b *batcher) drainLog() {
	b.n.d.Visits.Drain(b.add)
}

func (b *batcher) add(code string, minute int64, dims uint32, ref []byte) {
	k := aggKey{code: code, minute: minute, dims: dims, ref: b.intern(ref)}
	b.perShard[b.n.ShardOf(code)][k]++
}

// intern returns the lower-cased referrer host as a shared string.
func (b *batcher) intern(ref []byte) string {
	if len(ref) == 0 {
		return ""
	}
	buf := b.lower[:0]
	for _, c := range ref {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf = append(buf, c)
	}
	if s, ok := b.refs[string(buf)]; ok {
		return s
	}
	if len(b.refs) >= maxReferrers {
		clear(b.refs)
	}
	s := string(buf)
	b.refs[s] = s
	return s
}

// ship sends each shard its aggregated visits; in a cluster, visits of
// codes owned by other nodes go to those owners, one batch per owner.
func (b *batcher) ship() {
	var p *cluster.Placement
	var self string
	if b.n.d.Cluster != nil {
		p, self = b.n.d.Cluster.Placement(), b.n.d.Cluster.Self().Name
	}
	var remote map[string]*remoteBatch
	for i, m := range b.perShard {
		if len(m) == 0 {
			continue
		}
		rows := make([]storage.VisitCount, 0, len(m))
		var total uint64
		for k, v := range m {
			device, browser, os, country, bot := useragent.Unpack(k.dims)
			r := storage.VisitCount{
				VisitKey: storage.VisitKey{
					Code: k.code, Minute: k.minute, Referrer: k.ref,
					Device: device, Browser: browser, OS: os, Country: country, Bot: bot,
				},
				Visits: v,
			}
			if p != nil {
				if owner := p.Owner(k.code); owner.Name != self {
					if remote == nil {
						remote = map[string]*remoteBatch{}
					}
					rb := remote[owner.Name]
					if rb == nil {
						rb = &remoteBatch{owner: owner}
						remote[owner.Name] = rb
					}
					rb.rows = append(rb.rows, r)
					rb.visits += v
					continue
				}
			}
			rows = append(rows, r)
			total += v
		}
		clear(m)
		b.n.m.visitsBatched.Add(float64(total))
		if len(rows) > 0 {
			b.n.sendTo(i, &visitsMsg{rows: rows})
		}
	}
	for _, rb := range remote {
		b.inflight.Add(1)
		go b.sendRemote(rb)
	}
}

type remoteBatch struct {
	owner  cluster.Member
	rows   []storage.VisitCount
	visits uint64
}

// sendRemote delivers one batch to its owner. An unacknowledged batch is
// re-sent under the same (From, Seq), which the owner applies at most once,
// while the owner is alive, up to maxSendAttempts times; then the rows are
// counted here instead. The owner refuses a batch that arrives after its
// deadline, so a batch the sender gave up on is never applied there too.
func (b *batcher) sendRemote(rb *remoteBatch) {
	defer b.inflight.Done()
	n := b.n
	msg := &clusterpb.VisitBatch{From: n.nodeID, Seq: b.seq.Add(1), Rows: rowsToProto(rb.rows)}
	for attempt := 1; ; attempt++ {
		msg.DeadlineUnixMs = time.Now().Add(n.cfg.VisitAckTimeout).UnixMilli()
		res, err := n.system.Root.RequestFuture(remotePID(rb.owner), msg, n.cfg.VisitAckTimeout+ackMargin).Result()
		ack, ok := res.(*clusterpb.VisitAck)
		if err == nil && ok && ack.Applied {
			n.m.visitsSentRemote.Add(float64(rb.visits))
			n.m.visitsBatched.Add(float64(rb.visits))
			n.acks.add(rb.owner.Name, rb.visits, time.Now(), 3*n.cfg.FlushInterval+n.cfg.BatchInterval)
			return
		}
		refused := err == nil && ok && !ack.Applied // the owner did not apply it
		if refused || attempt >= maxSendAttempts || !n.isAlive(rb.owner.Name) {
			break
		}
		n.m.remoteResends.Inc()
	}
	n.m.visitsRerouted.Add(float64(rb.visits))
	n.m.visitsBatched.Add(float64(rb.visits))
	n.applyLocal(rb.rows)
}

// maxSendAttempts bounds re-sends of one visit batch to a live owner.
const maxSendAttempts = 3

// ackMargin is how much longer a sender waits than the receiver accepts.
const ackMargin = 500 * time.Millisecond

// flush ships everything recorded so far to the shards and returns when the
// messages are in the shards' mailboxes.
func (b *batcher) flush() {
	done := make(chan struct{})
	select {
	case b.flushReq <- done:
		<-done
	case <-b.quit:
	}
}

// stop ships what is left, stops the goroutine and waits until every batch
// sent to another node is acknowledged or counted here.
func (b *batcher) stop() {
	b.once.Do(func() { close(b.quit) })
	b.wg.Wait()
	b.inflight.Wait()
}
