// Command pgserver runs a throw-away PostgreSQL server (internal/harness's,
// on a free loopback port, in a temporary directory, durable settings) for
// bench/perf.sh's PostgreSQL rows: it prints the connection URL of its
// "minibitly" database on stdout once it answers, and removes the server
// and its data on SIGTERM or SIGINT. Like bench/chserver for ClickHouse.
//
//	pgserver > pg.url   # postgres://postgres@127.0.0.1:PORT/minibitly?…
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/minibitly/minibitly/internal/harness"
)

func main() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	pg, err := harness.LaunchPostgres()
	if err != nil {
		fmt.Fprintf(os.Stderr, "pgserver: %v (install: %s)\n", err, harness.PostgresInstall)
		os.Exit(1)
	}
	fmt.Println(pg.URL())
	<-sig
	if err := pg.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "pgserver:", err)
		os.Exit(1)
	}
}
