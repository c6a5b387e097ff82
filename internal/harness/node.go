package harness

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Node timings: how long a node may take to answer /ready, and to exit
// after SIGTERM.
const (
	nodeStartTimeout = 30 * time.Second
	nodeStopTimeout  = 60 * time.Second
)

// NodeConfig says how to run one minibitly process.
type NodeConfig struct {
	Name string // in messages
	// Bin is the minibitly binary; StartNode uses Binary when empty.
	Bin string
	// Prefix is a command that runs the binary by executing it in its own
	// process, so signals reach the binary, e.g.
	// []string{"nsenter", "-t", pid, "-n", "--"} to run the node in another
	// network namespace.
	Prefix   []string
	Args     []string
	Env      []string // added to this process's environment
	HTTPAddr string   // host:port of --http-addr; /ready is polled there
	// LogPath receives the node's stdout and stderr, appended across
	// restarts; StartNode puts it in t.TempDir() when empty.
	LogPath string
}

// Node is a running minibitly process. It can be stopped and started again
// with the same arguments.
type Node struct {
	cfg NodeConfig

	mu   sync.Mutex
	proc *Process // nil once stopped or killed
}

// LaunchNode starts a node and waits until /ready answers 200. The caller
// must Close or Kill it. The error includes the node's log.
func LaunchNode(cfg NodeConfig) (*Node, error) {
	n := &Node{cfg: cfg}
	if err := n.start(); err != nil {
		return nil, err
	}
	return n, nil
}

// StartNode starts a node for t and kills it when t ends, printing its log
// if t failed. It fails t when the node does not become ready.
func StartNode(t testing.TB, cfg NodeConfig) *Node {
	t.Helper()
	if cfg.Bin == "" {
		cfg.Bin = Binary(t)
	}
	if cfg.LogPath == "" {
		cfg.LogPath = filepath.Join(t.TempDir(), "node.log")
	}
	n, err := LaunchNode(cfg)
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	t.Cleanup(func() {
		n.Kill()
		if t.Failed() {
			t.Logf("logs of %s:\n%s", cfg.Name, n.Logs())
		}
	})
	return n
}

func (n *Node) start(extra ...string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.proc != nil {
		return nil
	}
	argv := append(append(slices.Clone(n.cfg.Prefix), n.cfg.Bin), n.cfg.Args...)
	argv = append(argv, extra...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), n.cfg.Env...)
	proc, err := StartProcess(cmd, n.cfg.LogPath)
	if err != nil {
		return fmt.Errorf("node %s: %w", n.cfg.Name, err)
	}
	if err := proc.WaitReady(nodeStartTimeout, n.ready); err != nil {
		proc.Kill()
		return fmt.Errorf("node %s: %w\n%s", n.cfg.Name, err, n.Logs())
	}
	n.proc = proc
	return nil
}

// ready is nil once GET /ready answers 200.
func (n *Node) ready(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, "GET", "http://"+n.cfg.HTTPAddr+"/ready", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /ready: %d", resp.StatusCode)
	}
	return nil
}

// Start starts a stopped or killed node again with the same arguments and
// waits until it is ready; it fails t otherwise.
func (n *Node) Start(t testing.TB) {
	t.Helper()
	if err := n.start(); err != nil {
		t.Fatalf("harness: %v", err)
	}
}

// StartWith is Start with extra arguments after the configured ones, for
// this start only (a later flag wins: e.g. a restart on the same
// --data-dir with a shorter --flush-interval).
func (n *Node) StartWith(t testing.TB, extra ...string) {
	t.Helper()
	if err := n.start(extra...); err != nil {
		t.Fatalf("harness: %v", err)
	}
}

// Relaunch is StartWith without a test: it starts a stopped or killed node
// again (same arguments plus extra) and waits until it is ready. Starting a
// running node does nothing.
func (n *Node) Relaunch(extra ...string) error { return n.start(extra...) }

// Pause freezes the running node with SIGSTOP: its sockets stay open but
// nothing answers (no HTTP, no gossip acks), as a node stalled by a long GC
// pause or a hung VM. Resume undoes it. A paused node can still be killed.
func (n *Node) Pause() error { return n.Signal(syscall.SIGSTOP) }

// Resume continues a node frozen by Pause (SIGCONT).
func (n *Node) Resume() error { return n.Signal(syscall.SIGCONT) }

// Stop sends SIGTERM and waits for the exit; it fails t unless the node
// exited by itself with status 0.
func (n *Node) Stop(t testing.TB) {
	t.Helper()
	if err := n.Close(); err != nil {
		t.Fatalf("harness: %v\n%s", err, n.Logs())
	}
}

// Close is Stop without a test: it returns an error when the node had exited
// already, exited non-zero, or had to be killed after a minute. Closing a
// stopped node does nothing.
func (n *Node) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	proc := n.proc
	if proc == nil {
		return nil
	}
	n.proc = nil
	if proc.Exited() {
		return fmt.Errorf("node %s had exited before SIGTERM: %v", n.cfg.Name, proc.err)
	}
	if err := proc.Stop(syscall.SIGTERM, nodeStopTimeout); err != nil {
		return fmt.Errorf("node %s: %w", n.cfg.Name, err)
	}
	if proc.err != nil {
		return fmt.Errorf("node %s exited with %v after SIGTERM", n.cfg.Name, proc.err)
	}
	return nil
}

// Kill sends SIGKILL, if the node still runs, and waits for the exit.
func (n *Node) Kill() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.proc != nil {
		n.proc.Kill()
		n.proc = nil
	}
}

// Logs returns everything the node wrote, across restarts.
func (n *Node) Logs() string {
	b, err := os.ReadFile(n.cfg.LogPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	return string(b)
}

// Signal sends sig to the running node (e.g. SIGHUP to reload a file).
func (n *Node) Signal(sig os.Signal) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.proc == nil {
		return fmt.Errorf("%s is not running", n.cfg.Name)
	}
	return n.proc.cmd.Process.Signal(sig)
}
