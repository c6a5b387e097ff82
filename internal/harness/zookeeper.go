package harness

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ZooKeeperInstall is the command that installs ZooKeeper and Java.
const ZooKeeperInstall = "apt-get update && apt-get install -y zookeeperd default-jre-headless"

// zooKeeperJar is Debian's ZooKeeper jar; its manifest's Class-Path names
// the jars it needs under /usr/share/java.
const zooKeeperJar = "/usr/share/java/zookeeper.jar"

// ZooKeeper is a throwaway standalone ZooKeeper server on 127.0.0.1 and a
// random port (the coordination service a replicated ClickHouse needs), run
// as a plain java process from Debian's zookeeperd jars, with its own data
// directory. Close stops it and removes the directory.
type ZooKeeper struct {
	dir     string
	port    int
	outPath string
	proc    *Process
}

// LaunchZooKeeper starts a server without a test; the caller must Close it.
func LaunchZooKeeper() (*ZooKeeper, error) {
	java, err := exec.LookPath("java")
	if err != nil {
		return nil, fmt.Errorf("java not found on PATH; install it: %s", ZooKeeperInstall)
	}
	if _, err := os.Stat(zooKeeperJar); err != nil {
		return nil, fmt.Errorf("%s not found; install it: %s", zooKeeperJar, ZooKeeperInstall)
	}
	dir, err := os.MkdirTemp("", "minibitly-zk-")
	if err != nil {
		return nil, fmt.Errorf("zookeeper temp dir: %w", err)
	}
	port, err := freePort("127.0.0.1")
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	z := &ZooKeeper{dir: dir, port: port, outPath: filepath.Join(dir, "zookeeper.log")}
	cfg := strings.Join([]string{
		"tickTime=500", // session timeouts are 2–20 ticks: a stopped client's session ends in seconds
		"initLimit=10",
		"syncLimit=5",
		"dataDir=" + filepath.Join(dir, "data"),
		"clientPort=" + strconv.Itoa(port),
		"clientPortAddress=127.0.0.1",
		"maxClientCnxns=0",
		"admin.enableServer=false",
		"4lw.commands.whitelist=srvr",
		"",
	}, "\n")
	cfgPath := filepath.Join(dir, "zoo.cfg")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("zookeeper config: %w", err)
	}
	cmd := exec.Command(java, "-Xms32m", "-Xmx128m", "-XX:+UseSerialGC", "-Dzookeeper.admin.enableServer=false",
		"-cp", zooKeeperJar, "org.apache.zookeeper.server.quorum.QuorumPeerMain", cfgPath)
	cmd.Dir = dir
	proc, err := StartProcess(cmd, z.outPath)
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("zookeeper: %w", err)
	}
	z.proc = proc
	if err := proc.WaitReady(startTimeout, z.serving); err != nil {
		logs := z.Logs()
		z.Close()
		return nil, fmt.Errorf("zookeeper on port %d: %w\n%s", port, err, logs)
	}
	return z, nil
}

// serving asks the four-letter word "srvr": a server that serves clients
// answers with its "Mode:". ("ruok" answers "imok" before the server takes
// sessions: ClickHouse 18.16 connecting then failed its handshake, and a
// server whose ZooKeeper call failed at start crashed on the first ON
// CLUSTER query.)
func (z *ZooKeeper) serving(ctx context.Context) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", z.Addr())
	if err != nil {
		return err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl) //nolint:errcheck // a dead conn fails the read below
	}
	if _, err := io.WriteString(c, "srvr"); err != nil {
		return err
	}
	b, err := io.ReadAll(c)
	if err != nil {
		return err
	}
	if !strings.Contains(string(b), "Mode: ") {
		return fmt.Errorf("srvr answered %q", b)
	}
	return nil
}

// Addr is host:port of the client port.
func (z *ZooKeeper) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(z.port)) }

// Port is the client port on 127.0.0.1.
func (z *ZooKeeper) Port() int { return z.port }

// Logs returns the tail of the server's output.
func (z *ZooKeeper) Logs() string { return tailFiles(16<<10, z.outPath) }

// Close stops the server and removes its directory. It is idempotent.
func (z *ZooKeeper) Close() error {
	var err error
	if z.proc != nil {
		err = z.proc.Stop(syscall.SIGTERM, 10*time.Second)
	}
	if rmErr := os.RemoveAll(z.dir); rmErr != nil && err == nil {
		err = fmt.Errorf("remove zookeeper dir: %w", rmErr)
	}
	return err
}
