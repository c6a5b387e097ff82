package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/valyala/fasthttp"

	"github.com/minibitly/minibitly/internal/harness"
)

// Config is one chaos run.
type Config struct {
	Bin           string        // minibitly binary
	WorkDir       string        // node data dirs and logs (the caller removes it)
	Links         int           // long-tail links, besides the hot one
	PhaseDuration time.Duration // each phase, load running
	Readers       int           // closed-loop redirect clients
	WriteRate     int           // creates/s, and as many edits/s
	Out           io.Writer     // the report
	Phases        []string      // the phases to run, in their order; empty: all
}

// ShortConfig is the quick run of `-short` and of the test.
func ShortConfig(out io.Writer) Config {
	return Config{Links: 2000, PhaseDuration: 5 * time.Second, Readers: 8, WriteRate: 20, Out: out}
}

// Result is what a run measured. OK is false when it found a fault.
type Result struct {
	Phases   []*PhaseResult
	Visits   VisitResult
	Failures []string
	// NodeMetrics: per node, the visit-routing counters since its last
	// start, read before the final drain.
	NodeMetrics []string
}

// OK reports whether nothing was lost or double counted, no unexpected 5xx
// came and every phase recovered.
func (r *Result) OK() bool { return len(r.Failures) == 0 }

// VisitResult compares the redirects answered (30x received in full) with
// what ClickHouse counted, per code.
type VisitResult struct {
	Answered uint64 // 30x answers received in full
	Unknown  uint64 // sent, no complete answer (timeout, broken connection): the node may have counted them
	Counted  uint64 // sum(visits) FINAL over the same codes
	Lost     uint64 // Σ max(0, answered − counted)
	Double   uint64 // Σ max(0, counted − answered − unknown)
	Extra    uint64 // Σ min(unknown, max(0, counted − answered)): unknown requests that were counted
}

const apiKey = "mb_chaos_key_0123456789abcdef"

// node is one minibitly process of the cluster.
type node struct {
	*harness.Node
	idx    int
	name   string
	addr   string // host:port of --http-addr
	gossip string
	client *fasthttp.HostClient // the load's: requestTimeout
	admin  *fasthttp.HostClient // setup and checks: longer requests (bulk creates)
}

type env struct {
	cfg   Config
	pg    *harness.Postgres
	ch    *harness.ClickHouse
	nodes []*node
}

// Run starts the servers and the cluster, runs every phase and the final
// count, prints the report to cfg.Out and returns it. An error means the
// run itself could not be carried out (a server did not start, a restart
// failed); faults of the system under test are Result.Failures.
func Run(cfg Config) (*Result, error) {
	if cfg.Readers < 1 || cfg.Links < 10 || cfg.PhaseDuration < 2*time.Second {
		return nil, fmt.Errorf("need at least 1 reader, 10 links and 2s per phase")
	}
	e := &env{cfg: cfg}
	defer e.close()
	t0 := time.Now()
	var err error
	if e.pg, err = harness.LaunchPostgres(); err != nil {
		return nil, err
	}
	if e.ch, err = harness.LaunchClickHouse(); err != nil {
		return nil, err
	}
	if err := e.startCluster(); err != nil {
		return nil, err
	}
	fmt.Fprintf(cfg.Out, "servers and 3 nodes up in %s\n", time.Since(t0).Round(time.Millisecond))
	t1 := time.Now()
	if err := e.createLinks(); err != nil {
		return nil, err
	}
	fmt.Fprintf(cfg.Out, "%d links + 1 hot link created in %s\n", cfg.Links, time.Since(t1).Round(time.Millisecond))

	var phases []phase
	for _, ph := range e.phases() {
		if len(cfg.Phases) == 0 || slices.Contains(cfg.Phases, ph.name) {
			phases = append(phases, ph)
		}
	}
	if len(phases) == 0 {
		return nil, fmt.Errorf("no phase among %v", cfg.Phases)
	}
	l := newLoad(e, phases)
	l.start()
	res := &Result{}
	for i, ph := range phases {
		pr, err := e.runPhase(l, i, ph)
		if pr != nil {
			res.Phases = append(res.Phases, pr)
		}
		if err != nil {
			l.stop()
			return res, fmt.Errorf("phase %s: %w", ph.name, err)
		}
	}
	l.stop()
	res.NodeMetrics = append(e.nodeMetrics(), fmt.Sprintf("membership changes noticed by the load generator (caches assumed dropped): %d", l.flaps.Load()))

	// Drain: a graceful stop flushes every node's visits before it exits.
	for _, n := range e.nodes {
		if err := n.Close(); err != nil {
			res.Failures = append(res.Failures, fmt.Sprintf("final graceful stop: %v", err))
		}
	}
	counted, err := e.countedByCode()
	if err != nil {
		return res, err
	}
	res.Visits = l.compare(counted)
	for i, pr := range res.Phases {
		l.summarize(i, pr)
		if pr.Unexpected5xx > 0 {
			res.Failures = append(res.Failures, fmt.Sprintf("phase %s: %d unexpected 5xx (first: %s)", pr.Name, pr.Unexpected5xx, pr.FirstUnexpected))
		}
		if pr.Recovery < 0 {
			res.Failures = append(res.Failures, fmt.Sprintf("phase %s: sample links not all served again within %s of the heal (last: %s)", pr.Name, recoveryTimeout, pr.RecoveryErr))
		}
	}
	if v := res.Visits; v.Lost > 0 || v.Double > 0 {
		res.Failures = append(res.Failures, fmt.Sprintf("visits: %d lost, %d double counted (of %d answered)", v.Lost, v.Double, v.Answered))
	}
	report(cfg.Out, res)
	if !res.OK() {
		e.printLogTails()
	}
	return res, nil
}

func (e *env) close() {
	for _, n := range e.nodes {
		n.Kill()
	}
	if e.ch != nil {
		e.ch.Close()
	}
	if e.pg != nil {
		e.pg.Close()
	}
}

func (e *env) startCluster() error {
	for i := 0; i < 3; i++ {
		name := fmt.Sprintf("n%d", i+1)
		ip := fmt.Sprintf("127.0.0.%d", i+1)
		var addrs [3]string
		for k := range addrs {
			a, err := netListen(ip)
			if err != nil {
				return err
			}
			addrs[k] = a
		}
		dataDir := filepath.Join(e.cfg.WorkDir, name)
		if err := os.MkdirAll(dataDir, 0o755); err != nil {
			return err
		}
		args := []string{
			"--node-name", name, "--http-addr", addrs[0], "--data-dir", dataDir,
			"--gossip-addr", addrs[1], "--remote-addr", addrs[2], "--gossip-profile", "fast",
			"--postgres-url", e.pg.URL(), "--clickhouse-url", e.ch.URL(),
			"--flush-interval", "500ms", "--batch-interval", "100ms",
			"--near-cache-ttl", "10m", "--api-rate", "0",
			// The load generator is one client address asking for many
			// uncached codes.
			"--miss-rate-limit", "off", "--log-level", "warn",
		}
		if i > 0 {
			args = append(args, "--join", e.nodes[0].gossip)
		}
		hn, err := harness.LaunchNode(harness.NodeConfig{Name: name, Bin: e.cfg.Bin, HTTPAddr: addrs[0], Args: args,
			Env: []string{"MINIBITLY_INITIAL_API_KEY=" + apiKey}, LogPath: filepath.Join(e.cfg.WorkDir, name+".log")})
		if err != nil {
			return err
		}
		e.nodes = append(e.nodes, &node{Node: hn, idx: i, name: name, addr: addrs[0], gossip: addrs[1], client: newClient(addrs[0], requestTimeout), admin: newClient(addrs[0], time.Minute)})
	}
	return e.waitMembers(3, 30*time.Second)
}

// clusterView is GET /api/v1/cluster.
type clusterView struct {
	Alive   int `json:"alive"`
	Members []struct {
		Name   string `json:"name"`
		Status string `json:"status"`
	} `json:"members"`
}

func (n *node) view() (clusterView, error) {
	var v clusterView
	st, body, err := n.call("GET", "/api/v1/cluster", nil, time.Second)
	if err != nil {
		return v, err
	}
	if st != 200 {
		return v, fmt.Errorf("%s: GET /api/v1/cluster: %d", n.name, st)
	}
	return v, json.Unmarshal(body, &v)
}

// status is how n lists member name ("" when not listed).
func (n *node) status(name string) (string, error) {
	v, err := n.view()
	if err != nil {
		return "", err
	}
	for _, m := range v.Members {
		if m.Name == name {
			return m.Status, nil
		}
	}
	return "", nil
}

// waitMembers polls until every running node sees want alive members.
func (e *env) waitMembers(want int, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return harness.Until(ctx, func() error {
		for _, n := range e.nodes {
			v, err := n.view()
			if err != nil {
				return err
			}
			if v.Alive != want {
				return fmt.Errorf("%s sees %d alive members, want %d", n.name, v.Alive, want)
			}
		}
		return nil
	})
}

// createLinks makes the long tail and the hot link with the bulk API
// (1000 per request, 4 in flight, over the three nodes).
func (e *env) createLinks() error {
	n := e.cfg.Links + 1 // the hot link is index Links
	const batch = 1000
	jobs := (n + batch - 1) / batch
	var wg sync.WaitGroup
	errs := make(chan error, jobs)
	next := make(chan int, jobs)
	for j := 0; j < jobs; j++ {
		next <- j
	}
	close(next)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for j := range next {
				var b strings.Builder
				b.WriteString(`{"links":[`)
				lo, hi := j*batch, min((j+1)*batch, n)
				for i := lo; i < hi; i++ {
					if i > lo {
						b.WriteByte(',')
					}
					c := codeOf(i, e.cfg.Links)
					fmt.Fprintf(&b, `{"url":"https://example.com/l/%s","code":"%s"}`, c, c)
				}
				b.WriteString("]}")
				nd := e.nodes[(w+j)%len(e.nodes)]
				st, body, err := nd.call("POST", "/api/v1/links/bulk", []byte(b.String()), 60*time.Second)
				if err == nil && st != 200 {
					err = fmt.Errorf("status %d: %.300s", st, body)
				}
				if err == nil {
					var out struct {
						Created int `json:"created"`
					}
					if err = json.Unmarshal(body, &out); err == nil && out.Created != hi-lo {
						err = fmt.Errorf("%d of %d created: %.300s", out.Created, hi-lo, body)
					}
				}
				if err != nil {
					errs <- fmt.Errorf("bulk create %d..%d on %s: %w", lo, hi, nd.name, err)
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	return errors.Join(collect(errs)...)
}

func collect(ch chan error) []error {
	var out []error
	for err := range ch {
		out = append(out, err)
	}
	return out
}

// codeOf is the code of link i: the tail t0000000…, the hot link "hot0link".
func codeOf(i, links int) string {
	if i == links {
		return "hot0link"
	}
	return fmt.Sprintf("t%07d", i)
}

// countedByCode is the exact total per code in ClickHouse, in the README's
// documented form (FINAL collapses retried flushes).
func (e *env) countedByCode() (map[string]uint64, error) {
	conn, err := clickhouse.Open(&clickhouse.Options{
		Addr:        []string{e.ch.Addr()},
		Auth:        clickhouse.Auth{Database: "default", Username: "default"},
		DialTimeout: 5 * time.Second,
	})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rows, err := conn.Query(ctx, "SELECT code, sum(visits) FROM minibitly.visits FINAL GROUP BY code")
	if err != nil {
		return nil, fmt.Errorf("clickhouse: %w", err)
	}
	defer rows.Close()
	out := map[string]uint64{}
	for rows.Next() {
		var code string
		var n uint64
		if err := rows.Scan(&code, &n); err != nil {
			return nil, err
		}
		out[code] = n
	}
	return out, rows.Err()
}

// printLogTails prints the last warnings and errors of every node's log
// (the audit lines left out), for a failed run.
func (e *env) printLogTails() {
	for _, n := range e.nodes {
		var lines []string
		for _, line := range strings.Split(n.Logs(), "\n") {
			if line != "" && !strings.Contains(line, `"msg":"audit"`) {
				lines = append(lines, line)
			}
		}
		lines = lines[max(0, len(lines)-15):]
		for i, line := range lines {
			if len(line) > 300 {
				lines[i] = line[:300] + "…"
			}
		}
		fmt.Fprintf(e.cfg.Out, "\n--- %s log: last warnings and errors ---\n%s\n", n.name, strings.Join(lines, "\n"))
		// A -race binary's reports are plain text: print the first whole.
		if logs := n.Logs(); strings.Contains(logs, "WARNING: DATA RACE") {
			r := logs[strings.Index(logs, "WARNING: DATA RACE"):]
			if end := strings.Index(r, "\n==================\n"); end > 0 {
				r = r[:end]
			}
			fmt.Fprintf(e.cfg.Out, "\n--- %s: data race ---\n%s\n", n.name, r)
		}
	}
}

// routingMetrics are the counters that explain a lost or double-counted
// visit (README "Operations").
var routingMetrics = []string{
	"minibitly_actors_visits_sent_remote_total", "minibitly_actors_visits_rerouted_total",
	"minibitly_actors_remote_batch_resends_total", "minibitly_actors_remote_batch_duplicates_total",
	"minibitly_actors_remote_batches_refused_total", "minibitly_actors_visits_at_risk_total",
	"minibitly_actors_visits_dropped_total",
}

// nodeMetrics reads routingMetrics from every node, one line per node.
func (e *env) nodeMetrics() []string {
	var out []string
	for _, n := range e.nodes {
		st, body, err := n.call("GET", "/metrics", nil, 5*time.Second)
		if err != nil || st != 200 {
			out = append(out, fmt.Sprintf("%s: /metrics: %d %v", n.name, st, err))
			continue
		}
		var parts []string
		for _, line := range strings.Split(string(body), "\n") {
			for _, m := range routingMetrics {
				if v, ok := strings.CutPrefix(line, m+" "); ok {
					parts = append(parts, strings.TrimSuffix(strings.TrimPrefix(m, "minibitly_actors_"), "_total")+"="+v)
				}
			}
		}
		out = append(out, n.name+": "+strings.Join(parts, " "))
	}
	return out
}
