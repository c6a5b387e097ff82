// Command devcluster is `make cluster`: it starts a throwaway PostgreSQL and
// ClickHouse and three minibitly nodes on 127.0.0.1-3 (all through
// internal/harness), prints what to curl, and stops everything on Ctrl-C.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/minibitly/minibitly/internal/harness"
)

const key = "mb_dev_only_change_me"

func main() {
	bin := flag.String("bin", "bin/minibitly", "minibitly binary")
	nodes := flag.Int("nodes", 3, "number of nodes")
	flag.Parse()
	if err := run(*bin, *nodes); err != nil {
		fmt.Fprintln(os.Stderr, "devcluster:", err)
		os.Exit(1)
	}
}

func run(bin string, count int) error {
	fmt.Println("starting PostgreSQL and ClickHouse (throwaway data dirs)…")
	pg, err := harness.LaunchPostgres()
	if err != nil {
		return err
	}
	defer pg.Close()
	ch, err := harness.LaunchClickHouse()
	if err != nil {
		return err
	}
	defer ch.Close()
	dir, err := os.MkdirTemp("", "minibitly-cluster-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	var nodes []*harness.Node
	defer func() {
		for _, n := range nodes {
			if err := n.Close(); err != nil {
				fmt.Fprintln(os.Stderr, "devcluster:", err)
			}
		}
	}()
	seed := ""
	for i := 1; i <= count; i++ {
		ip := fmt.Sprintf("127.0.0.%d", i)
		name := fmt.Sprintf("node%d", i)
		args := []string{
			"--node-name", name, "--http-addr", ip + ":8080",
			"--gossip-addr", ip + ":7946", "--remote-addr", ip + ":8090",
			"--data-dir", filepath.Join(dir, name), "--gossip-profile", "fast",
			"--postgres-url", pg.URL(), "--clickhouse-url", ch.URL(),
		}
		if seed != "" {
			args = append(args, "--join", seed)
		}
		seed = ip + ":7946"
		n, err := harness.LaunchNode(harness.NodeConfig{
			Name: name, Bin: bin, Args: args, HTTPAddr: ip + ":8080",
			Env:     []string{"MINIBITLY_INITIAL_API_KEY=" + key},
			LogPath: filepath.Join(dir, name+".log"),
		})
		if err != nil {
			return err
		}
		nodes = append(nodes, n)
	}
	fmt.Printf(`
%d nodes are up (logs in %s):
  http://127.0.0.1:8080  http://127.0.0.2:8080  http://127.0.0.3:8080
PostgreSQL: %s
ClickHouse: %s   (clickhouse-client --port %d)

Try:
  KEY=%s
  curl -s -H "Authorization: Bearer $KEY" -d '{"url":"https://example.com"}' http://127.0.0.1:8080/api/v1/links
  curl -si http://127.0.0.2:8080/<code>                       # any node redirects
  curl -s -H "Authorization: Bearer $KEY" http://127.0.0.3:8080/api/v1/cluster
  curl -s -H "Authorization: Bearer $KEY" http://127.0.0.1:8080/api/v1/cluster/owner/<code>
  clickhouse-client --port %d -q "SELECT code, sum(visits) FROM minibitly.visits FINAL GROUP BY code"

Ctrl-C stops everything.
`, count, dir, pg.URL(), ch.URL(), ch.Port(), key, ch.Port())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	fmt.Println("stopping…")
	return nil
}
