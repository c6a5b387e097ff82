package harness

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// ClusterName is the cluster ClickHouseCluster defines in every member's
// remote_servers.
const ClusterName = "minibitly"

// ClickHouseCluster is a replicated ClickHouse cluster on 127.0.0.1: one
// ZooKeeper and Shards × Replicas servers, each with its own directory,
// native and interserver ports, macros {shard} = "01", "02", … and
// {replica} = "r1", "r2", …, the cluster ClusterName in remote_servers
// (internal_replication, so a Distributed table writes one replica per
// shard and replication copies it) and distributed DDL under
// /clickhouse/task_queue/ddl. Caches are small (16 MiB): four servers start
// in a few seconds and stay at a few hundred MB together.
type ClickHouseCluster struct {
	ZooKeeper *ZooKeeper
	// Servers[shard][replica].
	Servers [][]*ClickHouse

	mu  sync.Mutex
	dbs int
}

// LaunchClickHouseCluster starts ZooKeeper and shards × replicas servers
// (in parallel) without a test; the caller must Close it.
func LaunchClickHouseCluster(shards, replicas int) (*ClickHouseCluster, error) {
	if shards < 1 || replicas < 1 {
		return nil, fmt.Errorf("clickhouse cluster: %d shards × %d replicas", shards, replicas)
	}
	zk, err := LaunchZooKeeper()
	if err != nil {
		return nil, err
	}
	c := &ClickHouseCluster{ZooKeeper: zk, Servers: make([][]*ClickHouse, shards)}
	ports := make([][2]int, shards*replicas) // native, interserver
	for i := range ports {
		for j := range 2 {
			if ports[i][j], err = freePort("127.0.0.1"); err != nil {
				zk.Close()
				return nil, err
			}
		}
	}
	var remote strings.Builder
	remote.WriteString("  <remote_servers><" + ClusterName + ">\n")
	for s := range shards {
		remote.WriteString("    <shard><internal_replication>true</internal_replication>\n")
		for r := range replicas {
			fmt.Fprintf(&remote, "      <replica><host>127.0.0.1</host><port>%d</port></replica>\n", ports[s*replicas+r][0])
		}
		remote.WriteString("    </shard>\n")
	}
	remote.WriteString("  </" + ClusterName + "></remote_servers>\n")
	common := remote.String() + fmt.Sprintf(`  <zookeeper><node><host>127.0.0.1</host><port>%d</port></node><session_timeout_ms>10000</session_timeout_ms></zookeeper>
  <distributed_ddl><path>/clickhouse/task_queue/ddl</path></distributed_ddl>
  <interserver_http_host>127.0.0.1</interserver_http_host>
  <shutdown_wait_unfinished>1</shutdown_wait_unfinished>
`, zk.Port())

	// in_order: a Distributed table writes to, and reads from, the first
	// live replica of each shard in remote_servers order, so a read sees
	// what was written before it while that replica is up. poll_interval 1
	// (10 s by default): a server being stopped looks at its idle client
	// connections every second, so Stop takes about 1 s instead of 10.
	const profile = "<load_balancing>in_order</load_balancing><poll_interval>1</poll_interval>"
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for s := range shards {
		c.Servers[s] = make([]*ClickHouse, replicas)
		for r := range replicas {
			p := ports[s*replicas+r]
			x := chExtra{port: p[0], cacheBytes: 16 << 20, profile: profile, zookeeper: true, xml: common + fmt.Sprintf(
				"  <interserver_http_port>%d</interserver_http_port>\n  <macros><shard>%02d</shard><replica>r%d</replica></macros>\n",
				p[1], s+1, r+1)}
			wg.Add(1)
			go func() {
				defer wg.Done()
				srv, err := launchClickHouse(Options{}, x)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, fmt.Errorf("shard %d replica %d: %w", s+1, r+1, err))
					return
				}
				c.Servers[s][r] = srv
			}()
		}
	}
	wg.Wait()
	if len(errs) > 0 {
		c.Close()
		return nil, fmt.Errorf("clickhouse cluster: %w", errs[0])
	}
	return c, nil
}

// All is every server, shard by shard.
func (c *ClickHouseCluster) All() []*ClickHouse {
	var out []*ClickHouse
	for _, sh := range c.Servers {
		out = append(out, sh...)
	}
	return out
}

// URL is a clickhouse:// URL of database db listing every server
// (clickhouse-go's multi-host form), shard by shard.
func (c *ClickHouseCluster) URL(db string) string {
	var hosts []string
	for _, s := range c.All() {
		hosts = append(hosts, s.Addr())
	}
	return "clickhouse://" + strings.Join(hosts, ",") + "/" + db
}

// NewDatabase returns the URL (every host) of a database name not used
// before on this cluster (not created); it is dropped on every server when
// t ends.
func (c *ClickHouseCluster) NewDatabase(t testing.TB) (url, name string) {
	t.Helper()
	c.mu.Lock()
	c.dbs++
	name = fmt.Sprintf("c%d_%d", os.Getpid(), c.dbs)
	c.mu.Unlock()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, s := range c.All() {
			_ = s.Exec(ctx, "DROP DATABASE IF EXISTS "+name) // best effort: a server may be stopped
		}
	})
	return c.URL(name), name
}

// StopAll stops the servers (in parallel) and fails t on an error.
// ClickHouse waits up to shutdown_wait_unfinished (1 s here, 5 s by
// default) for the connections other servers' Distributed tables keep.
func StopAll(t testing.TB, servers ...*ClickHouse) {
	t.Helper()
	errs := make([]error, len(servers))
	var wg sync.WaitGroup
	for i, srv := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = srv.Halt()
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("harness: stop clickhouse: %v", err)
		}
	}
}

// Logs returns the tails of every server's logs and ZooKeeper's.
func (c *ClickHouseCluster) Logs() string {
	var b strings.Builder
	for s, sh := range c.Servers {
		for r, srv := range sh {
			if srv != nil {
				fmt.Fprintf(&b, "=== shard %d replica %d (%s) ===\n%s", s+1, r+1, srv.Addr(), srv.Logs())
			}
		}
	}
	if c.ZooKeeper != nil {
		b.WriteString("=== zookeeper ===\n" + c.ZooKeeper.Logs())
	}
	return b.String()
}

// Close stops every server and ZooKeeper and removes their directories. It
// is idempotent.
func (c *ClickHouseCluster) Close() error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for _, srv := range c.All() {
		if srv == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Close(); err != nil {
				mu.Lock()
				first = cmp.Or(first, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if c.ZooKeeper != nil {
		if err := c.ZooKeeper.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// zookeeperReady is nil once the server answers and its ZooKeeper
// session has created the distributed DDL queue. ClickHouse 18.16 crashed
// (NULL pointer in zkutil::ZooKeeper::createImpl) on an ON CLUSTER query
// sent right after it first answered, before its ZooKeeper was set up.
func (c *ClickHouse) zookeeperReady(ctx context.Context) error {
	var n uint64
	return c.QueryRow(ctx, "SELECT count() FROM system.zookeeper WHERE path = '/clickhouse/task_queue/ddl'", &n)
}

// QueryRow runs one query on the server (default database) and scans its
// first row into dest.
func (c *ClickHouse) QueryRow(ctx context.Context, sql string, dest ...any) error {
	conn, err := c.conn()
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.QueryRow(ctx, sql).Scan(dest...)
}
