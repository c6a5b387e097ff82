package actors

import (
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/minibitly/minibitly/cluster"
	"github.com/minibitly/minibitly/internal/useragent"
	"github.com/minibitly/minibitly/internal/visitlog"
	"github.com/minibitly/minibitly/storage"
)

// drainEvery is how often the batcher empties the visit log.
const drainEvery = 5 * time.Millisecond

// maxReferrers bounds the referrer intern table; it is reset when full.
const maxReferrers = 100_000

// maxCodes bounds the code intern table; it is reset when full.
const maxCodes = 1_000_000

type aggKey struct {
	code   string
	minute int64
	dims   uint32
	ref    string
}

// batcherDeps are what the batcher needs: where visits come from, where
// they go, and its metric. It knows nothing of actors.
type batcherDeps struct {
	// drain empties the gateway's visit log into fn (visitlog.Log.Drain);
	// commit then frees the drained slots (visitlog.Log.CommitDrained).
	drain  func(fn func(code []byte, minute int64, dims uint32, ref []byte)) int
	commit func()
	// shards is the number of local shards; shardOf maps a code to one.
	shards  int
	shardOf func(code string) int
	// toShard hands rows to a local shard.
	toShard func(shard int, rows []storage.VisitCount)
	// placement returns the current placement and this node's member name;
	// nil for a single node (every code is local).
	placement func() (*cluster.Placement, string)
	// toOwner delivers rows of codes owned by another member (asynchronous,
	// acknowledged, see visitSender).
	toOwner func(owner cluster.Member, rows []storage.VisitCount, visits uint64)
	m       batchMetrics
}

// batcher is the single consumer of the visit log: it aggregates visits per
// shard and ships them to the shards (or their owners) every BatchInterval.
// Its state is touched by its own goroutine only (run), or by a test that
// calls drainLog and ship without running it.
type batcher struct {
	d        batcherDeps
	interval time.Duration
	perShard []map[aggKey]uint64
	refs     map[string]string
	codes    map[string]string
	lower    [maxReferrerBytes]byte

	flushReq chan chan struct{}
	quit     chan struct{}
	quitOnce sync.Once
	r        routines
}

func newBatcher(d batcherDeps, interval time.Duration) *batcher {
	b := &batcher{
		d:        d,
		interval: interval,
		perShard: make([]map[aggKey]uint64, d.shards),
		refs:     make(map[string]string),
		codes:    make(map[string]string),
		flushReq: make(chan chan struct{}),
		quit:     make(chan struct{}),
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
	b.d.drain(b.add)
	b.d.commit()
}

func (b *batcher) add(code []byte, minute int64, dims uint32, ref []byte) {
	c := b.internCode(code)
	k := aggKey{code: c, minute: minute, dims: dims, ref: b.intern(ref)}
	b.perShard[b.d.shardOf(c)][k]++
}

// internCode returns code as a shared string (the visit log's bytes are only
// valid during the drain callback).
func (b *batcher) internCode(code []byte) string {
	if s, ok := b.codes[string(code)]; ok {
		return s
	}
	if len(b.codes) >= maxCodes {
		clear(b.codes)
	}
	s := string(code)
	b.codes[s] = s
	return s
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
// codes owned by other nodes go to those owners, one batch per owner.
func (b *batcher) ship() {
	var p *cluster.Placement
	var self string
	if b.d.placement != nil {
		p, self = b.d.placement()
	}
	type ownerBatch struct {
		owner  cluster.Member
		rows   []storage.VisitCount
		visits uint64
	}
	var remote map[string]*ownerBatch
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
						remote = map[string]*ownerBatch{}
					}
					ob := remote[owner.Name]
					if ob == nil {
						ob = &ownerBatch{owner: owner}
						remote[owner.Name] = ob
					}
					ob.rows = append(ob.rows, r)
					ob.visits += v
					continue
				}
			}
			rows = append(rows, r)
			total += v
		}
		clear(m)
		b.d.m.visitsBatched.Add(float64(total))
		if len(rows) > 0 {
			b.d.toShard(i, rows)
		}
	}
	for _, ob := range remote {
		b.d.toOwner(ob.owner, ob.rows, ob.visits)
	}
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
