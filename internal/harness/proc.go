package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// startTimeout bounds how long a server may take to become ready.
const startTimeout = 60 * time.Second

// Ports are picked below the kernel's ephemeral range (32768–60999 on
// Linux by default), from which every outgoing connection of every process
// takes its local port: a port the kernel handed out as "free" (listen on
// port 0) could be taken by some client's connection before the server
// under test binds it, seen as "bind: address already in use" on a loaded
// machine. A port is handed out once per test binary.
const (
	portLow  = 20000
	portHigh = 32768
)

var (
	portMu    sync.Mutex
	portsUsed = map[int]bool{}
)

// freePort returns a port on host, TCP and UDP (gossip uses both), that
// was free a moment ago and that this process has not handed out before.
func freePort(host string) (int, error) {
	portMu.Lock()
	defer portMu.Unlock()
	for range 200 {
		port := portLow + rand.IntN(portHigh-portLow)
		if portsUsed[port] {
			continue
		}
		addr := net.JoinHostPort(host, strconv.Itoa(port))
		l, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		u, err := net.ListenPacket("udp", addr)
		l.Close()
		if err != nil {
			continue
		}
		u.Close()
		portsUsed[port] = true
		return port, nil
	}
	// Crowded: let the kernel choose.
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("find free port on %s: %w", host, err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// FreePort returns a TCP port on host that was free a moment ago.
func FreePort(t testing.TB, host string) int {
	t.Helper()
	port, err := freePort(host)
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	return port
}

// Process is one child process. Its stdout and stderr are appended to a log
// file, it is killed when the process that started it dies first
// (Pdeathsig), and one goroutine, ended by the exit, waits for it.
type Process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // exit status, valid after done
}

// StartProcess starts cmd with its stdout and stderr appended to logPath.
func StartProcess(cmd *exec.Cmd, logPath string) (*Process, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	cmd.Stdout, cmd.Stderr = f, f
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	// Take the child down with us if we die without cleanup.
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	p := &Process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

// Pid is the process ID.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stop sends sig and waits up to grace for the exit, then kills the process
// and says so in its error. It returns nil once the process has exited by
// itself, whatever its exit status.
func (p *Process) Stop(sig os.Signal, grace time.Duration) error {
	if p.Exited() {
		return nil
	}
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal %s: %w", p.cmd.Path, err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
	}
	p.Kill()
	return fmt.Errorf("%s did not stop within %s after %s; killed", p.cmd.Path, grace, sig)
}

// Kill sends SIGKILL, if the process still runs, and waits for the exit.
func (p *Process) Kill() {
	if !p.Exited() {
		_ = p.cmd.Process.Kill() // only fails when it has exited already
	}
	<-p.done
}

// WaitReady polls ready (each call bounded to 2 s) until it succeeds, the
// process exits or timeout passes.
func (p *Process) WaitReady(timeout time.Duration, ready func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	err := Until(ctx, func() error {
		if p.Exited() {
			return nil // nothing to wait for any more
		}
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		return ready(ctx)
	})
	if p.Exited() {
		return fmt.Errorf("%s exited during start: %v", p.cmd.Path, p.err)
	}
	if err != nil {
		return fmt.Errorf("%s not ready within %s: %w", p.cmd.Path, timeout, err)
	}
	return nil
}

// tailFiles returns the last max bytes of each named file, labelled.
func tailFiles(max int, paths ...string) string {
	var b strings.Builder
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil || len(bytes.TrimSpace(data)) == 0 {
			continue
		}
		if len(data) > max {
			data = data[len(data)-max:]
		}
		fmt.Fprintf(&b, "--- %s (tail) ---\n%s\n", path, data)
	}
	return b.String()
}
