package actors

import (
	"context"
	"slices"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/minibitly/minibitly/cluster"
	"github.com/minibitly/minibitly/internal/useragent"
	"github.com/minibitly/minibitly/internal/visitlog"
	"github.com/minibitly/minibitly/proto/clusterpb"
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

// VisitRing is the gateway's visit log as the batcher consumes it
// (internal/visitlog.Log): Drain hands out what was recorded, Commit frees
// the slots once their visits are in the journal (or, without one, at
// once).
type VisitRing interface {
	Drain(fn func(code []byte, minute int64, dims uint32, ref []byte)) int
	Drained() visitlog.Mark
	Commit(mark visitlog.Mark)
}

// batcherDeps are what the batcher needs: where visits come from, where
// they go, the journal, and its metric. It knows nothing of actors.
type batcherDeps struct {
	ring VisitRing
	// shards is the number of local shards; shardOf maps a code to one.
	shards  int
	shardOf func(code string) int
	// toShard hands rows to a local shard.
	toShard func(shard int, rows []storage.VisitCount)
	// drains asks every shard for its pending rows and returns where each
	// answers.
	drains func() []chan []storage.VisitCount
	// placement returns the current placement and this node's member name;
	// nil for a single node (every code is local).
	placement func() (*cluster.Placement, string)
	// toOwner delivers a part for a code owned by another member
	// (asynchronous, acknowledged, see visitSender).
	toOwner func(p *remotePart)
	// from stamps the parts sent to other nodes (with a sequence).
	from string
	j    *journal
	now  func() time.Time
	m    batchMetrics
	im   inboxMetrics
}

// batcher is the single consumer of the visit log: it aggregates visits per
// shard and ships them to the shards (or their owners) every BatchInterval.
// The aggregation state is touched by its own goroutine only (run), or by a
// test that calls drainLog and ship without running it.
//
// It is also the one door into this node's shards: every row that enters
// them (a ship's, a batch from another node, a part counted here after all)
// is journaled and handed on under applyMu, and collect takes applyMu
// too, so a collect holds exactly the rows of the records applied before
// it (see journal).
type batcher struct {
	d        batcherDeps
	interval time.Duration
	perShard []map[aggKey]uint64
	refs     map[string]string
	codes    map[string]string
	lower    [maxReferrerBytes]byte
	partSeq  uint64

	// held and late are the flusher's (collect): rows of a collect that did
	// not complete, and the shards' answers still awaited.
	held []storage.VisitCount
	late []chan []storage.VisitCount

	applyMu     sync.Mutex
	lastApplied uint64        // id of the last record applied to the shards
	lastMark    visitlog.Mark // the rings' mark in the newest ship record
	in          inbox

	flushReq chan chan struct{}
	quit     chan struct{}
	quitOnce sync.Once
	r        routines
}

func newBatcher(d batcherDeps, interval time.Duration) *batcher {
	if d.now == nil {
		d.now = time.Now
	}
	b := &batcher{
		d:        d,
		interval: interval,
		perShard: make([]map[aggKey]uint64, d.shards),
		refs:     make(map[string]string),
		codes:    make(map[string]string),
		flushReq: make(chan chan struct{}),
		quit:     make(chan struct{}),
		// Part sequences start at the clock so a restarted node never
		// reuses one its peers still remember.
		partSeq: uint64(time.Now().UnixNano()),
	}
	for i := range b.perShard {
		b.perShard[i] = make(map[aggKey]uint64)
	}
	return b
}

func (b *batcher) start() { b.r.start(b.run) }

func (b *batcher) run() {
	drain := time.NewTicker(drainEvery)
	defer drain.Stop()
	ship := time.NewTicker(b.interval)
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
	b.d.ring.Drain(b.add)
	if !b.d.j.enabled() {
		// Without a journal a slot is free once its visit is aggregated.
		b.d.ring.Commit(b.d.ring.Drained())
	}
}

// maxCodes bounds the code intern table; it is reset when full.
const maxCodes = 1_000_000

func (b *batcher) add(code []byte, minute int64, dims uint32, ref []byte) {
	c, ok := b.codes[string(code)]
	if !ok {
		if len(b.codes) >= maxCodes {
			clear(b.codes)
		}
		c = string(code)
		b.codes[c] = c
	}
	k := aggKey{code: c, minute: minute, dims: dims, ref: b.intern(ref)}
	b.perShard[b.d.shardOf(c)][k]++
}

// intern returns the cleaned referrer host (cleanReferrer) as a shared
// string; a header with nothing of a host left counts as
// storage.OtherReferrer.
func (b *batcher) intern(ref []byte) string {
	if len(ref) == 0 {
		return ""
	}
	buf := cleanReferrer(b.lower[:0], ref)
	if len(buf) == 0 {
		return storage.OtherReferrer
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

// maxReferrerBytes bounds a stored referrer host: the visit ring's slot.
const maxReferrerBytes = visitlog.MaxReferrer

// cleanReferrer appends to dst the host of a Referer header as stored:
// ASCII lower-cased; only the characters of a host name or address kept
// (letters, digits, '-', '.', '_', and '[', ']', ':' of an IPv6 literal,
// plus the letters, marks and digits of an internationalised name); every
// other byte, and invalid UTF-8, dropped; at most maxReferrerBytes, cut on
// a UTF-8 boundary. A host with a '%' (percent-encoding: no browser sends
// one, and decoding is not this hot loop's job) keeps nothing, so it counts
// as storage.OtherReferrer.
func cleanReferrer(dst, ref []byte) []byte {
	start := len(dst)
	for len(ref) > 0 {
		c := ref[0]
		if c < utf8.RuneSelf {
			ref = ref[1:]
			switch {
			case c >= 'A' && c <= 'Z':
				c += 'a' - 'A'
			case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '.', c == '_', c == '[', c == ']', c == ':':
			case c == '%':
				return dst[:start]
			default:
				continue
			}
			if len(dst) >= maxReferrerBytes {
				return dst
			}
			dst = append(dst, c)
			continue
		}
		r, n := utf8.DecodeRune(ref)
		rb := ref[:n]
		ref = ref[n:]
		if r == utf8.RuneError || !(unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)) {
			continue
		}
		if len(dst)+n > maxReferrerBytes {
			return dst
		}
		dst = append(dst, rb...)
	}
	return dst
}

// ship sends each shard its aggregated visits; in a cluster, visits of
// codes owned by other nodes go to those owners, one part per owner. The
// whole ship is one journal record, written before the rings' slots are
// freed.
func (b *batcher) ship() {
	var p *cluster.Placement
	var self string
	if b.d.placement != nil {
		p, self = b.d.placement()
	}
	var remote map[string]*remotePart
	var parts []*remotePart
	local := make([][]storage.VisitCount, len(b.perShard))
	var all []storage.VisitCount
	var total uint64
	for i, m := range b.perShard {
		if len(m) == 0 {
			continue
		}
		rows := make([]storage.VisitCount, 0, len(m))
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
						remote = map[string]*remotePart{}
					}
					rp := remote[owner.Name]
					if rp == nil {
						b.partSeq++
						rp = &remotePart{idx: len(parts), owner: owner, from: b.d.from, seq: b.partSeq}
						remote[owner.Name] = rp
						parts = append(parts, rp)
					}
					rp.rows = append(rp.rows, r)
					rp.visits += v
					continue
				}
			}
			rows = append(rows, r)
			total += v
		}
		clear(m)
		local[i] = rows
		all = append(all, rows...)
	}
	mark := b.d.ring.Drained()
	b.applyMu.Lock()
	if b.d.j.enabled() && (len(all) > 0 || len(parts) > 0 || !slices.Equal(mark, b.lastMark)) {
		if id := b.d.j.ship(mark, all, parts); id != 0 && len(all) > 0 {
			b.lastApplied = id
		}
		b.lastMark = mark
	}
	b.d.ring.Commit(mark)
	b.d.m.visitsBatched.Add(float64(total))
	for i, rows := range local {
		if len(rows) > 0 {
			b.d.toShard(i, rows)
		}
	}
	b.applyMu.Unlock()
	for _, rp := range parts {
		b.d.toOwner(rp)
	}
}

// applyLocalLocked hands rows to this node's shards; applyMu is held.
func (b *batcher) applyLocalLocked(rows []storage.VisitCount) {
	byShard := map[int][]storage.VisitCount{}
	for _, r := range rows {
		i := b.d.shardOf(r.Code)
		byShard[i] = append(byShard[i], r)
	}
	for i, rs := range byShard {
		b.d.toShard(i, rs)
	}
}

// replay applies the rows a journal read back at start still owes to the
// shards (before the batcher starts).
func (b *batcher) replay(r replayed) {
	b.applyMu.Lock()
	defer b.applyMu.Unlock()
	for _, l := range r.local {
		b.applyLocalLocked(l.rows)
	}
	b.lastApplied = max(b.lastApplied, r.lastID)
	b.lastMark = r.mark
	if r.mark != nil {
		// The ship record is written before the rings' slots are freed:
		// the visits up to its mark are in it.
		b.d.ring.Commit(r.mark)
	}
	for _, id := range r.inbox {
		b.in.remember(id, b.d.now())
	}
}

// reroute counts a part here whose owner did not take it.
func (b *batcher) reroute(p *remotePart) {
	b.applyMu.Lock()
	defer b.applyMu.Unlock()
	if id := b.d.j.rerouted(p); id != 0 {
		b.lastApplied = id
	}
	b.applyLocalLocked(p.rows)
}

// receive judges a visit batch from another node: a new one is journaled,
// applied to the shards and acknowledged; one applied before is
// acknowledged again; a late one, or any once closed, is refused (its
// sender counts it).
func (b *batcher) receive(m *clusterpb.VisitBatch) *clusterpb.VisitAck {
	b.applyMu.Lock()
	defer b.applyMu.Unlock()
	switch b.in.judge(m, b.d.now()) {
	case verdictDuplicate:
		b.d.im.duplicates.Inc()
		return &clusterpb.VisitAck{Seq: m.Seq, Applied: true}
	case verdictRefuse:
		b.d.im.refused.Inc()
		return &clusterpb.VisitAck{Seq: m.Seq, Applied: false}
	}
	rows := rowsFromProto(m.Rows)
	id, ok := b.d.j.recv(m.From, m.Seq, rows)
	if !ok {
		b.in.forget(batchID{from: m.From, seq: m.Seq})
		b.d.im.refused.Inc()
		return &clusterpb.VisitAck{Seq: m.Seq, Applied: false}
	}
	if id != 0 {
		b.lastApplied = id
	}
	b.applyLocalLocked(rows)
	return &clusterpb.VisitAck{Seq: m.Seq, Applied: true}
}

// closeInbox refuses every visit batch from other nodes from now on.
func (b *batcher) closeInbox() {
	b.applyMu.Lock()
	b.in.closed = true
	b.applyMu.Unlock()
}

// collectWait bounds how long a collect waits for the shards' answers.
const collectWait = 30 * time.Second

// collect takes every shard's pending rows and the id of the last record
// applied before the drain requests: the flusher's source. The requests
// are sent under applyMu, so each shard's answer holds exactly the rows of
// the records up to that id (mailboxes are FIFO), and the answers are
// awaited without it. When a shard does not answer in time (or ctx ends)
// nothing is returned: the rows received are held, the answers still
// awaited are kept, and both join the next collect. So a flush record's
// upTo always means every row up to it is in a flush record. Only the
// flusher calls it.
func (b *batcher) collect(ctx context.Context) ([]storage.VisitCount, uint64) {
	b.applyMu.Lock()
	upTo := b.lastApplied
	b.late = append(b.late, b.d.drains()...)
	b.applyMu.Unlock()
	t := time.NewTimer(collectWait)
	defer t.Stop()
	for len(b.late) > 0 {
		select {
		case rows := <-b.late[0]:
			b.held = append(b.held, rows...)
			b.late = b.late[1:]
		case <-t.C:
			return nil, 0
		case <-ctx.Done():
			return nil, 0
		}
	}
	rows := b.held
	b.held = nil
	return rows, upTo
}

// flush ships everything recorded so far and returns when it has been
// handed on (to the shards' mailboxes, or to the visit sender).
func (b *batcher) flush() {
	done := make(chan struct{})
	select {
	case b.flushReq <- done:
		<-done
	case <-b.quit:
	}
}

// stop ships what is left and waits for the goroutine. Safe to call more
// than once.
func (b *batcher) stop() {
	b.r.close()
	b.quitOnce.Do(func() { close(b.quit) })
	b.r.wait()
}
