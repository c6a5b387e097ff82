package harness

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// ClickHouseInstall is the command that installs the server binary.
const ClickHouseInstall = "apt-get update && apt-get install -y clickhouse-server clickhouse-client"

// ClickHouse is a throwaway ClickHouse server on 127.0.0.1 (see Options) with only the
// native protocol enabled (no HTTP, no interserver port). User "default",
// no password. The database in URL is not created: the store's migrations
// create it.
type ClickHouse struct {
	bin     string
	dir     string
	logPath string
	errPath string
	outPath string
	port    int
	opts    Options
	extra   chExtra

	mu   sync.Mutex
	proc *Process
	dbs  int
}

// StartClickHouse starts a server for t and stops it when t ends. It fails t
// when the server cannot start, printing its log.
func StartClickHouse(t testing.TB) *ClickHouse {
	t.Helper()
	c, err := LaunchClickHouse()
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(c.Logs())
		}
		if err := c.Close(); err != nil {
			t.Errorf("harness: %v", err)
		}
	})
	return c
}

// LaunchClickHouse starts a server without a test, for TestMain; the caller
// must Close it.
func LaunchClickHouse() (*ClickHouse, error) { return LaunchClickHouseWith(Options{}) }

// LaunchClickHouseWith is LaunchClickHouse with options (e.g. another
// listen host).
func LaunchClickHouseWith(o Options) (*ClickHouse, error) { return launchClickHouse(o, chExtra{}) }

// chExtra is what a cluster member (clickhouse_cluster.go) adds to the
// server: its port chosen beforehand (the cluster's remote_servers lists
// every member's), XML elements inside <yandex>, and smaller caches.
type chExtra struct {
	port       int    // 0: a free port
	xml        string // extra config elements
	cacheBytes int    // mark and uncompressed cache sizes; 0: 256 MiB
	profile    string // extra settings of the default profile
	// zookeeper: ready only once the server's distributed DDL queue is
	// in ZooKeeper (clickhouse_cluster.go, zookeeperReady).
	zookeeper bool
}

func launchClickHouse(o Options, x chExtra) (*ClickHouse, error) {
	bin, err := exec.LookPath("clickhouse-server")
	if err != nil {
		return nil, fmt.Errorf("clickhouse-server not found on PATH; install it: %s", ClickHouseInstall)
	}
	dir, err := os.MkdirTemp("", "minibitly-ch-")
	if err != nil {
		return nil, fmt.Errorf("clickhouse temp dir: %w", err)
	}
	port := x.port
	if port == 0 {
		if port, err = freePort(o.listenHost()); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	c := &ClickHouse{
		bin: bin, dir: dir, port: port, opts: o, extra: x,
		logPath: filepath.Join(dir, "server.log"),
		errPath: filepath.Join(dir, "server.err.log"),
		outPath: filepath.Join(dir, "stdout.log"),
	}
	if err := c.writeConfig(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := c.start(); err != nil {
		logs := c.Logs()
		c.Close()
		return nil, fmt.Errorf("%w\n%s", err, logs)
	}
	return c, nil
}

const chConfig = `<?xml version="1.0"?>
<yandex>
  <logger>
    <level>warning</level>
    <log>{{dir}}/server.log</log>
    <errorlog>{{dir}}/server.err.log</errorlog>
    <size>100M</size>
    <count>1</count>
  </logger>
  <listen_host>{{host}}</listen_host>
  <tcp_port>{{port}}</tcp_port>
  <path>{{dir}}/data/</path>
  <tmp_path>{{dir}}/tmp/</tmp_path>
  <user_files_path>{{dir}}/user_files/</user_files_path>
  <format_schema_path>{{dir}}/format_schemas/</format_schema_path>
  <users_config>{{dir}}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <max_connections>1024</max_connections>
  <max_concurrent_queries>100</max_concurrent_queries>
  <mark_cache_size>{{cache}}</mark_cache_size>
  <uncompressed_cache_size>{{cache}}</uncompressed_cache_size>
  <mlock_executable>false</mlock_executable>
{{extra}}</yandex>
`

const chUsers = `<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>8000000000</max_memory_usage>{{profile}}</default></profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip>{{networks}}</networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
  </users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
`

func (c *ClickHouse) writeConfig() error {
	r := func(s string) string {
		s = strings.ReplaceAll(s, "{{dir}}", c.dir)
		s = strings.ReplaceAll(s, "{{host}}", c.opts.listenHost())
		networks := ""
		if c.opts.remoteClients() {
			networks = "<ip>::/0</ip>"
		}
		s = strings.ReplaceAll(s, "{{networks}}", networks)
		cache := c.extra.cacheBytes
		if cache == 0 {
			cache = 256 << 20
		}
		s = strings.ReplaceAll(s, "{{cache}}", strconv.Itoa(cache))
		s = strings.ReplaceAll(s, "{{extra}}", c.extra.xml)
		s = strings.ReplaceAll(s, "{{profile}}", c.extra.profile)
		return strings.ReplaceAll(s, "{{port}}", strconv.Itoa(c.port))
	}
	if err := os.WriteFile(filepath.Join(c.dir, "config.xml"), []byte(r(chConfig)), 0o644); err != nil {
		return fmt.Errorf("clickhouse config: %w", err)
	}
	if err := os.WriteFile(filepath.Join(c.dir, "users.xml"), []byte(r(chUsers)), 0o644); err != nil {
		return fmt.Errorf("clickhouse users: %w", err)
	}
	return nil
}

func (c *ClickHouse) start() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc != nil && !c.proc.Exited() {
		return nil
	}
	cmd := exec.Command(c.bin, "--config-file="+filepath.Join(c.dir, "config.xml"))
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), "TZ=UTC")
	proc, err := StartProcess(cmd, c.outPath)
	if err != nil {
		return fmt.Errorf("clickhouse: %w", err)
	}
	c.proc = proc
	ready := c.ping
	if c.extra.zookeeper {
		ready = c.zookeeperReady
	}
	if err := proc.WaitReady(startTimeout, ready); err != nil {
		proc.Kill()
		return fmt.Errorf("clickhouse on port %d: %w", c.port, err)
	}
	return nil
}

// conn opens a native-protocol connection to the default database.
func (c *ClickHouse) conn() (clickhouse.Conn, error) {
	return clickhouse.Open(&clickhouse.Options{
		Addr:        []string{c.Addr()},
		Auth:        clickhouse.Auth{Database: "default", Username: "default"},
		DialTimeout: 2 * time.Second,
	})
}

func (c *ClickHouse) ping(ctx context.Context) error {
	conn, err := c.conn()
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Ping(ctx)
}

// Exec runs one statement on the server (default database).
func (c *ClickHouse) Exec(ctx context.Context, sql string) error {
	conn, err := c.conn()
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Exec(ctx, sql)
}

// Addr is host:port of the native protocol.
func (c *ClickHouse) Addr() string {
	return net.JoinHostPort(c.opts.clientHost(), strconv.Itoa(c.port))
}

// Port is the native protocol's TCP port on 127.0.0.1.
func (c *ClickHouse) Port() int { return c.port }

// URL points at database "minibitly" (created by the store's migrations).
func (c *ClickHouse) URL() string { return c.urlFor("minibitly") }

func (c *ClickHouse) urlFor(db string) string {
	return fmt.Sprintf("clickhouse://%s/%s", c.Addr(), db)
}

// NewDatabase returns the URL of a database name not used before on this
// server (not created: migrations create it). It is dropped when t ends.
func (c *ClickHouse) NewDatabase(t testing.TB) string {
	t.Helper()
	c.mu.Lock()
	c.dbs++
	name := fmt.Sprintf("t%d_%d", os.Getpid(), c.dbs)
	c.mu.Unlock()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// Best effort: the server may have been stopped by the test.
		_ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+name)
	})
	return c.urlFor(name)
}

// Stop shuts the server down and waits until it has exited. The data
// directory and port are kept for Start.
func (c *ClickHouse) Stop(t testing.TB) {
	t.Helper()
	if err := c.stop(); err != nil {
		t.Fatalf("harness: stop clickhouse: %v", err)
	}
}

func (c *ClickHouse) stop() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc == nil {
		return nil
	}
	err := c.proc.Stop(syscall.SIGTERM, 60*time.Second)
	c.proc = nil
	return err
}

// Start restarts a stopped server on the same data directory and port and
// waits until it answers.
func (c *ClickHouse) Start(t testing.TB) {
	t.Helper()
	if err := c.start(); err != nil {
		t.Fatalf("harness: restart clickhouse: %v\n%s", err, c.Logs())
	}
}

// Halt is Stop without a test (fault injection from a program).
func (c *ClickHouse) Halt() error { return c.stop() }

// Relaunch is Start without a test: it restarts a stopped server on the
// same data directory and port; a running server is left alone.
func (c *ClickHouse) Relaunch() error { return c.start() }

// Logs returns the tail of the server's logs.
func (c *ClickHouse) Logs() string { return tailFiles(16<<10, c.outPath, c.errPath, c.logPath) }

// Close stops the server and removes its data directory. It is idempotent.
func (c *ClickHouse) Close() error {
	err := c.stop()
	if rmErr := os.RemoveAll(c.dir); rmErr != nil && err == nil {
		err = fmt.Errorf("remove clickhouse dir: %w", rmErr)
	}
	return err
}
