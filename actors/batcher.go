package actors

import (
	"sync"
	"time"

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

// ship sends each shard its aggregated visits.
func (b *batcher) ship() {
	for i, m := range b.perShard {
		if len(m) == 0 {
			continue
		}
		rows := make([]storage.VisitCount, 0, len(m))
		var total uint64
		for k, v := range m {
			device, browser, os, country, bot := useragent.Unpack(k.dims)
			rows = append(rows, storage.VisitCount{
				VisitKey: storage.VisitKey{
					Code: k.code, Minute: k.minute, Referrer: k.ref,
					Device: device, Browser: browser, OS: os, Country: country, Bot: bot,
				},
				Visits: v,
			})
			total += v
		}
		clear(m)
		b.n.m.visitsBatched.Add(float64(total))
		b.n.sendTo(i, &visitsMsg{rows: rows})
	}
}

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

// stop ships what is left and stops the goroutine.
func (b *batcher) stop() {
	b.once.Do(func() { close(b.quit) })
	b.wg.Wait()
}
