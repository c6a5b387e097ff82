// Command devcluster is `make cluster`: it starts a throwaway PostgreSQL and
// ClickHouse (internal/harness) and three minibitly nodes on 127.0.0.1-3,
// prints what to curl, and stops everything on Ctrl-C.
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

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

	var procs []*exec.Cmd
	defer func() {
		for _, p := range procs {
			_ = p.Process.Signal(syscall.SIGTERM)
		}
		for _, p := range procs {
			_ = p.Wait()
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
		logf, err := os.Create(filepath.Join(dir, name+".log"))
		if err != nil {
			return err
		}
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "MINIBITLY_INITIAL_API_KEY="+key)
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM} // nodes die with us
		if err := cmd.Start(); err != nil {
			return err
		}
		procs = append(procs, cmd)
		if err := waitReady(cmd, "http://"+ip+":8080/ready", logf.Name()); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
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

// waitReady polls url until it answers 200, the process exits or 30 s pass.
func waitReady(cmd *exec.Cmd, url, logPath string) error {
	exited := make(chan struct{})
	go func() {
		_, _ = cmd.Process.Wait()
		close(exited)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			b, _ := os.ReadFile(logPath)
			return fmt.Errorf("exited during start:\n%s", b)
		default:
		}
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("not ready after 30s (log: %s)", logPath)
}
