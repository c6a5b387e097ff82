package proctest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary builds ./cmd/minibitly once per test process (with -race when the
// test runs with it) and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "minibitly-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "minibitly")
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..")
		args := []string{"build", "-o", binPath}
		if raceEnabled {
			args = append(args, "-race")
		}
		args = append(args, "./cmd/minibitly")
		cmd := exec.Command("go", args...)
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// FreePort returns a free TCP port on host.
func FreePort(t testing.TB, host string) int {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Node is a running minibitly process.
type Node struct {
	t       testing.TB
	Name    string
	Prefix  []string // command that runs the binary, e.g. nsenter -t PID -n --
	Args    []string
	Env     []string
	HTTP    string // host:port
	cmd     *exec.Cmd
	logs    *syncBuffer
	done    chan struct{}
	exitErr error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Start runs the binary with args and env (added to the test's environment)
// and waits until /ready answers 200. httpAddr must match --http-addr.
func Start(t testing.TB, name, httpAddr string, args, env []string) *Node {
	t.Helper()
	return StartPrefixed(t, name, httpAddr, nil, args, env)
}

// StartPrefixed is Start with the binary run by prefix, a command that ends
// by executing its arguments in its own process (so signals reach the
// binary), e.g. []string{"nsenter", "-t", pid, "-n", "--"} to run the node
// in another network namespace.
func StartPrefixed(t testing.TB, name, httpAddr string, prefix, args, env []string) *Node {
	t.Helper()
	n := &Node{t: t, Name: name, Prefix: prefix, Args: args, Env: env, HTTP: httpAddr}
	n.Start()
	t.Cleanup(func() {
		n.Kill()
		if t.Failed() {
			t.Logf("logs of %s:\n%s", n.Name, n.Logs())
		}
	})
	return n
}

// Start (re)starts a stopped node with the same arguments.
func (n *Node) Start() {
	n.t.Helper()
	n.logs = &syncBuffer{}
	argv := append(append(append([]string(nil), n.Prefix...), Binary(n.t)), n.Args...)
	n.cmd = exec.Command(argv[0], argv[1:]...)
	n.cmd.Env = append(os.Environ(), n.Env...)
	n.cmd.Stdout, n.cmd.Stderr = n.logs, n.logs
	if err := n.cmd.Start(); err != nil {
		n.t.Fatal(err)
	}
	n.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) {
		n.exitErr = cmd.Wait()
		close(done)
	}(n.cmd, n.done)
	n.WaitReady(30 * time.Second)
}

// WaitReady polls /ready until 200 or the deadline.
func (n *Node) WaitReady(d time.Duration) {
	n.t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		select {
		case <-n.done:
			n.t.Fatalf("%s exited during start: %v\n%s", n.Name, n.exitErr, n.Logs())
		default:
		}
		resp, err := http.Get("http://" + n.HTTP + "/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	n.t.Fatalf("%s not ready after %s\n%s", n.Name, d, n.Logs())
}

// Logs returns everything the process wrote.
func (n *Node) Logs() string { return n.logs.String() }

// Stop sends SIGTERM and waits for the exit; it fails the test on a non-zero
// exit.
func (n *Node) Stop() {
	n.t.Helper()
	if err := n.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		n.t.Fatal(err)
	}
	select {
	case <-n.done:
	case <-time.After(60 * time.Second):
		n.Kill()
		n.t.Fatalf("%s did not stop after SIGTERM\n%s", n.Name, n.Logs())
	}
	if n.exitErr != nil {
		n.t.Fatalf("%s exited with %v after SIGTERM\n%s", n.Name, n.exitErr, n.Logs())
	}
}

// Kill sends SIGKILL (if still running) and waits.
func (n *Node) Kill() {
	if n.cmd == nil || n.cmd.Process == nil {
		return
	}
	select {
	case <-n.done:
		return
	default:
	}
	_ = n.cmd.Process.Kill()
	<-n.done
}

// Client is an HTTP client that does not follow redirects.
var Client = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// Do sends a request with an optional JSON body and API key and decodes a
// JSON answer into out (when non-nil). It returns the status.
func Do(t testing.TB, method, url, key string, body, out any) int {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil && len(strings.TrimSpace(string(data))) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %d %s: %v", method, url, resp.StatusCode, data, err)
		}
	}
	return resp.StatusCode
}
