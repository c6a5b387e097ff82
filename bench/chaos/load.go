package main

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// requestTimeout bounds one request of the load (and of the probes): a
// request to a frozen node fails after it.
const requestTimeout = 2 * time.Second

// newClient is a keep-alive client of one node that never re-sends a
// request by itself: fasthttp (like net/http) retries an idempotent request
// whose connection broke, which would hide a redirect the dying node may
// have counted.
func newClient(addr string, timeout time.Duration) *fasthttp.HostClient {
	return &fasthttp.HostClient{
		Addr:                      addr,
		MaxConns:                  4096,
		ReadTimeout:               timeout,
		WriteTimeout:              timeout,
		MaxIdemponentCallAttempts: 1,
		RetryIfErr:                func(*fasthttp.Request, int, error) (bool, bool) { return false, false },
		Dial: func(addr string) (net.Conn, error) {
			return net.DialTimeout("tcp", addr, time.Second)
		},
	}
}

func netListen(ip string) (string, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return "", fmt.Errorf("free port on %s: %w", ip, err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// call sends one request (admin key) and returns status and body.
func (n *node) call(method, path string, body []byte, timeout time.Duration) (int, []byte, error) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(method)
	req.SetRequestURI("http://" + n.addr + path)
	req.Header.Set("Authorization", "Bearer "+apiKey)
	if body != nil {
		req.Header.SetContentType("application/json")
		req.SetBodyRaw(body)
	}
	c := n.client
	if timeout > requestTimeout {
		c = n.admin // the client's read timeout would cut it
	}
	if err := c.DoTimeout(req, resp, timeout); err != nil {
		return 0, nil, err
	}
	return resp.StatusCode(), append([]byte(nil), resp.Body()...), nil
}

// Kinds of transport errors. refused: the request never reached a node
// (connection refused, dial failed): not a visit. timeout and broken: the
// request was sent but no complete answer came: the node may have counted
// it, so it is "unknown".
const (
	errRefused = iota
	errTimeout
	errBroken
	nErrKinds
)

func classify(err error) int {
	var op *net.OpError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED), errors.As(err, &op) && op.Op == "dial",
		errors.Is(err, fasthttp.ErrDialTimeout), errors.Is(err, fasthttp.ErrNoFreeConns):
		return errRefused
	case errors.Is(err, fasthttp.ErrTimeout), errors.Is(err, os.ErrDeadlineExceeded):
		return errTimeout
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return errTimeout
	}
	return errBroken
}

const (
	opRead = iota
	opCreate
	opEdit
	nOps
)

var opNames = [nOps]string{"redirect", "create", "edit"}

// phaseStats are the counters of one phase.
type phaseStats struct {
	sent      atomic.Uint64
	ok        atomic.Uint64 // 30x redirects, 2xx writes
	transport [nErrKinds]atomic.Uint64
	status    [nOps][600]atomic.Uint64
	exp5xx    atomic.Uint64
	unexp5xx  atomic.Uint64

	mu         sync.Mutex
	firstUnexp string
	lat        []time.Duration // of the 30x redirects
}

// load is the campaign load: readers (hot link + Zipf tail), a creator and
// an editor, all spread over the nodes.
type load struct {
	e     *env
	links int // tail size; index links is the hot link

	phase  atomic.Int32
	phases []*phaseStats
	rules  []expectation

	answered []atomic.Uint64 // per link index: 30x received in full
	unknown  []atomic.Uint64 // per link index: sent, no complete answer
	// served[n][i]: node n answered link i with a 30x since its caches
	// were last dropped, so it holds the link (near-cache, TTL 10m).
	served [][]atomic.Bool
	edited []atomic.Bool // link i was edited (its caches invalidated)

	// changes is each node's minibitly_cluster_member_changes_total when
	// last looked at (membershipMoved).
	changesMu sync.Mutex
	changes   []string
	flaps     atomic.Uint64 // membership changes seen, expected or not

	quit chan struct{}
	wg   sync.WaitGroup
}

// newLoad is the load of the phases run, in order.
func newLoad(e *env, phases []phase) *load {
	n := e.cfg.Links + 1
	l := &load{e: e, links: e.cfg.Links, answered: make([]atomic.Uint64, n), unknown: make([]atomic.Uint64, n),
		edited: make([]atomic.Bool, n), quit: make(chan struct{})}
	for range e.nodes {
		l.served = append(l.served, make([]atomic.Bool, n))
	}
	for _, ph := range phases {
		l.phases = append(l.phases, &phaseStats{})
		l.rules = append(l.rules, expectationOf(ph.name))
	}
	return l
}

// forget records that node idx (all nodes when idx < 0) dropped its caches.
func (l *load) forget(idx int) {
	for n := range l.served {
		if idx < 0 || n == idx {
			for i := range l.served[n] {
				l.served[n][i].Store(false)
			}
		}
	}
}

func (l *load) start() {
	for w := 0; w < l.e.cfg.Readers; w++ {
		l.wg.Add(1)
		go l.reader(w)
	}
	l.membershipMoved()
	l.wg.Add(3)
	go l.creator()
	go l.editor()
	go l.watchMembership()
}

// membershipMoved reports whether any node saw a membership event since
// the last call. Any event may be a member back from the dead, after which
// every node drops its cached links: so it forgets what every node held
// (a false alarm of the failure detector under load is such an event too).
// A node that does not answer keeps its last value.
func (l *load) membershipMoved() bool {
	l.changesMu.Lock()
	defer l.changesMu.Unlock()
	if l.changes == nil {
		l.changes = make([]string, len(l.e.nodes))
	}
	moved := false
	for i, n := range l.e.nodes {
		st, body, err := n.call("GET", "/metrics", nil, 500*time.Millisecond)
		if err != nil || st != 200 {
			continue
		}
		v := ""
		for _, line := range strings.Split(string(body), "\n") {
			if c, ok := strings.CutPrefix(line, "minibitly_cluster_member_changes_total "); ok {
				v = c
			}
		}
		if v != l.changes[i] {
			moved = moved || l.changes[i] != ""
			l.changes[i] = v
		}
	}
	if moved {
		l.flaps.Add(1)
		l.forget(-1)
	}
	return moved
}

// watchMembership calls membershipMoved four times a second.
func (l *load) watchMembership() {
	defer l.wg.Done()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-l.quit:
			return
		case <-tick.C:
		}
		l.membershipMoved()
	}
}

func (l *load) stop() {
	select {
	case <-l.quit:
	default:
		close(l.quit)
	}
	l.wg.Wait()
}

func (l *load) stopped() bool {
	select {
	case <-l.quit:
		return true
	default:
		return false
	}
}

// hotShare of the redirects go to the hot link, the rest to the tail.
const hotShare = 0.5

func (l *load) reader(w int) {
	defer l.wg.Done()
	r := rand.New(rand.NewPCG(uint64(w), 0x5eed))
	zipf := rand.NewZipf(r, 1.1, 1, uint64(l.links-1))
	var lat []time.Duration
	ph := l.phase.Load()
	flush := func() {
		s := l.phases[ph]
		s.mu.Lock()
		s.lat = append(s.lat, lat...)
		s.mu.Unlock()
		lat = lat[:0]
	}
	defer flush()
	for i := 0; !l.stopped(); i++ {
		if p := l.phase.Load(); p != ph {
			flush()
			ph = p
		}
		idx := l.links
		if r.Float64() >= hotShare {
			idx = int(zipf.Uint64())
		}
		nd := l.e.nodes[(w+i)%len(l.e.nodes)]
		d, ok, failed := l.redirect(nd, idx, l.phases[ph], int(ph))
		if ok {
			lat = append(lat, d)
		}
		if failed {
			time.Sleep(5 * time.Millisecond) // a client backs off from a dead node
		}
	}
}

// redirect GETs link idx on nd and records the outcome in s (nil: a probe,
// counted as visits only). It returns the latency, whether it was a 30x,
// and whether it failed in transport.
func (l *load) redirect(nd *node, idx int, s *phaseStats, ph int) (time.Duration, bool, bool) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://" + nd.addr + "/" + codeOf(idx, l.links))
	req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36")
	t0 := time.Now()
	err := nd.client.Do(req, resp)
	d := time.Since(t0)
	if s != nil {
		s.sent.Add(1)
	}
	if err != nil {
		kind := classify(err)
		if kind != errRefused {
			l.unknown[idx].Add(1)
		}
		if s != nil {
			s.transport[kind].Add(1)
		}
		return d, false, true
	}
	st := resp.StatusCode()
	ok := st >= 300 && st <= 399
	if ok {
		// fasthttp returns once the whole response is read: answered.
		l.answered[idx].Add(1)
		l.served[nd.idx][idx].Store(true)
	}
	if s != nil {
		l.record(s, ph, opRead, nd, idx, st, resp.Body(), ok)
	}
	return d, ok, false
}

// record counts a complete answer and judges a 5xx against the phase's
// expectations.
func (l *load) record(s *phaseStats, ph, op int, nd *node, idx int, st int, body []byte, ok bool) {
	if ok {
		s.ok.Add(1)
	}
	if st > 0 && st < 600 {
		s.status[op][st].Add(1)
	}
	if st < 500 {
		return
	}
	// A 503 of a link the node held may follow a membership event the
	// watcher has not seen yet (caches dropped): look once more.
	if l.rules[ph].allows(l, op, nd, idx, st) || (op == opRead && l.rules[ph].uncached503 && l.membershipMoved()) {
		s.exp5xx.Add(1)
		return
	}
	s.unexp5xx.Add(1)
	s.mu.Lock()
	if s.firstUnexp == "" {
		what := "write"
		if op == opRead {
			what = "/" + codeOf(idx, l.links)
		}
		s.firstUnexp = fmt.Sprintf("%s %s on %s: %d %.120q", opNames[op], what, nd.name, st, body)
	}
	s.mu.Unlock()
}

// write sends one create or edit and records it.
func (l *load) write(op int, nd *node, method, path string, body []byte, idx int) {
	ph := int(l.phase.Load())
	s := l.phases[ph]
	s.sent.Add(1)
	st, resp, err := nd.call(method, path, body, requestTimeout)
	if err != nil {
		s.transport[classify(err)].Add(1)
		return
	}
	l.record(s, ph, op, nd, idx, st, resp, st >= 200 && st <= 299)
}

// every calls f about rate times a second until the load stops.
func (l *load) every(rate int, f func(i int)) {
	defer l.wg.Done()
	if rate <= 0 {
		return
	}
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-l.quit:
			return
		case <-tick.C:
		}
		f(i)
	}
}

func (l *load) creator() {
	l.every(l.e.cfg.WriteRate, func(i int) {
		code := fmt.Sprintf("w%07d", i)
		body := fmt.Appendf(nil, `{"url":"https://example.com/new/%s","code":"%s"}`, code, code)
		l.write(opCreate, l.e.nodes[i%len(l.e.nodes)], "POST", "/api/v1/links", body, -1)
	})
}

// editor PATCHes the destination of random links of the tail's second half
// (never the hot link). A link is marked edited before the request, since
// the edit may commit even if its answer is lost: its caches are dropped.
func (l *load) editor() {
	r := rand.New(rand.NewPCG(99, 0x5eed))
	l.every(l.e.cfg.WriteRate, func(i int) {
		idx := l.links/2 + r.IntN(l.links-l.links/2)
		l.edited[idx].Store(true)
		code := codeOf(idx, l.links)
		body := fmt.Appendf(nil, `{"url":"https://example.com/edited/%s/%d"}`, code, i)
		l.write(opEdit, l.e.nodes[(i+1)%len(l.e.nodes)], "PATCH", "/api/v1/links/"+code, body, idx)
	})
}

// compare sets the answered redirects per code against counted.
func (l *load) compare(counted map[string]uint64) VisitResult {
	var v VisitResult
	known := map[string]bool{}
	for i := range l.answered {
		code := codeOf(i, l.links)
		known[code] = true
		a, u, c := l.answered[i].Load(), l.unknown[i].Load(), counted[code]
		v.Answered += a
		v.Unknown += u
		v.Counted += c
		switch {
		case c < a:
			v.Lost += a - c
		case c > a+u:
			v.Double += c - a - u
			v.Extra += u
		default:
			v.Extra += c - a
		}
	}
	// Visits of codes the load never redirected (the created ones) are
	// counted twice by definition; orphan visits (~…) come from 404s.
	for code, c := range counted {
		if !known[code] && (len(code) == 0 || code[0] != '~') {
			v.Counted += c
			v.Double += c
		}
	}
	return v
}

func percentile(s []time.Duration, q float64) time.Duration {
	if len(s) == 0 {
		return 0
	}
	return s[int(q*float64(len(s)-1))]
}

func sortDurations(s []time.Duration) {
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
}
