package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/minibitly/minibitly/internal/harness"
)

// expectation is what the documentation promises during one phase (README
// "Operations", docs/architecture.md "Cluster"); the same table is in
// docs/chaos.md. A 5xx the row does not allow fails the run. Transport
// errors (refused, timeout, broken) are never failures: a node that is
// down or frozen cannot answer; they are reported, and requests that got
// no complete answer are "unknown" visits.
type expectation struct {
	Phase, Fault, Redirects, Writes string
	// write503: creates and edits may answer 503.
	write503 bool
	// uncached503: a redirect may answer 503 when the node did not hold the
	// link: it had not answered it with a 30x since its caches were last
	// dropped (start, restart, a member back from the dead), or the link
	// was edited (the edit invalidated it everywhere).
	uncached503 bool
}

var expectations = []expectation{
	{Phase: "baseline", Fault: "none", Redirects: "30x, no 5xx", Writes: "no 5xx"},
	{Phase: "kill", Fault: "SIGKILL n3, restart on its data dir", Redirects: "no 5xx (n3 itself: transport errors until it is back)", Writes: "no 5xx"},
	{Phase: "stop", Fault: "SIGSTOP n2 until n1 lists it dead, then SIGCONT", Redirects: "no 5xx (n2 itself: timeouts)", Writes: "no 5xx"},
	{Phase: "clickhouse", Fault: "ClickHouse stopped, restarted", Redirects: "no 5xx at all", Writes: "no 5xx"},
	{Phase: "postgres", Fault: "PostgreSQL stopped, restarted", Redirects: "cached links: no 5xx; uncached or edited links: 503 allowed", Writes: "503 allowed", write503: true, uncached503: true},
	{Phase: "leave-join", Fault: "SIGTERM n3 (graceful leave), restart (join)", Redirects: "no 5xx (n3 itself: transport errors while away)", Writes: "no 5xx"},
}

// expectationOf is the row of phase name.
func expectationOf(name string) expectation {
	for _, x := range expectations {
		if x.Phase == name {
			return x
		}
	}
	panic("no expectation for phase " + name)
}

func (x expectation) allows(l *load, op int, nd *node, idx, st int) bool {
	if st != 503 {
		return false
	}
	if op != opRead {
		return x.write503
	}
	return x.uncached503 && (!l.served[nd.idx][idx].Load() || l.edited[idx].Load())
}

// phase is one fault: inject it, hold it, heal it. Each returns a note for
// the report. forgetAll: healing makes every node drop its caches (a
// member that comes back from the dead makes every node clear them).
type phase struct {
	name      string
	inject    func() (string, error)
	heal      func() (string, error)
	forgetAll bool
}

func took(t0 time.Time) string { return time.Since(t0).Round(10 * time.Millisecond).String() }

func (e *env) phases() []phase {
	n1, n2, n3 := e.nodes[0], e.nodes[1], e.nodes[2]
	relaunch := func(n *node) func() (string, error) {
		return func() (string, error) {
			t0 := time.Now()
			if err := n.Relaunch(); err != nil {
				return "", err
			}
			return fmt.Sprintf("%s ready %s after the restart", n.name, took(t0)), nil
		}
	}
	return []phase{
		{name: "baseline"},
		{name: "kill", inject: func() (string, error) { n3.Kill(); return "", nil }, heal: relaunch(n3), forgetAll: true},
		{name: "stop", inject: func() (string, error) {
			if err := n2.Pause(); err != nil {
				return "", err
			}
			t0 := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err := harness.Until(ctx, func() error {
				st, err := n1.status(n2.name)
				if err == nil && st != "dead" {
					err = fmt.Errorf("n1 lists n2 as %q", st)
				}
				return err
			})
			if err != nil {
				return "", fmt.Errorf("SIGSTOPped n2 never declared dead: %w", err)
			}
			return "n2 declared dead by n1 " + took(t0) + " after SIGSTOP", nil
		}, heal: func() (string, error) { return "", n2.Resume() }, forgetAll: true},
		{name: "clickhouse", inject: func() (string, error) {
			t0 := time.Now()
			err := e.ch.Halt()
			return "ClickHouse stop took " + took(t0), err
		}, heal: func() (string, error) {
			t0 := time.Now()
			err := e.ch.Relaunch()
			return "ClickHouse answering " + took(t0) + " after the restart", err
		}},
		{name: "postgres", inject: func() (string, error) { return "", e.pg.Halt() }, heal: func() (string, error) {
			t0 := time.Now()
			err := e.pg.Relaunch()
			return "PostgreSQL answering " + took(t0) + " after the restart", err
		}},
		{name: "leave-join", inject: func() (string, error) {
			t0 := time.Now()
			if err := n3.Close(); err != nil {
				return "", err
			}
			return "n3 left and exited 0 in " + took(t0), nil
		}, heal: relaunch(n3), forgetAll: true},
	}
}

// recoveryTimeout bounds the wait for every sample link to be served again.
const recoveryTimeout = 60 * time.Second

// PhaseResult is one row of the report.
type PhaseResult struct {
	Name, Fault             string
	Sent, OK                uint64
	Refused, Timeout        uint64
	Broken, Status4xx       uint64
	Expected5xx             uint64
	Unexpected5xx           uint64
	FirstUnexpected         string
	P50, P99                time.Duration
	Recovery                time.Duration // -1: never
	RecoveryErr             string
	Notes                   []string
	Statuses                string
	injectedAt, recoveredAt time.Time
}

func sleepUntil(t time.Time) { time.Sleep(time.Until(t)) }

// runPhase runs one phase with the load running: a fifth of the phase
// without fault, the fault for 2/5 of it (at least 2.5 s, and for SIGSTOP
// until the node is declared dead), the heal, then the recovery probe and
// the rest of the phase.
func (e *env) runPhase(l *load, i int, ph phase) (*PhaseResult, error) {
	d := e.cfg.PhaseDuration
	pr := &PhaseResult{Name: ph.name, Fault: expectationOf(ph.name).Fault}
	start := time.Now()
	l.phase.Store(int32(i))
	sleepUntil(start.Add(d / 5))
	healStart := time.Now()
	if ph.inject != nil {
		pr.injectedAt = time.Now()
		note, err := ph.inject()
		if note != "" {
			pr.Notes = append(pr.Notes, note)
		}
		if err != nil {
			return pr, err
		}
		sleepUntil(pr.injectedAt.Add(max(2*d/5, 2500*time.Millisecond)))
		healStart = time.Now()
		note, err = ph.heal()
		if note != "" {
			pr.Notes = append(pr.Notes, note)
		}
		if err != nil {
			return pr, err
		}
		if ph.forgetAll {
			l.forget(-1)
		}
	}
	pr.Recovery, pr.RecoveryErr = l.probe(i, healStart)
	pr.recoveredAt = time.Now()
	sleepUntil(start.Add(d))
	return pr, nil
}

// probe redirects a sample of links (200 random ones and the hot one) on
// every node until one sweep answers all with a 30x, and returns the time
// since healed (-1 after recoveryTimeout, with the last failure). Its
// answers are visits like any other.
func (l *load) probe(seed int, healed time.Time) (time.Duration, string) {
	r := rand.New(rand.NewPCG(uint64(seed), 0xbeef))
	sample := []int{l.links}
	for len(sample) < 201 {
		sample = append(sample, r.IntN(l.links))
	}
	var last string
	for time.Since(healed) < recoveryTimeout {
		var mu sync.Mutex
		bad := ""
		jobs := make(chan [2]int)
		var wg sync.WaitGroup
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range jobs {
					nd := l.e.nodes[j[0]]
					if _, ok, _ := l.redirect(nd, j[1], nil, 0); !ok {
						mu.Lock()
						bad = fmt.Sprintf("%s /%s not a 30x", nd.name, codeOf(j[1], l.links))
						mu.Unlock()
					}
				}
			}()
		}
		for _, idx := range sample {
			for n := range l.e.nodes {
				jobs <- [2]int{n, idx}
			}
		}
		close(jobs)
		wg.Wait()
		if bad == "" {
			return time.Since(healed), ""
		}
		last = bad
		time.Sleep(50 * time.Millisecond)
	}
	return -1, last
}

// summarize fills pr from the phase's counters (after the load stopped).
func (l *load) summarize(i int, pr *PhaseResult) {
	s := l.phases[i]
	pr.Sent, pr.OK = s.sent.Load(), s.ok.Load()
	pr.Refused, pr.Timeout, pr.Broken = s.transport[errRefused].Load(), s.transport[errTimeout].Load(), s.transport[errBroken].Load()
	pr.Expected5xx, pr.Unexpected5xx, pr.FirstUnexpected = s.exp5xx.Load(), s.unexp5xx.Load(), s.firstUnexp
	var parts []string
	for op := 0; op < nOps; op++ {
		var st []string
		for code := range s.status[op] {
			n := s.status[op][code].Load()
			if code >= 400 && code < 500 {
				pr.Status4xx += n
			}
			if n > 0 {
				st = append(st, fmt.Sprintf("%d×%d", code, n))
			}
		}
		if len(st) > 0 {
			parts = append(parts, opNames[op]+" "+strings.Join(st, " "))
		}
	}
	pr.Statuses = strings.Join(parts, "; ")
	sortDurations(s.lat)
	pr.P50, pr.P99 = percentile(s.lat, 0.50), percentile(s.lat, 0.99)
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}

// report prints the Markdown tables.
func report(w io.Writer, r *Result) {
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| phase | fault | sent | answered OK | refused | timeout | broken | 4xx | 5xx expected | 5xx unexpected | p50 | p99 | recovery |")
	fmt.Fprintln(w, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, p := range r.Phases {
		rec := "never"
		if p.Recovery >= 0 {
			rec = p.Recovery.Round(10 * time.Millisecond).String()
		}
		fmt.Fprintf(w, "| %s | %s | %d | %d | %d | %d | %d | %d | %d | %d | %s | %s | %s |\n",
			p.Name, p.Fault, p.Sent, p.OK, p.Refused, p.Timeout, p.Broken, p.Status4xx, p.Expected5xx, p.Unexpected5xx, ms(p.P50), ms(p.P99), rec)
	}
	fmt.Fprintln(w)
	for _, p := range r.Phases {
		notes := append(append([]string(nil), p.Notes...), "statuses: "+p.Statuses)
		if p.FirstUnexpected != "" {
			notes = append(notes, "first unexpected 5xx: "+p.FirstUnexpected)
		}
		if p.RecoveryErr != "" {
			notes = append(notes, "recovery: "+p.RecoveryErr)
		}
		fmt.Fprintf(w, "- %s: %s\n", p.Name, strings.Join(notes, "; "))
	}
	if len(r.NodeMetrics) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Visit routing per node since its last start (before the final drain):")
		for _, m := range r.NodeMetrics {
			fmt.Fprintln(w, "- "+m)
		}
	}
	v := r.Visits
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| visits answered (30x) | unknown (no complete answer) | counted (ClickHouse, FINAL) | unknown counted | lost | double-counted |")
	fmt.Fprintln(w, "|--:|--:|--:|--:|--:|--:|")
	fmt.Fprintf(w, "| %d | %d | %d | %d | %d | %d |\n", v.Answered, v.Unknown, v.Counted, v.Extra, v.Lost, v.Double)
	fmt.Fprintln(w)
	if r.OK() {
		fmt.Fprintln(w, "RESULT: OK")
		return
	}
	sort.Strings(r.Failures)
	fmt.Fprintln(w, "RESULT: FAIL")
	for _, f := range r.Failures {
		fmt.Fprintln(w, "- "+f)
	}
}
