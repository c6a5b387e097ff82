package main

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/minibitly/minibitly/internal/harness"
)

// TestCluster_Partition runs in its own network namespaces, one per node,
// so a partition is a real, silent network cut that leaves the host's
// network untouched:
//
//	test process (private netns, via unshare --net --fork)
//	  lo                   PostgreSQL and ClickHouse listen on 0.0.0.0 here
//	  br0 10.77.0.254/24   the cluster network: vbN ─ eth0 10.77.0.N of node N
//	  vsN 10.78.N.1/24     node N's own link to the stores ─ eth1 10.78.N.2
//
// Each node's namespace is held by a sleep started with unshare --net; the
// node runs there through nsenter. Forwarding is off in the private
// namespace and nodes have no default route, so nodes reach each other only
// over br0. The partition is `ip link set vb3 down`: n3 is cut off from n1
// and n2 (packets are dropped, nobody gets an error) but every node still
// reaches PostgreSQL and ClickHouse, so both sides keep serving and
// counting. It lasts past memberlist's GossipToTheDeadTime (30 s), after
// which only the re-join loop can merge the sides again.
//
// The test shows that the majority serves every link soon after the cut,
// that the isolated node does too (probed from inside its namespace), that
// the cluster re-merges after healing, and that after a settle ClickHouse
// holds no more visits than the 302s the test received, and no fewer than
// that minus what the nodes report at risk.
func TestCluster_Partition(t *testing.T) {
	switch {
	case os.Getenv(partitionProbeEnv) != "":
		partitionProbe(t)
	case os.Getenv(partitionChildEnv) != "":
		partitionScenario(t)
	default:
		if testing.Short() {
			t.Skip("runs a real cluster in network namespaces (skipped with -short)")
		}
		partitionReexec(t)
	}
}

const (
	partitionChildEnv = "MINIBITLY_TEST_PARTITION_CHILD"
	partitionProbeEnv = "MINIBITLY_TEST_PARTITION_PROBE" // base URL|code,code,…|rounds
	// partitionFor outlasts memberlist's GossipToTheDeadTime (30 s on LAN
	// and in the fast profile), after which memberlist alone never re-merges
	// (hashicorp/memberlist#222).
	partitionFor = 35 * time.Second
)

// partitionReexec runs this test again inside a private network namespace
// and passes its output through.
func partitionReexec(t *testing.T) {
	for tool, pkg := range map[string]string{"unshare": "util-linux", "nsenter": "util-linux", "ip": "iproute2"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the partition test needs %s: apt-get install -y %s", tool, pkg)
		}
	}
	if os.Geteuid() != 0 {
		t.Fatal("the partition test creates network namespaces and must run as root (CI does); run the other tests with -run or use -short")
	}
	if out, err := exec.Command("unshare", "--net", "--", "true").CombinedOutput(); err != nil {
		t.Fatalf("unshare --net (network namespaces) does not work here: %v\n%s", err, out)
	}
	timeout := 5 * time.Minute
	if d, ok := t.Deadline(); ok && time.Until(d) < timeout+10*time.Second {
		timeout = time.Until(d) - 10*time.Second
	}
	cmd := exec.Command("unshare", "--net", "--kill-child", "--", os.Args[0],
		"-test.run", "^TestCluster_Partition$", "-test.v", "-test.count", "1", "-test.timeout", timeout.String())
	// Addresses on the bridge are not loopback: keep them away from proxies.
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); !strings.HasSuffix(strings.ToLower(k), "_proxy") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, partitionChildEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		t.Log(sc.Text())
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the partition scenario (in its own network namespace) failed: %v", err)
	}
}

// partitionProbe runs inside a node's namespace: it asks the node for its
// view, then GETs every code rounds times and prints one PROBE line.
func partitionProbe(t *testing.T) {
	spec := strings.Split(os.Getenv(partitionProbeEnv), "|")
	if len(spec) != 3 {
		t.Fatalf("%s=%q: want base|codes|rounds", partitionProbeEnv, os.Getenv(partitionProbeEnv))
	}
	base, codes := spec[0], strings.Split(spec[1], ",")
	rounds, err := strconv.Atoi(spec[2])
	if err != nil {
		t.Fatal(err)
	}
	var v clusterJSON
	harness.Do(t, "GET", base+"/api/v1/cluster", extKey, nil, &v)
	found, other, first := 0, 0, ""
	for r := 0; r < rounds; r++ {
		for _, code := range codes {
			st, _, err := get(harness.Client, "GET", base+"/"+code, "", nil)
			if err == nil && st == http.StatusFound {
				found++
				continue
			}
			other++
			if first == "" {
				first = fmt.Sprintf("/%s: %d %v", code, st, err)
			}
		}
	}
	n := &clusterNode{name: "probed", base: base}
	fmt.Printf("PROBE alive=%d found=%d other=%d batched=%d rerouted=%d first=%q\n", v.Alive, found, other,
		metric(t, n, "minibitly_actors_visits_batched_total"), metric(t, n, "minibitly_actors_visits_rerouted_total"), first)
}

// nodeNetns is a network namespace held by a sleep process.
type nodeNetns struct{ pid string }

func newNodeNetns(t *testing.T) nodeNetns {
	t.Helper()
	holder, err := harness.StartProcess(exec.Command("unshare", "--net", "--", "sleep", "infinity"),
		filepath.Join(t.TempDir(), "netns.log"))
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	t.Cleanup(holder.Kill)
	self, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	ns := nodeNetns{pid: strconv.Itoa(holder.Pid())}
	harness.Eventually(t, 5*time.Second, func() error {
		l, err := os.Readlink("/proc/" + ns.pid + "/ns/net")
		if err == nil && l == self {
			err = fmt.Errorf("the sleep %s is still in this network namespace (%s)", ns.pid, l)
		}
		return err
	})
	return ns
}

// enter is the command prefix that runs a program in the namespace.
func (ns nodeNetns) enter() []string { return []string{"nsenter", "-t", ns.pid, "-n", "--"} }

// nsRun runs a command and fails t with its output if it fails.
func nsRun(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// partitionNet is the private namespace's bridge and the nodes' namespaces.
type partitionNet struct {
	t  *testing.T
	ns map[int]nodeNetns
	// redirected is the test's count of 302s (testCluster.redirected),
	// which probe adds to.
	redirected *atomic.Uint64
}

func newPartitionNet(t *testing.T) *partitionNet {
	nsRun(t, "ip", "link", "set", "lo", "up")
	if err := os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("0"), 0o644); err != nil {
		t.Fatalf("ip_forward: %v", err)
	}
	nsRun(t, "ip", "link", "add", "br0", "type", "bridge")
	nsRun(t, "ip", "addr", "add", "10.77.0.254/24", "dev", "br0")
	nsRun(t, "ip", "link", "set", "br0", "up")
	return &partitionNet{t: t, ns: map[int]nodeNetns{}}
}

// add creates node i's namespace: eth0 10.77.0.i on the bridge, eth1
// 10.78.i.2 to the stores at 10.78.i.1.
func (p *partitionNet) add(i int) nodeNetns {
	t := p.t
	ns := newNodeNetns(t)
	vb, vs := fmt.Sprintf("vb%d", i), fmt.Sprintf("vs%d", i)
	nsRun(t, "ip", "link", "add", vb, "type", "veth", "peer", "name", "eth0", "netns", ns.pid)
	nsRun(t, "ip", "link", "set", vb, "master", "br0", "up")
	nsRun(t, "ip", "link", "add", vs, "type", "veth", "peer", "name", "eth1", "netns", ns.pid)
	nsRun(t, "ip", "addr", "add", fmt.Sprintf("10.78.%d.1/24", i), "dev", vs)
	nsRun(t, "ip", "link", "set", vs, "up")
	in := func(args ...string) { nsRun(t, append(ns.enter(), args...)...) }
	in("ip", "link", "set", "lo", "up")
	in("ip", "addr", "add", fmt.Sprintf("10.77.0.%d/24", i), "dev", "eth0")
	in("ip", "link", "set", "eth0", "up")
	in("ip", "addr", "add", fmt.Sprintf("10.78.%d.2/24", i), "dev", "eth1")
	in("ip", "link", "set", "eth1", "up")
	p.ns[i] = ns
	return ns
}

// cut and heal take node i's bridge port down and up: a silent partition.
func (p *partitionNet) cut(i int)  { nsRun(p.t, "ip", "link", "set", fmt.Sprintf("vb%d", i), "down") }
func (p *partitionNet) heal(i int) { nsRun(p.t, "ip", "link", "set", fmt.Sprintf("vb%d", i), "up") }

// probeResult is what partitionProbe saw on a node.
type probeResult struct {
	alive, found, other int
	batched, rerouted   uint64 // the node's metrics after the redirects
	first               string // the first answer that was not a 302
}

// probe runs partitionProbe in node i's namespace; the 302s it got are
// visits.
func (p *partitionNet) probe(i int, codes []string, rounds int) (r probeResult) {
	t := p.t
	t.Helper()
	args := append(p.ns[i].enter(), os.Args[0], "-test.run", "^TestCluster_Partition$", "-test.count", "1")
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=http://10.77.0.%d:8080|%s|%d", partitionProbeEnv, i, strings.Join(codes, ","), rounds))
	out, err := cmd.CombinedOutput()
	for _, line := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(line, "PROBE "); ok {
			if _, err := fmt.Sscanf(rest, "alive=%d found=%d other=%d batched=%d rerouted=%d first=%q",
				&r.alive, &r.found, &r.other, &r.batched, &r.rerouted, &r.first); err != nil {
				t.Fatalf("probe line %q: %v", line, err)
			}
			p.redirected.Add(uint64(r.found))
			return r
		}
	}
	t.Fatalf("probe of n%d: %v\n%s", i, err, out)
	return
}

// majorityLoad sends redirects to nodes at a steady pace until stopped,
// counting every 302 in the cluster's redirected.
type majorityLoad struct {
	stop  chan struct{}
	wg    sync.WaitGroup
	mu    sync.Mutex
	ok    int
	bad   int
	first string
}

func (c *testCluster) startMajorityLoad(codes []string, every time.Duration, nodes ...*clusterNode) *majorityLoad {
	l := &majorityLoad{stop: make(chan struct{})}
	for w, n := range nodes {
		l.wg.Add(1)
		go func(w int, n *clusterNode) {
			defer l.wg.Done()
			tick := time.NewTicker(every)
			defer tick.Stop()
			for i := w; ; i++ {
				select {
				case <-l.stop:
					return
				case <-tick.C:
				}
				code := codes[i%len(codes)]
				st, _, err := c.redirect(n.base, code)
				l.mu.Lock()
				if err == nil && st == http.StatusFound {
					l.ok++
				} else {
					l.bad++
					if l.first == "" {
						l.first = fmt.Sprintf("%s /%s: %d %v", n.name, code, st, err)
					}
				}
				l.mu.Unlock()
			}
		}(w, n)
	}
	return l
}

func (l *majorityLoad) finish() (ok, bad int, first string) {
	close(l.stop)
	l.wg.Wait()
	return l.ok, l.bad, l.first
}

// partitionScenario is the test proper, inside the private namespace.
func partitionScenario(t *testing.T) {
	pnet := newPartitionNet(t)
	pg, err := harness.LaunchPostgresWith(harness.Options{ListenHost: "0.0.0.0"})
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	ch, err := harness.LaunchClickHouseWith(harness.Options{ListenHost: "0.0.0.0"})
	if err != nil {
		pg.Close()
		t.Fatalf("harness: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("postgres:\n%s\nclickhouse:\n%s", pg.Logs(), ch.Logs())
		}
		pg.Close()
		ch.Close()
	})
	c := newClusterOn(t, pg, ch)
	pnet.redirected = &c.redirected

	seeds := "10.77.0.1:7946,10.77.0.2:7946,10.77.0.3:7946"
	var nodes []*clusterNode
	for i := 1; i <= 3; i++ {
		ns := pnet.add(i)
		ip, stores := fmt.Sprintf("10.77.0.%d", i), fmt.Sprintf("10.78.%d.1:", i)
		args := []string{
			"--node-name", fmt.Sprintf("n%d", i), "--http-addr", ip + ":8080", "--data-dir", t.TempDir(),
			"--gossip-addr", ip + ":7946", "--remote-addr", ip + ":8090", "--join", seeds,
			"--gossip-profile", "fast", "--gossip-rejoin-interval", "1s",
			"--postgres-url", strings.Replace(c.pgURL, "127.0.0.1:", stores, 1),
			"--clickhouse-url", strings.Replace(c.chURL, "127.0.0.1:", stores, 1),
			"--flush-interval", "200ms", "--batch-interval", "50ms", "--shards", "8",
			"--near-cache-ttl", "30s", "--api-rate", "0",
			// The test is one client address asking for many uncached codes.
			"--miss-rate-limit", "off",
		}
		n := &clusterNode{name: fmt.Sprintf("n%d", i), base: "http://" + ip + ":8080", gossip: ip + ":7946"}
		n.Node = harness.StartNode(t, harness.NodeConfig{Name: n.name, HTTPAddr: ip + ":8080", Prefix: ns.enter(), Args: args,
			Env: []string{"MINIBITLY_INITIAL_API_KEY=" + extKey}})
		nodes = append(nodes, n)
	}
	n1, n2, n3 := nodes[0], nodes[1], nodes[2]
	t.Logf("3 members seen by all after %s", waitAlive(t, 3, n1, n2, n3).Round(time.Millisecond))

	// 20 links visited on every node before the cut (near-cached there) and
	// 20 that nobody visits before it.
	var codes []string
	for i := 0; i < 40; i++ {
		var l linkJSON
		if st := harness.Do(t, "POST", n1.base+"/api/v1/links", extKey,
			map[string]any{"url": fmt.Sprintf("https://example.com/p%d", i)}, &l); st != 201 {
			t.Fatalf("create %d: %d", i, st)
		}
		codes = append(codes, l.Code)
	}
	warm := codes[:20]
	owned := map[string]int{}
	for _, code := range codes {
		var o struct {
			Owner memberJSON `json:"owner"`
		}
		harness.Do(t, "GET", n1.base+"/api/v1/cluster/owner/"+code, extKey, nil, &o)
		owned[o.Owner.Name]++
	}
	if owned["n3"] == 0 {
		t.Fatalf("n3 owns none of the 40 codes: %v", owned)
	}
	t.Logf("owners of the 40 codes before the cut: %v", owned)
	c.hits(t, 300, warm, n1, n2, n3)

	// Cut with nothing in flight, so no acknowledgement can be lost after
	// its batch was applied (the one case that counts a visit twice):
	// every visit made so far has left the gateways.
	batched := func(ns ...*clusterNode) (sum uint64) {
		for _, n := range ns {
			sum += metric(t, n, "minibitly_actors_visits_batched_total")
		}
		return sum
	}
	harness.Eventually(t, 10*time.Second, func() error {
		if b, r := batched(n1, n2, n3), c.redirected.Load(); b != r {
			return fmt.Errorf("%d visits batched of %d redirects", b, r)
		}
		return nil
	})
	cut := time.Now()
	pnet.cut(3)
	load := c.startMajorityLoad(codes, 5*time.Millisecond, n1, n2)
	defer func() {
		select {
		case <-load.stop:
		default:
			load.finish()
		}
	}()

	// (a) The majority serves every link.
	harness.Eventually(t, 30*time.Second, func() error {
		for _, n := range []*clusterNode{n1, n2} {
			if got := n.view(t).Alive; got != 2 {
				return fmt.Errorf("%s sees %d alive members, want 2", n.name, got)
			}
		}
		for _, n := range []*clusterNode{n1, n2} {
			for _, code := range codes {
				if st, _ := c.location(t, n.base, code); st != 302 {
					return fmt.Errorf("%s /%s: %d, want 302", n.name, code, st)
				}
			}
		}
		return nil
	})
	majority := time.Since(cut)
	t.Logf("after the cut the majority (n1, n2) serves every link in %s", majority.Round(time.Millisecond))

	// The isolated node, probed from inside its namespace, owns every code
	// in its view and serves them too (stores are reachable from it).
	var isolated time.Duration
	harness.Eventually(t, 30*time.Second, func() error {
		if r := pnet.probe(3, codes, 1); r.alive != 1 || r.other != 0 {
			return fmt.Errorf("n3 sees %d alive members (want 1) and failed %d of %d redirects (first: %s)",
				r.alive, r.other, r.found+r.other, r.first)
		}
		return nil
	})
	isolated = time.Since(cut)
	t.Logf("after the cut the isolated node (n3) sees 1 member and serves every link in %s", isolated.Round(time.Millisecond))
	r := pnet.probe(3, codes, 5)
	if r.other != 0 {
		t.Fatalf("n3 during the partition: %d of %d redirects failed (first: %s)", r.other, r.found+r.other, r.first)
	}
	found3 := r.found

	// The partition is a duration of the scenario: past GossipToTheDeadTime
	// and past the near-cache TTL, so n3 reloads every link itself. All
	// along, the majority does not see n3 again.
	harness.Consistently(t, time.Until(cut.Add(partitionFor)), func() error {
		for _, n := range []*clusterNode{n1, n2} {
			if got := n.view(t).Alive; got != 2 {
				return fmt.Errorf("%s sees %d alive members during the partition, want 2", n.name, got)
			}
		}
		return nil
	})
	r = pnet.probe(3, codes, 2)
	if r.other != 0 {
		t.Fatalf("n3 late in the partition: %d of %d redirects failed (first: %s)", r.other, r.found+r.other, r.first)
	}
	found3 += r.found
	okMaj, badMaj, firstBad := load.finish()
	t.Logf("during the partition (%s): majority load %d redirects, %d not 302 (first: %s); n3 served %d probed redirects",
		partitionFor, okMaj, badMaj, firstBad, found3)
	if badMaj*10 > okMaj {
		t.Fatalf("majority load: %d of %d redirects failed during the partition (first: %s)", badMaj, okMaj+badMaj, firstBad)
	}

	// Before healing, each side has counted what it served: once every
	// visit has left the gateways (n3's metrics read from inside its
	// namespace) and ClickHouse is stable, the sum is exact.
	var n3batched uint64
	harness.Eventually(t, 15*time.Second, func() error {
		n3batched = pnet.probe(3, codes, 0).batched
		if b, r := batched(n1, n2)+n3batched, c.redirected.Load(); b != r {
			return fmt.Errorf("%d visits batched on both sides of %d redirects", b, r)
		}
		return nil
	})
	beforeHeal := c.redirected.Load()
	got := waitStableSum(t, c)
	reroutedBefore := metric(t, n1, "minibitly_actors_visits_rerouted_total") +
		metric(t, n2, "minibitly_actors_visits_rerouted_total") + pnet.probe(3, codes, 0).rerouted
	t.Logf("before healing: %d redirects, sum(visits) FINAL = %d; %d visits rerouted (counted by their gateway, owner unreachable)",
		beforeHeal, got, reroutedBefore)
	if got > beforeHeal {
		t.Errorf("before healing sum(visits) = %d > %d redirects: %d visits counted twice during the partition", got, beforeHeal, got-beforeHeal)
	}

	// (b) Heal: the re-join loop merges the sides again.
	pnet.heal(3)
	healed := time.Now()
	merge := waitAlive(t, 3, n1, n2, n3)
	t.Logf("after healing all three see 3 members in %s", merge.Round(time.Millisecond))
	for _, n := range nodes {
		for _, code := range codes {
			if st, _ := c.location(t, n.base, code); st != 302 {
				t.Fatalf("%s /%s after healing: %d", n.name, code, st)
			}
		}
	}
	c.hits(t, 300, codes, n1, n2, n3)

	// (c) No visit counted twice; the total is exact unless some are
	// reported at risk.
	want := c.redirected.Load()
	harness.Eventually(t, 15*time.Second, func() error {
		if b := batched(nodes...); b != want {
			return fmt.Errorf("%d visits batched of %d redirects", b, want)
		}
		return nil
	})
	got = waitStableSum(t, c)
	settled := time.Since(healed)
	var atRisk, rerouted, refused, dropped, rejoins uint64
	for _, n := range nodes {
		m := func(name string) uint64 { return metric(t, n, name) }
		t.Logf("%s: batched %d, sent remote %d, rerouted %d, refused batches %d, at risk %d, flushed %d, dropped %d, rejoins %d",
			n.name, m("minibitly_actors_visits_batched_total"), m("minibitly_actors_visits_sent_remote_total"),
			m("minibitly_actors_visits_rerouted_total"), m("minibitly_actors_remote_batches_refused_total"),
			m("minibitly_actors_visits_at_risk_total"), m("minibitly_actors_visits_flushed_total"),
			m("minibitly_actors_visits_dropped_total"), m("minibitly_cluster_rejoins_total"))
		atRisk += m("minibitly_actors_visits_at_risk_total")
		rerouted += m("minibitly_actors_visits_rerouted_total")
		refused += m("minibitly_actors_remote_batches_refused_total")
		dropped += m("minibitly_actors_visits_dropped_total")
		rejoins += m("minibitly_cluster_rejoins_total")
	}
	t.Logf("sum(visits) FINAL by flushing node: %v", c.db.sumBy(t, "node_id"))
	t.Logf("visits: %d redirects received, sum(visits) FINAL = %d (%s after healing); at risk %d, rerouted %d, refused batches %d, dropped %d; re-join rounds %d",
		want, got, settled.Round(time.Millisecond), atRisk, rerouted, refused, dropped, rejoins)
	if got > want {
		// Seen before the fix in docs/cluster.md ("Partitions and visits"):
		// right after healing, acknowledgements went over remote
		// connections that died during the partition, so gateways counted
		// visits their owners had already applied.
		t.Fatalf("sum(visits) = %d > %d redirects received: %d visits counted twice (%d rerouted after healing)",
			got, want, got-want, rerouted-reroutedBefore)
	}
	if got+atRisk+dropped < want {
		t.Fatalf("sum(visits) = %d: %d visits lost, more than the %d at risk and %d dropped the nodes report", got, want-got, atRisk, dropped)
	}
}

// waitStableSum waits until sum(visits) FINAL has not changed for 2 s (ten
// flush intervals) and returns it.
func waitStableSum(t *testing.T, c *testCluster) uint64 {
	t.Helper()
	return settle(t, 60*time.Second, 2*time.Second, "sum(visits) FINAL", func() uint64 { return c.sum(t) })
}
