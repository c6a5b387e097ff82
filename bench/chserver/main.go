// Command chserver runs a throw-away ClickHouse server (internal/harness's,
// on a free loopback port, in a temporary directory) for bench/run.sh's
// "ch" and "raw" rows: it prints the server's native host:port on stdout
// once it answers, and removes it on SIGTERM or SIGINT.
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
	ch, err := harness.LaunchClickHouse()
	if err != nil {
		fmt.Fprintln(os.Stderr, "chserver:", err)
		os.Exit(1)
	}
	fmt.Println(ch.Addr())
	<-sig
	if err := ch.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "chserver:", err)
		os.Exit(1)
	}
}
